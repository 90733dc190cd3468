// A TCP port on 127.0.0.1 for a server about to start, used by the e2e
// suite and the bench, whose servers' URLs must be known before they start
// (auth-server's is its issuer).
import { createServer } from "node:net";

// Below Linux's ephemeral range (32768–60999 by default), from which the OS
// picks both `listen(0)` ports and the local ports of outgoing connections: a
// port taken with `listen(0)` and released can be reused by any connection
// opened before the server binds it (seen in CI under load, as EADDRINUSE).
// Ports here are never handed out that way, so only another listener can
// take one, and the probe below sees it.
const FIRST = 20000;
const COUNT = 12000;

/** @returns {Promise<number>} a port on 127.0.0.1 that nothing listens on now */
export async function freePort() {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIRST + Math.floor(Math.random() * COUNT);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port on 127.0.0.1 in ${FIRST}–${FIRST + COUNT - 1} after 100 tries`);
}

/** @param {number} port */
function canListen(port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}
