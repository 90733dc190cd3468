/**
 * Child process entry of the bench's own servers (everything but our apps,
 * which run through app-entry.ts): starts the one `BENCH_SERVER` (a JSON
 * {@link ServerSpec}) describes, says `ready` with its URL, answers
 * `memory`, and stops on SIGTERM (or when the bench goes away).
 */
import { answerParent, describe, send } from "./child-ipc.js";
import type { BenchServerKind, ServerSpec } from "./protocol.js";
import type { RunningServer } from "./running.js";

async function start(spec: ServerSpec & { kind: BenchServerKind }): Promise<RunningServer> {
  switch (spec.kind) {
    case "charge-bare":
      return (await import("./charge-servers.js")).startBareCharges(spec);
    case "charge-guarded":
      return (await import("./charge-servers.js")).startGuardedCharges(spec);
    case "charge-jwt-bearer":
      return (await import("./charge-servers.js")).startJwtBearerCharges(spec);
    case "oidc-provider":
      return (await import("./oidc-provider.js")).startOidcProvider(spec);
    case "token-floor":
      return (await import("./token-floor.js")).startTokenFloor(spec);
    case "express-floor":
      return (await import("./token-floor.js")).startExpressFloor(spec);
    case "http-floor":
      return (await import("./token-floor.js")).startHttpFloor(spec);
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_SERVER ?? "null") as (ServerSpec & { kind: BenchServerKind }) | null;
  if (!spec) throw new Error("BENCH_SERVER is not set");
  const running = await start(spec);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 3000).unref();
    void running.close().finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  answerParent(stop);
  send({ type: "ready", url: running.url });
}

main().catch((error: unknown) => {
  send({ type: "failed", error: describe(error) });
  process.exitCode = 1;
  if (process.connected) process.disconnect();
});
