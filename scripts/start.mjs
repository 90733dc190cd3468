// `npm start`: the three apps on loopback with the contract's default ports
// and data folders, logs interleaved and readable. Ctrl-C stops them all.
import { formatLine } from "./format.mjs";
import { startStack } from "./stack.mjs";

const stack = await startStack({
  ports: { auth: 4000, order: 4001, payment: 4002 },
  onLog: (line) => console.log(formatLine(line)),
}).catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

console.log(`
auth-server      ${stack.urls.auth}   (metadata: ${stack.urls.auth}/.well-known/oauth-authorization-server)
order-service    ${stack.urls.order}   (try: curl -s -X POST ${stack.urls.order}/orders -H 'content-type: application/json' -d '{"customerId":"cus_1","amount":1299,"currency":"EUR"}')
payment-service  ${stack.urls.payment}
Ctrl-C stops all three.
`);

let stopping = false;
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void stack.stop().then(() => process.exit(0));
  });
}
// If one app dies, stop the others and report it.
await Promise.race(Object.values(stack.apps).map((app) => app.exit.then((result) => ({ app, result }))))
  .then(async ({ app, result }) => {
    if (stopping) return;
    console.error(`${app.name} exited (${result.signal ?? `code ${result.code}`}); stopping the others`);
    await stack.stop();
    process.exit(1);
  });
