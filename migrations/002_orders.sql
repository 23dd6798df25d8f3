-- Orders: one row per checkout, written before any upstream call. Our id is the upstream order_id.
-- States (lib/orders/state-machine.ts): pending → placed → paying → paid → completed, declined (pay again),
-- failed (proved not placed, or abandoned; basket reopened), unknown (a payment's outcome could not be proved),
-- refunding → refunded.
create table orders (
  id uuid primary key,
  owner_id text not null check (length(owner_id) between 1 and 320),
  basket_id uuid not null references baskets (id),
  state text not null check (state in ('pending', 'placed', 'paying', 'paid', 'completed', 'declined', 'failed', 'unknown', 'refunding', 'refunded')),
  -- The basket total charged, integer minor units (gross, VAT included); sent upstream as total and amount.
  total_minor bigint not null check (total_minor >= 0),
  -- The Idempotency-Key of the request that opened the order; a retry with it resumes this order.
  opened_by_key text not null,
  payment_id text,
  payment_attempts integer not null default 0 check (payment_attempts >= 0),
  -- Why the order is failed or unknown, for the follow-up.
  last_error text,
  -- The reconciler's lease: while in the future, one reconciler owns the row.
  lease_until timestamptz,
  reconcile_attempts integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (state not in ('paid', 'completed', 'refunding', 'refunded') or payment_id is not null)
);

-- At most one live order per basket: every order but a failed one holds its basket.
create unique index orders_one_live_per_basket_idx on orders (basket_id) where state <> 'failed';
create index orders_owner_idx on orders (owner_id, created_at desc);
-- What the reconciler scans: orders not yet at rest.
create index orders_unsettled_idx on orders (updated_at) where state in ('pending', 'placed', 'paying', 'paid', 'declined', 'refunding');

-- Every payment request sent upstream, recorded before it is sent.
create table payment_attempts (
  id uuid primary key,
  order_id uuid not null references orders (id),
  amount_minor bigint not null check (amount_minor >= 0),
  outcome text not null default 'sending' check (outcome in ('sending', 'completed', 'declined', 'no_charge', 'unknown')),
  upstream_payment_id text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- One payment request in flight per order.
create unique index payment_attempts_one_sending_idx on payment_attempts (order_id) where outcome = 'sending';
-- An upstream payment belongs to one attempt.
create unique index payment_attempts_upstream_idx on payment_attempts (upstream_payment_id) where upstream_payment_id is not null;
