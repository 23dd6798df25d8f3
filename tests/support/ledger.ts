import type { Ledger } from '../../dev/simulator';
import { connect, type Sql } from '../../lib/db/sql';

export interface LedgerProblems {
  /** Orders with more than one payment that took money (completed or refunded). */
  doubleCharges: string[];
  /** Charges whose order our database does not know as paid, completed, refunding, refunded or unknown. */
  chargesUnknownToUs: string[];
  /** Charges whose amount differs from our order total. */
  wrongAmounts: string[];
  /** Payments refunded more than once. */
  repeatedRefunds: string[];
  /** Baskets of ours with more than one live (not failed) upstream order. */
  basketsWithTwoLiveOrders: string[];
}

export const NO_MONEY_PROBLEMS: LedgerProblems = {
  doubleCharges: [],
  chargesUnknownToUs: [],
  wrongAmounts: [],
  repeatedRefunds: [],
  basketsWithTwoLiveOrders: [],
};

const CHARGED = new Set(['completed', 'refunded']);
const STATES_THAT_OWN_A_CHARGE = new Set(['paid', 'completed', 'refunding', 'refunded', 'unknown']);

interface OurOrder {
  id: string;
  upstream_id: string;
  basket_id: string;
  state: string;
  total_minor: number;
}

/**
 * The money invariants, checked against the simulator's ledger and our rows:
 * no order charged twice, no charge our database does not account for, every
 * charge of exactly the order total, no payment refunded twice, and no basket
 * with two live upstream orders. Upstream orders are matched to ours by the
 * upstream's id (payments name it) and by the correlation value (our order
 * id) the checkout sends as basket_id, so this holds whatever id rule the
 * upstream follows.
 */
export async function ledgerProblems(ledger: Ledger, sql: Sql): Promise<LedgerProblems> {
  const charges = ledger.payments.filter((p) => CHARGED.has(p.status));
  const correlations = ledger.orders.map((o) => o.basket_id).filter((id): id is string => id !== null && /^[0-9a-f-]{36}$/.test(id));
  const upstreamIds = [...new Set(charges.map((c) => c.order_id))];
  const rows =
    upstreamIds.length + correlations.length > 0
      ? await sql<OurOrder[]>`
          select id::text, coalesce(upstream_order_id, id::text) as upstream_id, basket_id::text, state, total_minor from orders
          where coalesce(upstream_order_id, id::text) in ${sql(upstreamIds.length ? upstreamIds : [''])}
             or id::text in ${sql(correlations.length ? correlations : [''])}`
      : [];
  const byUpstreamId = new Map(rows.map((r) => [r.upstream_id, r]));
  const byId = new Map(rows.map((r) => [r.id, r]));

  const chargesPerOrder = countBy(charges.map((c) => c.order_id));
  const refundsPerPayment = countBy(ledger.refunds.map((r) => r.payment_id));
  const liveUpstreamOrdersPerBasket = countBy(
    ledger.orders
      .filter((o) => o.status !== 'failed' && o.basket_id !== null && byId.has(o.basket_id))
      .map((o) => byId.get(o.basket_id!)!.basket_id),
  );
  return {
    doubleCharges: moreThanOnce(chargesPerOrder),
    chargesUnknownToUs: charges.filter((c) => !STATES_THAT_OWN_A_CHARGE.has(byUpstreamId.get(c.order_id)?.state ?? '')).map((c) => c.id),
    wrongAmounts: charges
      .filter((c) => byUpstreamId.has(c.order_id) && Math.round(c.amount * 100) !== byUpstreamId.get(c.order_id)!.total_minor)
      .map((c) => c.id),
    repeatedRefunds: moreThanOnce(refundsPerPayment),
    basketsWithTwoLiveOrders: moreThanOnce(liveUpstreamOrdersPerBasket),
  };
}

function countBy(keys: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

function moreThanOnce(counts: Map<string, number>): string[] {
  return [...counts.entries()].filter(([, n]) => n > 1).map(([key]) => key);
}

/**
 * As if `interval` had passed for these orders (all of them when none are
 * named): every time a guard compares against (when an order last changed,
 * when its creates, payments and refunds were sent, when its duplicate check
 * is due) moves back, so abandonment, expiry and the late-effect window lapse
 * without waiting for them. Returns how many orders it moved.
 */
export async function backdate(sql: Sql, options: { orderIds?: string[]; interval: string }): Promise<number> {
  const ids = options.orderIds ?? null;
  const moved = await sql`
    update orders set updated_at = updated_at - ${options.interval}::interval, create_sent_at = create_sent_at - ${options.interval}::interval,
      duplicate_check_at = duplicate_check_at - ${options.interval}::interval
    where (${ids === null} or id::text in ${sql(ids ?? [''])}) and (state not in ('completed', 'failed', 'refunded') or duplicate_check_at is not null)`;
  await sql`update payment_attempts set created_at = created_at - ${options.interval}::interval where ${ids === null} or order_id::text in ${sql(ids ?? [''])}`;
  await sql`update refund_attempts set created_at = created_at - ${options.interval}::interval where ${ids === null} or order_id::text in ${sql(ids ?? [''])}`;
  return moved.count;
}

/** A pool on the test database for tests that arrange or inspect rows directly; end it in afterAll. */
export function testDb(): Sql {
  return connect(process.env.DATABASE_URL!, { max: 4 });
}

/** A pool on the test database for one test file (or describe block), closed after its tests; postgres.js connects on first use. */
export function suiteDb(): Sql {
  const sql = testDb();
  afterAll(() => sql.end());
  return sql;
}
