-- auth-server's shared state (DATABASE_URL): the signing keys every instance
-- signs with and publishes, and the callers that have authenticated.

-- One row per signing key. The private key is never stored in clear:
-- private_jwk is AES-256-GCM ciphertext (12-byte IV, ciphertext, 16-byte tag)
-- of the private JWK, under the key-encryption key (KEY_ENCRYPTION_KEY_FILE)
-- named by kek_id, with the kid as additional data, so a sealed key cannot be
-- moved to another row. Which key signs when follows from activates_at.
CREATE TABLE signing_keys (
  kid          text        PRIMARY KEY,
  alg          text        NOT NULL,
  activates_at bigint      NOT NULL, -- ms since the epoch
  public_jwk   jsonb       NOT NULL,
  private_jwk  bytea       NOT NULL,
  kek_id       text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- (client, address) pairs that have authenticated, trusted until a time
-- (ms since the epoch); at most 64 per client, its oldest going first.
CREATE TABLE trusted_callers (
  client_id     text   NOT NULL,
  address       text   NOT NULL,
  trusted_until bigint NOT NULL,
  PRIMARY KEY (client_id, address)
);
