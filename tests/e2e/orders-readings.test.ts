import { randomUUID } from 'node:crypto';
import { DEFAULT_PROFILE, UPSTREAM_READINGS, type FaultKind, type UpstreamProfile } from '../../dev/simulator';
import type { Sql } from '../../lib/db/sql';
import { basketWithPizza, newCashier, type Cashier } from '../support/checkout';
import { apiOf, runReconciler, simulator, type ApiResponse, type ApiVariant } from '../support/http';
import { backdate, ledgerProblems, NO_MONEY_PROBLEMS, suiteDb } from '../support/ledger';

/**
 * The checkout fault matrix under every reading of the upstream's contract
 * the simulator can play (order ids kept, deduplicated, refused or ignored;
 * payments pending first; refunds idempotent, once or repeated; varied
 * replies; 503 after the effect). Each case scripts faults on one upstream
 * call, checks out as a terminal would (same key after 503/504/202/409 in
 * progress, stop on anything else), then lets the reconciler settle every
 * order, and judges money and state, not calls: no double charge, no charge
 * we do not know, no wrong amount, no repeated refund, no basket with two
 * live upstream orders, and every answer and order state consistent with the
 * ledger. tests/e2e/orders-faults.test.ts checks the default reading call by call.
 */

interface FaultCase {
  name: string;
  faults: Array<{ method: string; path: string; kind: FaultKind; times?: number }>;
}

/** A 503 after the effect is only played against the handlers that read 503 as ambiguous (UPSTREAM_503_MEANS_NO_EFFECT=false). */
const ON_CREATE: FaultKind[] = ['503', '503_after', '500_after', 'reset', 'reset_after', 'hang_after'];
const ON_PAYMENT: FaultKind[] = ['503', '503_after', '500_after', 'reset', 'reset_after', 'hang_after', 'decline'];

const CASES: FaultCase[] = [
  { name: 'no fault', faults: [] },
  ...ON_CREATE.map((kind) => ({ name: `POST /orders/ ${kind}`, faults: [{ method: 'POST', path: '/orders/', kind }] })),
  { name: 'POST /orders/ 503 × 4', faults: [{ method: 'POST', path: '/orders/', kind: '503' as FaultKind, times: 4 }] },
  ...(['503', '500_after', 'reset', 'hang_after'] as FaultKind[]).map((kind) => ({
    name: `POST /orders/ 500_after, then GET /orders/ ${kind}`,
    faults: [
      { method: 'POST', path: '/orders/', kind: '500_after' as FaultKind },
      { method: 'GET', path: '/orders/', kind },
    ],
  })),
  ...ON_PAYMENT.map((kind) => ({ name: `POST /payments/ ${kind}`, faults: [{ method: 'POST', path: '/payments/', kind }] })),
  { name: 'POST /payments/ 503 × 4', faults: [{ method: 'POST', path: '/payments/', kind: '503' as FaultKind, times: 4 }] },
  ...(['503', 'reset', '500_after'] as FaultKind[]).map((kind) => ({
    name: `GET /payments/{id} ${kind}`,
    faults: [{ method: 'GET', path: '/payments/*', kind, times: 2 }],
  })),
  ...(['503', '500_after', 'hang_after'] as FaultKind[]).map((kind) => ({
    name: `PATCH /orders/{id} ${kind}`,
    faults: [{ method: 'PATCH', path: '/orders/*', kind }],
  })),
];

const AT_REST = ['completed', 'failed', 'refunded', 'unknown'];
const TERMINAL_ATTEMPTS = 6;
/** Terminals at once: more only queues up cold serverless-offline workers on a 2-core machine. */
const CONCURRENCY = 6;

/** Under a reading where a 503 may follow the effect, only the handlers that read 503 as ambiguous are right. */
const variantFor = (profile: Partial<UpstreamProfile>): ApiVariant =>
  profile.unavailable === 'after_effect' ? 'ambiguous-503' : 'default';

interface Outcome {
  name: string;
  cashier: Cashier;
  basketId: string;
  answer: ApiResponse;
  orderIds: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function inPool<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return results;
}

/** A terminal's checkout: the same key again after "retry later" answers, until a final one. */
async function checkOut(variant: ApiVariant, cashier: Cashier, basketId: string): Promise<ApiResponse> {
  const api = apiOf(variant);
  const key = randomUUID();
  let answer: ApiResponse | undefined;
  for (let attempt = 0; attempt < TERMINAL_ATTEMPTS; attempt++) {
    answer = await api(`/baskets/${basketId}/orders`, { method: 'POST', token: cashier.token, headers: { 'idempotency-key': key } });
    const retryLater = [202, 503, 504].includes(answer.status) || answer.body?.error?.code === 'REQUEST_IN_PROGRESS';
    if (!retryLater) break;
    await sleep(Math.min(Number(answer.headers.get('retry-after') ?? 1) * 1000, 300));
  }
  return answer!;
}

async function runCase(sql: Sql, reading: Partial<UpstreamProfile>, faultCase: FaultCase): Promise<Outcome> {
  const cashier = await newCashier('readings');
  await simulator.setProfile(cashier.user, { ...reading, pendingPaymentMs: 200 });
  const basketId = await basketWithPizza(cashier);
  for (const fault of faultCase.faults) await simulator.queueFault({ ...fault, user: cashier.user });
  const answer = await checkOut(variantFor(reading), cashier, basketId);
  const orders = await sql<{ id: string }[]>`select id::text from orders where basket_id = ${basketId} order by created_at`;
  return { name: faultCase.name, cashier, basketId, answer, orderIds: orders.map((o) => o.id) };
}

/**
 * Waits for what the upstream is still working on to land, then backdates the cases' orders past every
 * abandonment, expiry and late-effect window, and runs the reconciler until they are at rest.
 */
async function settle(sql: Sql, variant: ApiVariant, outcomes: Outcome[], reading: Partial<UpstreamProfile>): Promise<void> {
  const ids = outcomes.flatMap((o) => o.orderIds);
  if (reading.lateEffects)
    await sleep(Number(process.env.SIM_HANG_MS ?? 2500) + (reading.lateEffectMs ?? DEFAULT_PROFILE.lateEffectMs) + 500);
  for (let round = 0; round < 10; round++) {
    await backdate(sql, { orderIds: ids, interval: '1 hour' });
    await runReconciler(variant);
    const [{ n }] = await sql<
      { n: number }[]
    >`select count(*)::int as n from orders where id in ${sql(ids)} and state not in ${sql(AT_REST)}`;
    if (n === 0) return;
    await sleep(200);
  }
}

/** What the case's answer, rows and ledger say, as one comparable record per case. */
async function verdict(sql: Sql, outcome: Outcome) {
  const ledger = await simulator.ledger(outcome.cashier.user);
  const rows = await sql<{ id: string; state: string; upstream_id: string | null }[]>`
    select id::text, state, upstream_order_id as upstream_id from orders where basket_id = ${outcome.basketId} order by created_at`;
  const [basket] = await sql<{ status: string }[]>`select status from baskets where id = ${outcome.basketId}`;
  const charged = ledger.payments.filter((p) => p.status === 'completed' || p.status === 'refunded');
  const final = rows[rows.length - 1];
  const liveUpstreamOfFailed = ledger.orders.filter(
    (o) => o.status !== 'failed' && rows.some((r) => r.state === 'failed' && r.id === o.basket_id),
  );
  return {
    problems: await ledgerProblems(ledger, sql),
    atRest: rows.every((r) => AT_REST.includes(r.state)),
    answerMatchesMoney: answerMatchesMoney(outcome.answer, charged.length, final?.state),
    basketMatchesOrder:
      basket.status ===
      ({ completed: 'closed', failed: 'open', unknown: 'locked', refunded: 'closed' } as Record<string, string>)[final?.state ?? ''],
    liveUpstreamOrdersOfFailedOrders: liveUpstreamOfFailed.map((o) => o.id),
  };
}

/** 201 means charged once and completed; 402 and every error but PAYMENT_STATUS_UNKNOWN mean nothing charged. */
function answerMatchesMoney(answer: ApiResponse, charges: number, finalState: string | undefined): boolean {
  if (answer.status === 201) return charges === 1 && finalState === 'completed';
  if (answer.body?.error?.code === 'PAYMENT_STATUS_UNKNOWN') return charges <= 1 && finalState === 'unknown';
  return charges === 0 && finalState !== 'completed';
}

const EXPECTED = {
  problems: NO_MONEY_PROBLEMS,
  atRest: true,
  answerMatchesMoney: true,
  basketMatchesOrder: true,
  liveUpstreamOrdersOfFailedOrders: [],
};

describe('checkout under every reading of the upstream contract', () => {
  const sql = suiteDb();

  it.each(Object.entries(UPSTREAM_READINGS))(
    'keeps the money right under the %s reading, whatever call fails and how',
    async (_name, reading) => {
      const cases = CASES.filter((c) => variantFor(reading) === 'ambiguous-503' || !c.faults.some((f) => f.kind === '503_after'));
      const outcomes = await inPool(cases, CONCURRENCY, (faultCase) => runCase(sql, reading, faultCase));
      await settle(sql, variantFor(reading), outcomes, reading);

      const verdicts = await Promise.all(
        outcomes.map(async (outcome) => ({ case: outcome.name, answer: outcome.answer.status, ...(await verdict(sql, outcome)) })),
      );

      expect(verdicts).toEqual(verdicts.map((v) => ({ case: v.case, answer: v.answer, ...EXPECTED })));
      // Most checkouts still get through: only payments whose outcome was truly lost end unknown. Where the
      // upstream also leaves a share of its changing calls (create, pay, complete: about three a checkout)
      // unanswered, that share of checkouts more may end unknown or not paid.
      const paid = outcomes.filter((o) => o.answer.status === 201).length;
      const lateEffectMisses = Math.ceil(cases.length * 3 * ((reading as Partial<UpstreamProfile>).lateEffects ?? 0));
      expect(paid).toBeGreaterThanOrEqual(cases.length - 8 - lateEffectMisses);
    },
    120_000,
  );
});
