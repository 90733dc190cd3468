import { availableParallelism, cpus, loadavg, release, totalmem, type as osType } from "node:os";
import type { CorePlan } from "./cores.js";

export interface MachineInfo {
  cpu: string;
  cores: number;
  memory: string;
  os: string;
  node: string;
  loadAverage: string;
  pinning: string;
  date: string;
}

export function describeMachine(cores: CorePlan): MachineInfo {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    memory: `${Math.round(totalmem() / 1024 ** 3)} GiB`,
    os: `${osType()} ${release()}`,
    node: process.version,
    loadAverage: loadavg()
      .map((n) => n.toFixed(2))
      .join(" "),
    pinning: cores.pinned
      ? `servers on core ${cores.serverCore}, load generator on core ${cores.loadCore} (taskset)`
      : "not pinned (fewer than 2 cores or no taskset): servers and load generator share the CPUs",
    date: new Date().toISOString(),
  };
}
