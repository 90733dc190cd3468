import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface TricklingServer {
  url: string;
  /** `METHOD /path` of every request received, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A loopback server that answers every request `200` with `body`, sent one
 * byte every `intervalMs`: never idle long enough for an idle timeout, and
 * slow enough that only a total deadline ends the exchange.
 */
export async function startTricklingServer(body: string, intervalMs = 1_500): Promise<TricklingServer> {
  const requests: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
    let sent = 0;
    const writeOne = () => {
      res.write(body.slice(sent, sent + 1));
      sent += 1;
      if (sent === body.length) {
        clearInterval(timer);
        timers.delete(timer);
        res.end();
      }
    };
    const timer = setInterval(writeOne, intervalMs);
    timers.add(timer);
    res.on("close", () => {
      clearInterval(timer);
      timers.delete(timer);
    });
    writeOne();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close() {
      for (const timer of timers) clearInterval(timer);
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * How `promise` settles within `ms` of real time: its value or error and the
 * time it took, or `"still waiting"`. A test that must not hang asserts on this.
 */
export async function settleWithin<T>(
  promise: Promise<T>,
  ms: number,
): Promise<{ value: T; elapsedMs: number } | { error: unknown; elapsedMs: number } | "still waiting"> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"still waiting">((resolve) => (timer = setTimeout(() => resolve("still waiting"), ms)));
  const settled = promise.then(
    (value) => ({ value, elapsedMs: performance.now() - started }),
    (error: unknown) => ({ error, elapsedMs: performance.now() - started }),
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
