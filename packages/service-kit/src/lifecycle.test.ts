import type { RequestListener, Server } from "node:http";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "./config.js";
import { closeServer, httpLimitsFrom, listen, type HttpLimits } from "./lifecycle.js";

// Slow clients against a real server on 127.0.0.1, through raw sockets: a
// client that takes its time is exactly what an HTTP client library will not
// do. Every limit is set short so the tests run in well under a second each.

let server: Server | undefined;
afterEach(async () => {
  if (server) await closeServer(server);
  server = undefined;
});

/** Reads the body, then answers `ok` after `delayMs`. */
const answerOk =
  (delayMs = 0): RequestListener =>
  (req, res) => {
    req.resume();
    req.on("end", () => setTimeout(() => res.end("ok"), delayMs));
  };

/** Long enough never to be the limit that fires in a test about another one. */
const LONG: HttpLimits = { headersTimeoutMs: 5_000, requestTimeoutMs: 5_000, keepAliveTimeoutMs: 5_000, idleTimeoutMs: 5_000, maxConnections: 100 };

async function start(limits: Partial<HttpLimits>, handler = answerOk()): Promise<number> {
  server = await listen(handler, 0, "127.0.0.1", { ...LONG, ...limits });
  return (server.address() as { port: number }).port;
}

/** What a raw client saw before the server closed on it, and when. */
interface Seen {
  /** Everything the server wrote, as text. */
  text: string;
  /** Milliseconds from connecting to the server's close; `Infinity` when it was still open at the deadline. */
  closedAfterMs: number;
}

/**
 * Connects, lets `act` talk (slowly), and waits for the server to close the
 * connection, for at most `deadlineMs`.
 */
function client(port: number, act: (socket: Socket) => void = () => {}, deadlineMs = 3_000): Promise<Seen> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
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

/** Writes `text` one byte every `everyMs`, for as long as the connection lasts. */
function trickle(socket: Socket, text: string, everyMs = 20): void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || at >= text.length) return clearInterval(timer);
    socket.write(text[at++]!);
  }, everyMs);
  socket.once("close", () => clearInterval(timer));
}

/** Sends one keep-alive request on `socket` and resolves with the answer's head and body. */
function exchange(socket: Socket, path = "/"): Promise<string> {
  return new Promise((resolve, reject) => {
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
    socket.once("close", () => reject(new Error(`closed before an answer: ${JSON.stringify(text)}`)));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
  });
}

const BODY = JSON.stringify({ customerId: "cus_42", amount: 1299, currency: "EUR" });
const POST_HEAD = `POST / HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n`;

describe("listen: slow clients", () => {
  it("hardening #3: closes a connection whose headers trickle, with 408, after the headers timeout", async () => {
    const port = await start({ headersTimeoutMs: 200, requestTimeoutMs: 400 });
    const seen = await client(port, (socket) => trickle(socket, POST_HEAD));
    expect(seen.closedAfterMs).toBeGreaterThanOrEqual(190);
    expect(seen.closedAfterMs).toBeLessThan(1_000);
    expect(seen.text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("hardening #3: answers 408 and closes when a body trickles past the request timeout", async () => {
    const port = await start({ headersTimeoutMs: 200, requestTimeoutMs: 400 });
    const seen = await client(port, (socket) => {
      socket.write(POST_HEAD); // the headers in time...
      trickle(socket, BODY, 50); // ...the body at 20 bytes a second
    });
    expect(seen.closedAfterMs).toBeGreaterThanOrEqual(390);
    expect(seen.closedAfterMs).toBeLessThan(1_200);
    expect(seen.text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("hardening #3: closes an idle keep-alive connection after the keep-alive timeout", async () => {
    const port = await start({ keepAliveTimeoutMs: 200 });
    const connected = performance.now();
    let answeredAfterMs = 0;
    const seen = await client(port, (socket) => {
      void exchange(socket).then(() => (answeredAfterMs = performance.now() - connected));
    });
    expect(answeredAfterMs).toBeGreaterThan(0);
    // Node keeps the socket one second past the timeout it advertises (Keep-Alive: timeout=…),
    // so a client that honours the advertised value never reuses a socket the server is closing
    expect(seen.closedAfterMs - answeredAfterMs).toBeGreaterThanOrEqual(190);
    expect(seen.closedAfterMs).toBeLessThan(2_000);
  });

  it("hardening #3: closes a connection on which nothing is sent, after the idle timeout, without an answer", async () => {
    const port = await start({ idleTimeoutMs: 200 });
    const seen = await client(port);
    expect(seen.closedAfterMs).toBeGreaterThanOrEqual(190);
    expect(seen.closedAfterMs).toBeLessThan(1_000);
    expect(seen.text).toBe("");
  });

  it("hardening #3: closes connections beyond the cap at once, while an established one still works", async () => {
    const port = await start({ maxConnections: 2 });
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const socket = connect(port, "127.0.0.1");
        held.push(socket);
        expect(await exchange(socket, "/first")).toMatch(/^HTTP\/1\.1 200 /);
      }
      const beyond = await client(port, undefined, 1_000);
      expect(beyond.closedAfterMs).toBeLessThan(500);
      expect(beyond.text).toBe("");
      expect(await exchange(held[0]!, "/again")).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });

  it("bounds receiving the request, not the handler's work: a handler slower than the request timeout still answers", async () => {
    const port = await start({ headersTimeoutMs: 100, requestTimeoutMs: 200 }, answerOk(500));
    const seen = await client(port, (socket) => socket.write("GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
    expect(seen.text).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe("httpLimitsFrom", () => {
  it("hardening #3: has defaults for every limit, and reads each from its HTTP_* variable", () => {
    expect(httpLimitsFrom({})).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 15_000,
      keepAliveTimeoutMs: 5_000,
      idleTimeoutMs: 30_000,
      maxConnections: 1_000,
    });
    expect(
      httpLimitsFrom({
        HTTP_HEADERS_TIMEOUT_MS: "1000",
        HTTP_REQUEST_TIMEOUT_MS: "2000",
        HTTP_KEEP_ALIVE_TIMEOUT_MS: "3000",
        HTTP_IDLE_TIMEOUT_MS: "4000",
        HTTP_MAX_CONNECTIONS: "50",
      }),
    ).toEqual({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, keepAliveTimeoutMs: 3_000, idleTimeoutMs: 4_000, maxConnections: 50 });
  });

  it("hardening #3: refuses a bad value in one line naming the variable", () => {
    expect(() => httpLimitsFrom({ HTTP_IDLE_TIMEOUT_MS: "30s" })).toThrow(
      new ConfigError('invalid HTTP_IDLE_TIMEOUT_MS: expected an integer from 1 to 3600000, got "30s"'),
    );
    expect(() => httpLimitsFrom({ HTTP_MAX_CONNECTIONS: "0" })).toThrow(/^invalid HTTP_MAX_CONNECTIONS: /);
    expect(() => httpLimitsFrom({ HTTP_HEADERS_TIMEOUT_MS: "20000" })).toThrow(
      new ConfigError('invalid HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (15000), got "20000"'),
    );
  });
});
