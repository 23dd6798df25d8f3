-- Every actor on one order at once (docs/checkout-protocol.md): a write says which lease, key holder,
-- payment attempt or order creation it belongs to, and a write from one that is no longer current changes nothing.

-- The order's lease names its holder: only the holder releases it.
alter table orders add column lease_holder uuid;

-- Every POST /orders/ of a checkout is recorded before it is sent: when the latest went out, and how many did.
-- A create whose answer was lost may still land until the upstream's late-effect window after it was sent.
alter table orders add column create_sent_at timestamptz;
alter table orders add column creates_sent integer not null default 0 check (creates_sent >= 0);
update orders set create_sent_at = created_at, creates_sent = 1;

-- Payment attempts are numbered per order; only the order's latest attempt (orders.payment_attempts) moves it.
alter table payment_attempts add column number integer;
update payment_attempts a set number = numbered.n
from (select id, row_number() over (partition by order_id order by created_at, id) as n from payment_attempts) as numbered
where numbered.id = a.id;
alter table payment_attempts alter column number set not null;
alter table payment_attempts add constraint payment_attempts_number_check check (number >= 1);
create unique index payment_attempts_number_idx on payment_attempts (order_id, number);

-- The request holding an Idempotency-Key: only it completes or releases the key.
alter table idempotency_keys add column holder uuid;

-- An order may need a person more than once (its payment, later its refund): one resolution per step.
alter table order_resolutions add column resolved_from text not null default 'unknown'
  check (resolved_from in ('unknown', 'paying', 'paid', 'refunding'));
alter table order_resolutions drop constraint order_resolutions_pkey;
alter table order_resolutions add primary key (order_id, resolved_from);
alter table order_resolutions drop constraint order_resolutions_outcome_check;
alter table order_resolutions add constraint order_resolutions_outcome_check check (outcome in ('charged', 'not_charged', 'refunded'));
alter table order_resolutions drop constraint order_resolutions_check;
alter table order_resolutions add constraint order_resolutions_payment_check check (outcome <> 'not_charged' or payment_id is null);
