import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APPS, ROOT, appNodePid } from "../../scripts/stack.mjs";
import { accessToken, basic, send, startTestStack, type Stack } from "./support.js";

// The built apps as `npm start -w apps/<name>` runs them: health, readiness,
// introspection, shutdown on SIGTERM, and configuration errors.
let stack: Stack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.dispose();
});

describe("every app", () => {
  it("answers /healthz and /readyz with 200 once it can do its job", async () => {
    for (const url of Object.values(stack.urls)) {
      expect((await send(`${url}/healthz`)).status).toBe(200);
      expect((await send(`${url}/readyz`)).status).toBe(200);
    }
  });

  it("writes one JSON object per line with its service name", () => {
    const services = new Set(stack.logs.map((l) => l.service));
    expect([...services].sort()).toEqual([...APPS].sort());
    expect(stack.logs.every((l) => typeof l.msg === "string")).toBe(true);
  });

  it("answers unknown paths with a JSON error and no internal detail", async () => {
    for (const url of Object.values(stack.urls)) {
      const res = await send(`${url}/no/such/path`);
      expect(res.status).toBe(404);
      expect(typeof res.body.error).toBe("string");
    }
  });
});

describe("POST /introspect (RFC 7662)", () => {
  it("active for a live token of this issuer, inactive for anything else, 401 for an unauthenticated caller", async () => {
    const token = await accessToken(stack.urls.auth, "order-service", "super-secret", "charge:customer");
    const introspect = (form: Record<string, string>, auth?: string) =>
      send(`${stack.urls.auth}/introspect`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...(auth ? { authorization: auth } : {}) },
        body: new URLSearchParams(form).toString(),
      });
    const caller = basic("reporting-service", "reporting-secret");

    const live = await introspect({ token }, caller);
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ active: true, sub: "order-service", client_id: "order-service", aud: "payment-service", scope: "charge:customer", token_type: "Bearer" });

    const garbage = await introspect({ token: `${token.slice(0, -4)}AAAA` }, caller);
    expect(garbage.status).toBe(200);
    expect(garbage.body).toEqual({ active: false });

    const anonymous = await introspect({ token });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error).toBe("invalid_client");
  });
});

describe("lifecycle", () => {
  it("stops cleanly on SIGTERM, with exit code 0, within a few seconds", async () => {
    for (const name of ["order-service", "payment-service", "auth-server"] as const) {
      const app = stack.apps[name];
      // SIGTERM to node alone, as a container runtime sends it to PID 1;
      // npm then exits with node's exit code.
      const node = appNodePid(app);
      const started = Date.now();
      process.kill(node, "SIGTERM");
      const result = await app.exit;
      expect(result, name).toEqual({ code: 0, signal: null });
      expect(Date.now() - started, name).toBeLessThan(5000);
      expect(stack.logs.some((l) => l.service === name && l.msg === "service.stopped"), name).toBe(true);
    }
  });

  it("refuses to start on an invalid variable, with one line that names it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "m2m-config-"));
    try {
      for (const name of APPS) {
        const { code, stderr } = await run("npm", ["start", "--silent", "-w", `apps/${name}`], { PORT: "not-a-port", DATA_DIR: dataDir });
        expect(code, name).not.toBe(0);
        const lines = stderr.trim().split("\n").filter((line) => line.includes("PORT"));
        expect(lines, name).toEqual([expect.stringMatching(/^invalid PORT: expected .*, got "not-a-port"$/)]);
        expect(stderr, name).not.toMatch(/\n\s+at /);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

function run(command: string, args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.once("exit", (code) => resolve({ code, stderr }));
  });
}
