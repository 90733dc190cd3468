import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { pinnedNode, type CorePlan } from "../cores.js";
import type { LoadJob, LoadResult } from "./job.js";

const WORKER = fileURLToPath(new URL("./worker.js", import.meta.url));

type WorkerMessage = { type: "result"; result: LoadResult } | { type: "error"; error: string };

/** autocannon in a child process of its own, pinned to the load core. */
export class LoadGenerator {
  private constructor(private readonly child: ChildProcess) {}

  static start(cores: CorePlan): LoadGenerator {
    const [command, args] = pinnedNode(cores, cores.loadCore, [WORKER]);
    const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    return new LoadGenerator(child);
  }

  run(job: LoadJob): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.child.off("message", onMessage);
        this.child.off("exit", onExit);
      };
      const onMessage = (message: WorkerMessage) => {
        cleanup();
        if (message.type === "result") resolve(message.result);
        else reject(new Error(`load generator: ${message.error}`));
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`load generator exited (${code})`));
      };
      // autocannon ends on its own after job.seconds; allow for its request timeout
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`load generator did not finish "${job.title}"`));
      }, (job.seconds + 30) * 1000);
      this.child.on("message", onMessage);
      this.child.once("exit", onExit);
      this.child.send({ type: "run", job });
    });
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
  }
}
