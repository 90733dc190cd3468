// Makes new client secrets for the Compose stack: one file per client under
// docker/secrets/ (what the clients read, as Compose secrets) and, with only
// their hashes, the auth server's registry docker/auth-server/clients.json.
//
//   npm run build -w packages/token-issuer && node docker/new-secrets.mjs
//
// The committed ones are for the demo only; run this before putting the
// stack anywhere that matters, then `docker compose up -d --force-recreate`.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSecret, hashSecret } from "@m2m/token-issuer";

const here = dirname(fileURLToPath(import.meta.url));

/** The clients of the stack: who may ask for which scopes, for which audience. */
const CLIENTS = [
  { client_id: "order-service", scopes: ["charge:customer"], audiences: ["payment-service"] },
  { client_id: "reporting-service", scopes: ["charge:read"], audiences: ["payment-service"] },
];

const registry = {
  resource_servers: [
    { id: "payment-service", resources: ["https://payment.internal"], scopes: ["charge:customer", "charge:read"] },
  ],
  clients: [],
};

mkdirSync(join(here, "secrets"), { recursive: true });
for (const client of CLIENTS) {
  const secret = generateSecret();
  // no trailing newline: the file is the secret, byte for byte
  writeFileSync(join(here, "secrets", `${client.client_id}.secret`), secret, { mode: 0o644 });
  registry.clients.push({ client_id: client.client_id, client_secret_hash: await hashSecret(secret), ...client });
}
mkdirSync(join(here, "auth-server"), { recursive: true });
writeFileSync(join(here, "auth-server", "clients.json"), `${JSON.stringify(registry, null, 2)}\n`);
process.stdout.write(`wrote ${CLIENTS.length} client secrets to docker/secrets/ and their hashes to docker/auth-server/clients.json\n`);
