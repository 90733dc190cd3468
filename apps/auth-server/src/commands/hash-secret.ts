// `npm run hash-secret -w apps/auth-server [-- --scrypt]`: prints the hash of
// a client secret for the registry file (client_secret_hash).
// - With a secret on stdin (`printf %s "$SECRET" | npm run -s hash-secret ...`):
//   prints only its hash.
// - Without stdin (a terminal), or with `--generate`: generates a strong
//   secret (256 bits) and prints it once, with its hash. Hand the secret to the client; only the
//   hash goes into the registry. Nothing here is logged.
import { generateSecret, hashSecret } from "@m2m/token-issuer";

const algorithm = process.argv.includes("--scrypt") ? "scrypt" : "hmac-sha256";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

if (process.stdin.isTTY || process.argv.includes("--generate")) {
  const secret = generateSecret();
  process.stdout.write(`client_secret=${secret}\nclient_secret_hash=${await hashSecret(secret, algorithm)}\n`);
} else {
  const secret = await readStdin();
  if (secret === "") {
    console.error("hash-secret: stdin was empty; pipe the secret in, or run in a terminal to generate one");
    process.exit(1);
  }
  if (algorithm === "hmac-sha256" && secret.length < 22) {
    console.error("hash-secret: warning: short secret; hmac-sha256 suits random secrets of 128 bits or more (use --scrypt for human-chosen ones)");
  }
  process.stdout.write(`${await hashSecret(secret, algorithm)}\n`);
}
