import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.mjs";
import { eventually, postJson, send, startTestStack, type Stack } from "./support.js";

// Issue 4: a key rotation without a failed request. The new key is published
// in the JWKS before it signs anything, the old one stays published while
// tokens it signed live, and payment-service validates orders throughout.
const ROTATION = { KEY_PUBLISH_LEAD: "5", KEY_RELOAD_INTERVAL: "1", ACCESS_TOKEN_TTL: "6" };

let stack: Stack;
beforeAll(async () => {
  stack = await startTestStack({ "auth-server": ROTATION });
});
afterAll(async () => {
  await stack?.dispose();
});

const publishedKids = async (): Promise<string[]> =>
  ((await send(`${stack.urls.auth}/.well-known/jwks.json`)).body.keys as { kid: string }[]).map((key) => key.kid);
const issuedWith = (kid: string) =>
  stack.logs.filter((l) => l.service === "auth-server" && l.msg === "token.issued" && (l.header as { kid?: string }).kid === kid);

it("rotates the signing key while orders keep being paid, publishing the new key before it signs", async () => {
  const [oldKid] = await publishedKids();
  expect(oldKid).toBeDefined();

  // Orders all along, one after another, each must be paid.
  const replies: { status: number; body: { status?: string } }[] = [];
  let ordering = true;
  const orders = (async () => {
    while (ordering) {
      replies.push(await postJson(`${stack.urls.order}/orders`, { customerId: "cus_rot", amount: 500, currency: "EUR" }));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();

  try {
    const rotated = await rotateKeys();
    const newKid = rotated.created as string;
    const signsFrom = Date.parse(rotated.signs_from as string);
    expect(newKid).not.toBe(oldKid);

    // Published (within the reload interval) before it signs: no token of it exists yet when it shows up.
    await eventually(async () => ((await publishedKids()).includes(newKid) ? true : undefined), 10_000, "the new key in the JWKS");
    expect(Date.now()).toBeLessThan(signsFrom);
    expect(issuedWith(newKid)).toHaveLength(0);

    // Then it signs, order-service's next token is one of it, and payment-service accepts that token.
    await eventually(
      async () =>
        stack.logs.some((l) => l.service === "payment-service" && l.msg === "token.verified" && l.kid === newKid) ? true : undefined,
      20_000,
      "payment-service to verify a token signed with the new key",
    );
    expect(issuedWith(newKid).length).toBeGreaterThan(0);
    // The old key is still published: tokens it signed are still live.
    expect(await publishedKids()).toEqual(expect.arrayContaining([oldKid, newKid]));
  } finally {
    ordering = false;
    await orders;
  }

  expect(replies.length).toBeGreaterThan(10);
  for (const reply of replies) expect(`${reply.status} ${reply.body.status}`).toBe("201 paid");
  expect(stack.logs.filter((l) => l.service === "payment-service" && l.msg === "token.rejected")).toEqual([]);
});

/** `npm run rotate-keys -w apps/auth-server` against the running server's key directory. */
function rotateKeys(): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "--silent", "rotate-keys", "-w", "apps/auth-server"], {
      cwd: ROOT,
      env: { ...process.env, ...ROTATION, DATA_DIR: join(stack.dataRoot, "auth") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (err += chunk));
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`rotate-keys exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split("\n").at(-1)!));
    });
  });
}
