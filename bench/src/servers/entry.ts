/**
 * Child process entry: starts one server described by `BENCH_SERVER` (a
 * JSON {@link ServerSpec}), reports `ready` over IPC, answers `stats` and
 * `memory`, and stops on `stop` (or when the parent goes away).
 */
import { Counters } from "./instrument.js";
import type { ChildMessage, ParentMessage, ServerSpec } from "./protocol.js";
import type { RunningServer } from "./running.js";

const send = (message: ChildMessage) => process.send?.(message);

async function start(spec: ServerSpec, counters: Counters): Promise<RunningServer> {
  switch (spec.kind) {
    case "auth-server":
    case "payment-service":
    case "order-service":
      return (await import("./ours.js")).startOurs(spec, counters);
    case "charge-unprotected":
      return (await import("./charge-unprotected.js")).startUnprotectedCharges(spec, counters);
    case "charge-express":
      return (await import("./charge-unprotected.js")).startExpressCharges(spec, counters);
    case "charge-jwt-bearer":
      return (await import("./charge-jwt-bearer.js")).startJwtBearerCharges(spec, counters);
    case "oidc-provider":
      return (await import("./oidc-provider.js")).startOidcProvider(spec, counters);
    case "token-floor":
      return (await import("./token-floor.js")).startTokenFloor(spec, counters);
    case "http-floor":
      return (await import("./token-floor.js")).startHttpFloor(spec);
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_SERVER ?? "null") as ServerSpec | null;
  if (!spec) throw new Error("BENCH_SERVER is not set");
  const counters = new Counters();
  let running: RunningServer;
  try {
    running = await start(spec, counters);
  } catch (error) {
    send({ type: "failed", error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exitCode = 1;
    hangUp();
    return;
  }
  counters.watch(running.server);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    try {
      await running.close();
    } finally {
      hangUp();
    }
  };
  process.on("message", (message: ParentMessage) => {
    if (message.type === "stats") send({ type: "stats", stats: counters.stats });
    else if (message.type === "memory") {
      if (message.gc) (globalThis as { gc?: () => void }).gc?.();
      const { rss, heapUsed } = process.memoryUsage();
      send({ type: "memory", memory: { rss, heapUsed } });
    } else if (message.type === "stop") void stop();
  });
  // the parent died or hung up: do not linger holding a port
  process.on("disconnect", () => void stop());
  send({ type: "ready", url: running.url });
}

function hangUp(): void {
  if (process.connected) process.disconnect();
}

void main();
