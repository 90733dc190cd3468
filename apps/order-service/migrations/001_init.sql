-- order-service's orders and settle queue (DATABASE_URL). A pending order
-- is its own queue entry: attempts, next_attempt_at (ms since the epoch),
-- and, while an instance works on it, a lease (leased_by, lease_until).

CREATE TABLE orders (
  id              text        PRIMARY KEY,
  customer_id     text        NOT NULL,
  amount          bigint      NOT NULL CHECK (amount > 0),
  currency        text        NOT NULL,
  status          text        NOT NULL CHECK (status IN ('pending', 'paid', 'payment_failed')),
  charge_id       text,
  reason          text,
  -- one order per key, whichever instance two retries of a POST reach
  idempotency_key text        UNIQUE,
  request_hash    text        NOT NULL,
  attempts        integer     NOT NULL DEFAULT 0,
  next_attempt_at bigint      NOT NULL,
  last_error      text,
  leased_by       text,
  lease_until     bigint,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);

-- the settle queue: pending orders by when they are due
CREATE INDEX orders_due ON orders (next_attempt_at) WHERE status = 'pending';
