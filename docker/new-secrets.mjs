// Makes new client secrets for the Compose stack: one file per client under
// docker/secrets/ (what the clients read, as Compose secrets) and, with only
// their hashes, the auth server's registry docker/auth-server/clients.json;
// and a new key-encryption key for the scaled stack's signing keys in
// PostgreSQL (docker/secrets/key-encryption.key: change it only together
// with `down -v`, since keys sealed with the old one cannot be read).
//
//   npm run build -w packages/token-issuer && node docker/new-secrets.mjs
//
// The committed ones are for the demo only; run this before putting the
// stack anywhere that matters, then `docker compose up -d --force-recreate`.
import { randomBytes } from "node:crypto";
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
writeFileSync(join(here, "secrets", "key-encryption.key"), `${randomBytes(32).toString("base64")}\n`, { mode: 0o644 });
mkdirSync(join(here, "auth-server"), { recursive: true });
writeFileSync(join(here, "auth-server", "clients.json"), `${JSON.stringify(registry, null, 2)}\n`);
process.stdout.write(
  `wrote ${CLIENTS.length} client secrets and a key-encryption key to docker/secrets/, and the secrets' hashes to docker/auth-server/clients.json\n`,
);
