import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually, startAuthStandIn, startPaymentStandIn, tempDir } from "./support/stand-ins.js";

/** The built entry, exactly what `npm start -w apps/order-service` runs (`turbo test` builds first). */
const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

let auth: Awaited<ReturnType<typeof startAuthStandIn>>;
let payment: Awaited<ReturnType<typeof startPaymentStandIn>>;
let data: ReturnType<typeof tempDir>;
beforeEach(async () => {
  auth = await startAuthStandIn();
  payment = await startPaymentStandIn(auth);
  data = tempDir();
});
afterEach(async () => {
  await Promise.all([auth.stop(), payment.stop()]);
  data.remove();
});

function run(env: Record<string, string>) {
  expect(existsSync(MAIN), "build order-service first").toBe(true);
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, lines, stderr: () => stderr };
}

// A process start loads express, pino and SQLite: seconds on a busy 2-core machine.
describe("order-service as a process", { timeout: 30_000 }, () => {
  it("starts, takes an order, logs JSON lines, and stops cleanly on SIGTERM", async () => {
    const app = run({ PORT: "0", AUTH_SERVER_URL: auth.url, PAYMENT_SERVICE_URL: payment.url, DATA_DIR: data.path });
    const started = await eventually(() => app.lines.find((l) => l.msg === "service.started"));
    const res = await fetch(`${started.url as string}/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ customerId: "cus_1", amount: 1299, currency: "EUR" }),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { status: string }).status).toBe("paid");

    app.child.kill("SIGTERM");
    const [code] = (await once(app.child, "exit")) as [number | null];
    expect(code).toBe(0);
    expect(app.lines.every((l) => l.service === "order-service")).toBe(true);
    expect(app.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(["order.created", "token.fetched", "charge.requested", "order.settled", "service.stopped"]));
  });

  it("refuses to start on an invalid variable, with one line naming it", async () => {
    const app = run({ PORT: "http", DATA_DIR: data.path });
    const [code] = (await once(app.child, "exit")) as [number | null];
    expect(code).toBe(1);
    expect(app.stderr().trim()).toMatch(/^invalid PORT: expected a port number from 0 to 65535, got "http"$/);
  });
});
