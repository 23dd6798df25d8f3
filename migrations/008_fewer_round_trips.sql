-- Checkout at the round-trip limit (docs/checkout-protocol.md, "Writes before the reply"): the statement that
-- opens an order takes its total from the locked basket row, and the statement that records a payment's
-- outcome stores the request's answer with it.

-- Each line's gross as priced when it was written (lib/baskets/basket.ts, grossMinorUnits: round half up once per line).
alter table basket_lines add column gross_minor bigint;
update basket_lines set gross_minor =
  case when net_unit_minor::numeric * quantity * (10000 + vat_basis_points) >= 0
    then div(net_unit_minor::numeric * quantity * (10000 + vat_basis_points) + 5000, 10000)
    else -div(-(net_unit_minor::numeric * quantity * (10000 + vat_basis_points)) + 5000, 10000)
  end;
alter table basket_lines alter column gross_minor set not null;

-- The basket's priced total and line count, written by every basket write in the transaction that changes the
-- lines: locking the row at a version returns the total of exactly that version's lines.
alter table baskets add column total_minor bigint not null default 0;
alter table baskets add column line_count integer not null default 0 check (line_count >= 0);
update baskets b set total_minor = coalesce(l.total, 0), line_count = coalesce(l.lines, 0)
from (select basket_id, sum(gross_minor) as total, count(*) as lines from basket_lines group by basket_id) l
where l.basket_id = b.id;

-- A paying request's answer may be stored as the order it was given from (its row as the outcome left it,
-- without the owner's token), written by the statement that records the outcome; the answer is rendered
-- from it on replay exactly as it was the first time.
alter table idempotency_keys add column answer_order jsonb;
alter table idempotency_keys drop constraint idempotency_keys_check;
alter table idempotency_keys add constraint idempotency_keys_answer_check check (
  (status = 'in_progress' and locked_until is not null
    and response_status is null and response_body is null and response_headers is null and answer_order is null)
  or (status = 'completed' and locked_until is null and (
    (response_status between 100 and 599 and response_body is not null and jsonb_typeof(response_headers) = 'object'
      and answer_order is null)
    or (answer_order is not null and jsonb_typeof(answer_order) = 'object'
      and response_status is null and response_body is null and response_headers is null)))
);
