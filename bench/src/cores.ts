import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";

/**
 * Where processes run. With two cores or more and `taskset` available, the
 * servers share core 0 and the load generator has core 1, so they never
 * compete for a CPU; otherwise everything floats (and RESULTS.md says so).
 */
export interface CorePlan {
  pinned: boolean;
  serverCore: string;
  loadCore: string;
}

export function planCores(): CorePlan {
  const pinned = availableParallelism() >= 2 && hasTaskset();
  return { pinned, serverCore: "0", loadCore: "1" };
}

/** The command line that runs `node args...` on `core` (or unpinned). */
export function pinnedNode(plan: CorePlan, core: string, args: string[]): [string, string[]] {
  return plan.pinned ? ["taskset", ["-c", core, process.execPath, ...args]] : [process.execPath, args];
}

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
