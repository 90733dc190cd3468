// `npm run rotate-keys -w apps/auth-server`: one key rotation step on the
// auth server's key directory (SIGNING_KEYS, or DATA_DIR/keys), with the
// same environment as the server:
// - writes a new key (SIGNING_ALG) that is published at once and signs
//   KEY_PUBLISH_LEAD seconds later (at once if the directory was empty, which
//   is how production keys are first provisioned);
// - deletes keys replaced longer ago than ACCESS_TOKEN_TTL + 60 s.
// A running server notices within KEY_RELOAD_INTERVAL seconds, or at once on
// SIGHUP. Prints one JSON line with what it did; never prints key material.
import { EnvReader, loadConfigOrExit } from "@m2m/service-kit";
import { KeyFileError, rotateKeyDirectory } from "@m2m/token-issuer";
import { loadKeyConfig } from "../config.js";

const { keys, ttl } = loadConfigOrExit(() => ({
  keys: loadKeyConfig(process.env),
  ttl: new EnvReader(process.env).int("ACCESS_TOKEN_TTL", 300, { min: 1, max: 86_400 }),
}));
try {
  const { created, removed } = await rotateKeyDirectory({
    dir: keys.path,
    alg: keys.alg,
    tokenTtlSeconds: ttl,
    publishLeadSeconds: keys.publishLeadSeconds,
    now: Date.now(),
  });
  process.stdout.write(
    `${JSON.stringify({ dir: keys.path, created: created.kid, alg: created.alg, signs_from: new Date(created.activatesAt).toISOString(), removed })}\n`,
  );
} catch (error) {
  if (!(error instanceof KeyFileError)) throw error;
  console.error(`rotate-keys: ${error.message}`);
  process.exitCode = 1;
}
