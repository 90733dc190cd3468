-- payment-service's ledger (DATABASE_URL): the charges, and the idempotency
-- keys that made them (draft-ietf-httpapi-idempotency-key-header).

CREATE TABLE charges (
  id          text        PRIMARY KEY,
  order_id    text        NOT NULL,
  customer_id text        NOT NULL,
  amount      bigint      NOT NULL CHECK (amount > 0),
  currency    text        NOT NULL,
  status      text        NOT NULL CHECK (status IN ('succeeded', 'declined')),
  client_id   text        NOT NULL,
  created_at  timestamptz NOT NULL
);

-- Exactly once per (client, key) across every instance: the primary key
-- refuses a second row, whatever two instances do at the same moment. The
-- key row and its charge are written in one transaction (the foreign key is
-- checked at commit, so the key can be claimed first).
CREATE TABLE idempotency_keys (
  client_id       text        NOT NULL,
  key             text        NOT NULL,
  fingerprint     text        NOT NULL,
  charge_id       text        NOT NULL REFERENCES charges (id) DEFERRABLE INITIALLY DEFERRED,
  response_status integer     NOT NULL,
  response_body   jsonb       NOT NULL,
  created_at      timestamptz NOT NULL,
  PRIMARY KEY (client_id, key)
);

-- Keys are kept for a retention period (IDEMPOTENCY_KEY_RETENTION), then
-- pruned oldest first; the charges stay.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
