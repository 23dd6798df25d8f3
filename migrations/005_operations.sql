-- Orders that need a person: an unknown payment outcome is resolved by an operator who established
-- what happened outside the system (lib/orders/resolutions.ts).

-- One resolution per order: who decided what, when and why. A resolution never sends a payment.
create table order_resolutions (
  order_id uuid primary key references orders (id),
  outcome text not null check (outcome in ('charged', 'not_charged')),
  -- The upstream payment the operator found, when they found one: it makes the order refundable.
  payment_id text check (payment_id is null or length(payment_id) between 1 and 128),
  reason text not null check (length(reason) between 1 and 1000),
  resolved_by text not null check (length(resolved_by) between 1 and 320),
  resolved_at timestamptz not null default now(),
  check (outcome = 'charged' or payment_id is null)
);

-- An order resolved as charged without a payment id is completed without one: only a refund needs it.
alter table orders drop constraint orders_check;
alter table orders add constraint orders_refund_needs_payment_check check (state not in ('refunding', 'refunded') or payment_id is not null);

-- What operators list first: the orders whose payment outcome is unknown.
create index orders_unknown_idx on orders (created_at desc, id desc) where state = 'unknown';
