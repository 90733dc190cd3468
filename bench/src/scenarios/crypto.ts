import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { pinnedNode, type CorePlan } from "../cores.js";
import type { BenchOptions } from "../options.js";
import type { CryptoRates } from "./crypto-worker.js";

const WORKER = fileURLToPath(new URL("./crypto-worker.js", import.meta.url));

/** Scenario 5: sign/verify operations, and whole tokens, per CPU-second on the server core. */
export async function runCrypto(cores: CorePlan, options: BenchOptions): Promise<CryptoRates[]> {
  const rounds = options.quick ? 1 : 3;
  const [command, args] = pinnedNode(cores, cores.serverCore, [WORKER, String(options.cryptoSeconds), String(rounds)]);
  const { stdout } = await promisify(execFile)(command, args, { timeout: 300_000 });
  return JSON.parse(stdout) as CryptoRates[];
}
