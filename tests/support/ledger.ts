import type { Ledger } from '../../dev/simulator';
import { connect, type Sql } from '../../lib/db/sql';

export interface LedgerProblems {
  /** Orders with more than one payment that took money (completed or refunded). */
  doubleCharges: string[];
  /** Charges whose order our database does not know as paid, completed, refunding, refunded or unknown. */
  chargesUnknownToUs: string[];
  /** Charges whose amount differs from our order total. */
  wrongAmounts: string[];
}

const CHARGED = new Set(['completed', 'refunded']);
const STATES_THAT_OWN_A_CHARGE = new Set(['paid', 'completed', 'refunding', 'refunded', 'unknown']);

/**
 * The money invariants, checked against the simulator's ledger and our rows:
 * no order charged twice, no charge our database does not account for, and
 * every charge of exactly the order total.
 */
export async function ledgerProblems(ledger: Ledger, sql: Sql): Promise<LedgerProblems> {
  const charges = ledger.payments.filter((p) => CHARGED.has(p.status));
  const byOrder = new Map<string, number>();
  for (const charge of charges) byOrder.set(charge.order_id, (byOrder.get(charge.order_id) ?? 0) + 1);
  const orderIds = [...byOrder.keys()];
  const rows = orderIds.length
    ? await sql<{ id: string; state: string; total_minor: number }[]>`select id, state, total_minor from orders where id in ${sql(orderIds)}`
    : [];
  const ours = new Map(rows.map((r) => [r.id, r]));
  return {
    doubleCharges: [...byOrder.entries()].filter(([, n]) => n > 1).map(([id]) => id),
    chargesUnknownToUs: charges.filter((c) => !STATES_THAT_OWN_A_CHARGE.has(ours.get(c.order_id)?.state ?? '')).map((c) => c.id),
    wrongAmounts: charges.filter((c) => ours.has(c.order_id) && Math.round(c.amount * 100) !== ours.get(c.order_id)!.total_minor).map((c) => c.id),
  };
}

/** A pool on the test database for tests that arrange or inspect rows directly; end it in afterAll. */
export function testDb(): Sql {
  return connect(process.env.DATABASE_URL!, { max: 4 });
}
