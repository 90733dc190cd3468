import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRedis, whenConnected, type Redis } from "./index.js";
import { startRedis, storeServersMissing, type TestServer } from "./testing/index.js";

let server: TestServer;
let redis: Redis;
const events: string[] = [];

beforeAll(async () => {
  server = await startRedis();
  redis = openRedis(server.url, { onDown: () => events.push("down"), onUp: () => events.push("up") });
  expect(await whenConnected(redis)).toBe(true);
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await server?.dispose();
});

describe.skipIf(storeServersMissing())("openRedis", () => {
  it("rejects at once while the server is down, and works again once it is back, without a new client", async () => {
    await redis.set("k", "v");
    await server.stop();
    const started = Date.now();
    await expect(redis.get("k")).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1_000);
    await server.start();
    expect(await whenConnected(redis, 5_000)).toBe(true);
    expect(await redis.ping()).toBe("PONG");
    expect(events).toEqual(["down", "up"]);
  }, 30_000);
});
