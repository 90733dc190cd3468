// Starts the three built apps as separate processes, exactly as
// `npm start -w apps/<name>` does, and gives their JSON log lines to the
// caller. Used by `npm start`, `npm run demo` and the e2e suite.
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { freePort } from "./free-port.mjs";

export { freePort };

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The apps in start order: the auth server first, the client last. */
export const APPS = /** @type {const} */ (["auth-server", "payment-service", "order-service"]);

/**
 * @typedef {{ service: string, msg: string, level?: string, [key: string]: unknown }} LogLine
 * @typedef {typeof APPS[number]} AppName
 * @typedef {{
 *   name: AppName,
 *   url: string,
 *   child: import("node:child_process").ChildProcess,
 *   exit: Promise<{ code: number | null, signal: NodeJS.Signals | null }>,
 *   stderr: string[],
 * }} RunningApp
 */

/**
 * The environment each app gets, given the ports and data folders. The
 * issuer is the auth server's loopback URL, as the contract's local defaults
 * have it.
 * @param {{ auth: number, order: number, payment: number }} ports
 * @param {{ auth?: string, order?: string, payment?: string }} dataDirs
 * @returns {Record<AppName, Record<string, string>>}
 */
export function stackEnv(ports, dataDirs = {}) {
  const issuer = `http://127.0.0.1:${ports.auth}`;
  /** @param {string | undefined} dir */
  const data = (dir) => (dir ? { DATA_DIR: dir } : {});
  return {
    "auth-server": { PORT: String(ports.auth), ISSUER: issuer, ...data(dataDirs.auth) },
    "payment-service": {
      PORT: String(ports.payment),
      AUTH_SERVER_URL: issuer,
      ...data(dataDirs.payment),
    },
    "order-service": {
      PORT: String(ports.order),
      AUTH_SERVER_URL: issuer,
      PAYMENT_SERVICE_URL: `http://127.0.0.1:${ports.payment}`,
      ...data(dataDirs.order),
    },
  };
}

/**
 * Spawns one app with `npm start -w apps/<name>` in its own process group,
 * so that stopping it reaches node behind npm.
 * @param {AppName} name
 * @param {Record<string, string>} env
 * @param {(line: LogLine) => void} onLog
 * @returns {RunningApp}
 */
export function spawnApp(name, env, onLog) {
  const child = spawn("npm", ["start", "--silent", "-w", `apps/${name}`], {
    cwd: ROOT,
    env: { ...withoutSharedStores(process.env), HOST: "127.0.0.1", NODE_ENV: "development", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  /** @type {string[]} */
  const stderr = [];
  createInterface({ input: /** @type {import("node:stream").Readable} */ (child.stdout) }).on("line", (text) => {
    let line;
    try {
      line = JSON.parse(text);
    } catch {
      line = { service: name, msg: "stdout", text };
    }
    onLog(line);
  });
  createInterface({ input: /** @type {import("node:stream").Readable} */ (child.stderr) }).on("line", (text) => {
    stderr.push(text);
  });
  const exit = new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return { name, url: `http://127.0.0.1:${env.PORT}`, child, exit, stderr };
}

/**
 * The environment without the shared-store variables: an app started here
 * uses PostgreSQL or Redis only when its caller says so, never because the
 * shell that ran `npm test` or `npm start` happened to have them set.
 * @param {NodeJS.ProcessEnv} env
 */
function withoutSharedStores(env) {
  const { DATABASE_URL: _db, REDIS_URL: _redis, KEY_ENCRYPTION_KEY: _kek, KEY_ENCRYPTION_KEY_FILE: _kekFile, ...rest } = env;
  return rest;
}

/**
 * Polls `url` until it answers 200 or the time is up.
 * @param {string} url
 * @param {RunningApp} app
 * @param {number} timeoutMs
 */
export async function waitUntilReady(url, app, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void app.exit.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`${app.name} exited before it was ready:\n${app.stderr.join("\n")}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${app.name} was not ready at ${url} within ${timeoutMs} ms:\n${app.stderr.join("\n")}`);
}

/**
 * The pid of the app's node process behind `npm` and `sh` (the process a
 * container runtime would signal as PID 1).
 * @param {RunningApp} app
 * @returns {number}
 */
export function appNodePid(app) {
  const children = (/** @type {number} */ pid) =>
    spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" })
      .stdout.split("\n")
      .filter(Boolean)
      .map(Number);
  const queue = children(/** @type {number} */ (app.child.pid));
  while (queue.length > 0) {
    const pid = /** @type {number} */ (queue.shift());
    const cmdline = spawnSync("ps", ["-o", "args=", "-p", String(pid)], { encoding: "utf8" }).stdout;
    if (/^\S*node\s.*dist\/main\.js/.test(cmdline.trim())) return pid;
    queue.push(...children(pid));
  }
  throw new Error(`no node process found under ${app.name} (pid ${app.child.pid})`);
}

/**
 * Sends a signal to an app's whole process group (npm, sh and node) and waits
 * until every process of the group is gone; SIGKILL after `graceMs`. Works
 * also when npm has already exited, so no node process is left behind.
 * @param {RunningApp} app
 * @param {NodeJS.Signals} signal
 * @param {number} graceMs
 */
export async function stopApp(app, signal = "SIGTERM", graceMs = 8000) {
  const group = -(/** @type {number} */ (app.child.pid));
  const alive = () => {
    try {
      process.kill(group, 0);
      return true;
    } catch {
      return false;
    }
  };
  const send = (/** @type {NodeJS.Signals} */ sig) => {
    try {
      process.kill(group, sig);
    } catch {
      // the group is already gone
    }
  };
  send(signal);
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (alive()) send("SIGKILL");
  return app.exit;
}

/**
 * Starts the three apps (auth-server, then payment-service, then
 * order-service), each ready before the next starts.
 * @param {{
 *   ports?: { auth: number, order: number, payment: number },
 *   dataDirs?: { auth?: string, order?: string, payment?: string },
 *   env?: Partial<Record<AppName, Record<string, string>>>,
 *   onLog?: (line: LogLine) => void,
 * }} options
 */
export async function startStack(options = {}) {
  const ports = options.ports ?? { auth: await freePort(), payment: await freePort(), order: await freePort() };
  const env = stackEnv(ports, options.dataDirs);
  /** @type {LogLine[]} */
  const logs = [];
  /** @param {LogLine} line */
  const onLog = (line) => {
    logs.push(line);
    options.onLog?.(line);
  };
  /** @type {Partial<Record<AppName, RunningApp>>} */
  const apps = {};
  const stop = async () => {
    await Promise.all(Object.values(apps).reverse().map((app) => stopApp(app)));
  };
  try {
    for (const name of APPS) {
      const app = spawnApp(name, { ...env[name], ...options.env?.[name] }, onLog);
      apps[name] = app;
      await waitUntilReady(`${app.url}/readyz`, app);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    apps: /** @type {Record<AppName, RunningApp>} */ (apps),
    urls: {
      auth: `http://127.0.0.1:${ports.auth}`,
      order: `http://127.0.0.1:${ports.order}`,
      payment: `http://127.0.0.1:${ports.payment}`,
    },
    logs,
    stop,
  };
}
