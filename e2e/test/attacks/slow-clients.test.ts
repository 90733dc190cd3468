import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessToken, basic, startTestStack, type Stack } from "../support.js";
import { send } from "./harness.js";

// Slow clients at the three live apps, each started with short HTTP_* limits
// (docs/http-limits.md): every limit is seen to act at the configured value,
// well before the default would, which proves the variables reach each app's
// server. The limits themselves are tested in service-kit's lifecycle.test.ts.
const LIMITS = {
  HTTP_HEADERS_TIMEOUT_MS: "2000",
  HTTP_REQUEST_TIMEOUT_MS: "3000",
  HTTP_KEEP_ALIVE_TIMEOUT_MS: "1000",
  // shorter than the headers timeout, so a silent connection shows which of the two closed it
  HTTP_IDLE_TIMEOUT_MS: "1000",
  HTTP_MAX_CONNECTIONS: "4",
};
const CAP = Number(LIMITS.HTTP_MAX_CONNECTIONS);

let stack: Stack;
let token: string;
beforeAll(async () => {
  stack = await startTestStack({
    "auth-server": LIMITS,
    "payment-service": LIMITS,
    // order-service wants its idle timeout a second longer than SETTLE_WAIT_MS; no order is placed here
    "order-service": { ...LIMITS, SETTLE_WAIT_MS: "0" },
  });
  token = await accessToken(stack.urls.auth, "order-service", "super-secret", "charge:customer");
});
afterAll(async () => {
  await stack?.dispose();
});

/** Runs `check` against every app at once, labelled with the app's name. */
const eachApp = (check: (name: string, url: string) => Promise<void>) =>
  Promise.all(Object.entries(stack.urls).map(([name, url]) => check(name, url)));

/** What a raw client saw before the app closed on it, and when (`Infinity`: still open at the deadline). */
interface Seen {
  text: string;
  closedAfterMs: number;
}

/** Connects to `url`, lets `act` talk, and waits up to `deadlineMs` for the app to close the connection. */
function client(url: string, act: (socket: Socket) => void = () => {}, deadlineMs = 8_000): Promise<Seen> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const started = performance.now();
    let text = "";
    const deadline = setTimeout(() => {
      resolve({ text, closedAfterMs: Infinity });
      socket.destroy();
    }, deadlineMs);
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
    socket.on("error", () => {}); // a reset is one way of being closed
    socket.on("close", () => {
      clearTimeout(deadline);
      resolve({ text, closedAfterMs: performance.now() - started });
    });
    socket.on("connect", () => act(socket));
  });
}

/** Writes `text` a byte every `everyMs` (often enough not to be idle), for as long as the connection lasts. */
function trickle(socket: Socket, text: string, everyMs = 100): void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || at >= text.length) return clearInterval(timer);
    socket.write(text[at++]!);
  }, everyMs);
  socket.once("close", () => clearInterval(timer));
}

/** One keep-alive `GET /healthz` on `socket`: the answer, or `undefined` when the app closed first. */
function healthz(socket: Socket, host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
      if (end !== -1 && text.length >= end + 4 + length) {
        socket.off("data", onData);
        resolve(text);
      }
    };
    socket.on("data", onData);
    socket.on("error", () => {});
    socket.once("close", () => resolve(undefined));
    socket.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  });
}

/**
 * Each app's endpoint that reads a body, with what it needs to get that far
 * (the token is checked before the body is read): a request whose body is
 * trickled keeps the endpoint waiting for it.
 */
function bodyRequest(name: string, url: string): { head: string; body: string } {
  const [path, headers, body] = {
    auth: ["/token", { "Content-Type": "application/x-www-form-urlencoded", Authorization: basic("order-service", "super-secret") }, "grant_type=client_credentials&scope=charge%3Acustomer"],
    payment: ["/charge", { "Content-Type": "application/json", Authorization: `Bearer ${token}`, "Idempotency-Key": "slow-body" }, JSON.stringify({ orderId: "ord_slow", customerId: "cus_42", amount: 1299, currency: "EUR" })],
    order: ["/orders", { "Content-Type": "application/json" }, JSON.stringify({ customerId: "cus_42", amount: 1299, currency: "EUR" })],
  }[name] as [string, Record<string, string>, string];
  const lines = Object.entries({ Host: new URL(url).host, ...headers, "Content-Length": String(body.length) }).map(([k, v]) => `${k}: ${v}\r\n`);
  return { head: `POST ${path} HTTP/1.1\r\n${lines.join("")}\r\n`, body };
}

describe("slow clients, with the HTTP_* variables set short", () => {
  it("hardening #3: HTTP_HEADERS_TIMEOUT_MS: headers trickled are answered 408 and closed, on every app", async () => {
    await eachApp(async (name, url) => {
      const seen = await client(url, (socket) => trickle(socket, bodyRequest(name, url).head));
      expect(seen.text, name).toMatch(/^HTTP\/1\.1 408 /);
      expect(seen.closedAfterMs, name).toBeGreaterThanOrEqual(1_900);
      expect(seen.closedAfterMs, name).toBeLessThan(5_000); // the default would be 10 s
    });
  });

  it("hardening #3: HTTP_REQUEST_TIMEOUT_MS: a body trickled is answered 408 and closed, on every app", async () => {
    await eachApp(async (name, url) => {
      const { head, body } = bodyRequest(name, url);
      const seen = await client(url, (socket) => {
        socket.write(head);
        trickle(socket, body);
      });
      expect(seen.text, name).toMatch(/^HTTP\/1\.1 408 /);
      expect(seen.closedAfterMs, name).toBeGreaterThanOrEqual(2_900);
      expect(seen.closedAfterMs, name).toBeLessThan(6_000); // the default would be 15 s
    });
  });

  it("hardening #3: HTTP_KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection is closed, on every app", async () => {
    await eachApp(async (name, url) => {
      let answered: string | undefined;
      const seen = await client(url, (socket) => void healthz(socket, new URL(url).host).then((text) => (answered = text)));
      expect(answered, name).toMatch(/^HTTP\/1\.1 200 /);
      // Node closes one second after the timeout it advertises; the default would close after six
      expect(seen.closedAfterMs, name).toBeGreaterThanOrEqual(1_000);
      expect(seen.closedAfterMs, name).toBeLessThan(4_000);
    });
  });

  it("hardening #3: HTTP_IDLE_TIMEOUT_MS: a connection on which nothing is sent is closed without an answer, on every app", async () => {
    await eachApp(async (name, url) => {
      const seen = await client(url);
      // closed by the idle timeout, before the headers timeout would have answered 408
      expect(seen.text, name).toBe("");
      expect(seen.closedAfterMs, name).toBeGreaterThanOrEqual(900);
      expect(seen.closedAfterMs, name).toBeLessThan(1_900);
    });
  });

  it("hardening #3: HTTP_MAX_CONNECTIONS: a connection beyond the cap is closed at once, while an established one still works, on every app", async () => {
    await eachApp(async (name, url) => {
      const { hostname, port, host } = new URL(url);
      const held: Socket[] = [];
      try {
        for (let i = 0; i < CAP; i++) {
          const socket = connect(Number(port), hostname);
          held.push(socket);
          expect(await healthz(socket, host), `${name}, connection ${i + 1}`).toMatch(/^HTTP\/1\.1 200 /);
        }
        const beyond = await client(url, undefined, 2_000);
        expect(beyond.text, name).toBe("");
        expect(beyond.closedAfterMs, name).toBeLessThan(500);
        expect(await healthz(held[0]!, host), name).toMatch(/^HTTP\/1\.1 200 /);
      } finally {
        for (const socket of held) socket.destroy();
      }
    });
  });

  it("every app is still up afterwards", async () => {
    await new Promise((resolve) => setTimeout(resolve, 100)); // the held connections, destroyed, leave the count
    await eachApp(async (name, url) => {
      expect((await send(`${url}/healthz`)).status, name).toBe(200);
    });
  });
});
