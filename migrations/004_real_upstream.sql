-- Checkout against an upstream that may read its contract differently from our simulator
-- (upstream-api.md, "What the contract leaves open").

-- The upstream's own id for the order: whatever POST /orders/ answered (or GET /orders/ found), not
-- necessarily ours. Our id travels as order_id and as the correlation value in basket_id.
alter table orders add column upstream_order_id text;

-- The caller's own upstream token, sealed with AES-256-GCM (lib/credentials.ts), so background work
-- (completion, failing, refunds, payment follow-ups) acts as the order's owner. Erased once the order is at rest.
alter table orders add column owner_token_sealed text;

-- When set, GET /orders/ is checked for other upstream orders carrying this checkout's correlation value
-- (left by a create whose answer we never saw) once this time has passed, and any live one is failed.
alter table orders add column duplicate_check_at timestamptz;

-- 'failing': the order is claimed for failing upstream (PATCH failed) before that call is sent, so no
-- request can pay it any more; it becomes 'failed' (and the basket reopens) once the upstream agrees.
alter table orders drop constraint orders_state_check;
alter table orders add constraint orders_state_check check (state in (
  'pending', 'placed', 'paying', 'paid', 'completed', 'declined', 'failing', 'failed', 'unknown', 'refunding', 'refunded'));

drop index orders_unsettled_idx;
create index orders_unsettled_idx on orders (updated_at)
  where state in ('pending', 'placed', 'paying', 'paid', 'declined', 'failing', 'refunding');
create index orders_duplicate_check_idx on orders (duplicate_check_at) where duplicate_check_at is not null;

-- A payment the upstream accepted as 'pending' keeps its id and is followed up with GET /payments/{id}.
alter table payment_attempts drop constraint payment_attempts_outcome_check;
alter table payment_attempts add constraint payment_attempts_outcome_check
  check (outcome in ('sending', 'pending', 'completed', 'declined', 'no_charge', 'unknown'));
drop index payment_attempts_one_sending_idx;
create unique index payment_attempts_one_in_flight_idx on payment_attempts (order_id) where outcome in ('sending', 'pending');

-- Every refund request (DELETE /payments/{id}) sent upstream, recorded before it is sent. Nothing in the
-- contract says a second DELETE is harmless, so at most one is open per order: 'sending' while in flight,
-- 'unknown' when its answer was lost (settled by reading the payment, never by sending another).
create table refund_attempts (
  id uuid primary key,
  order_id uuid not null references orders (id),
  payment_id text not null,
  outcome text not null default 'sending' check (outcome in ('sending', 'unknown', 'refunded', 'not_applied')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index refund_attempts_one_open_idx on refund_attempts (order_id) where outcome in ('sending', 'unknown');

-- Orders placed before this migration were created upstream with our id.
update orders set upstream_order_id = id::text where state <> 'pending' and upstream_order_id is null;
