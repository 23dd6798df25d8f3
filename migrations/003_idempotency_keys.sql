-- Idempotency-Key records for POST /baskets/{basketId}/orders and POST /orders/{orderId}/payments.
-- A record is in_progress while one request holds the key (until locked_until, so a crashed Lambda does not
-- block the key forever), then completed with the exact response to replay. After expires_at it counts as new.
create table idempotency_keys (
  owner_id text not null check (length(owner_id) between 1 and 320),
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  route text not null check (length(route) between 1 and 200),
  -- sha256 hex of the canonical request; the same key with another request is refused, never replayed.
  request_hash text not null check (request_hash ~ '^[0-9a-f]{64}$'),
  status text not null check (status in ('in_progress', 'completed')),
  locked_until timestamptz,
  response_status integer,
  response_body text,
  response_headers jsonb,
  -- How many requests have started on this key; above 1, a later request took over an abandoned one.
  attempts integer not null default 1 check (attempts >= 1),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (owner_id, idempotency_key),
  -- An in-progress record holds a lock and no response; a completed one holds a whole response and no lock.
  check (
    (status = 'in_progress' and locked_until is not null
      and response_status is null and response_body is null and response_headers is null)
    or (status = 'completed' and locked_until is null
      and response_status between 100 and 599 and response_body is not null
      and jsonb_typeof(response_headers) = 'object')
  )
);

-- The reconciler purges expired keys, oldest first.
create index idempotency_keys_expires_at_idx on idempotency_keys (expires_at);
