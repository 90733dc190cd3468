import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

/** The app folder: the built `dist/` is run from here, as `npm start -w apps/auth-server` does. */
export const APP_DIR = fileURLToPath(new URL("..", import.meta.url));

export interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a built script of the app with exactly this environment (plus PATH) and waits for it to end. */
export async function run(script: string, env: Record<string, string>, stdin?: string, args: string[] = []): Promise<Exited> {
  const child = spawn(process.execPath, [script, ...args], { cwd: APP_DIR, env: { PATH: process.env.PATH ?? "", ...env }, stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(stdin);
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

export interface Started {
  child: ChildProcess;
  url: string;
  exit: Promise<Exited>;
}

/** Starts `dist/main.js` and resolves once it logged `service.started` (with its URL), or rejects if it exits first. */
export function start(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ["dist/main.js"], { cwd: APP_DIR, env: { PATH: process.env.PATH ?? "", ...env }, stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  const exit = new Promise<Exited>((resolve) => child.once("exit", (code) => resolve({ code, stdout, stderr })));
  return new Promise((resolve, reject) => {
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split("\n").find((l) => l.includes('"service.started"'));
      if (line) resolve({ child, url: (JSON.parse(line) as { url: string }).url, exit });
    });
    void exit.then((result) => reject(new Error(`exited ${result.code} before starting: ${result.stderr}`)));
  });
}
