import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PosClient, type FetchLike, type Outcome, type OutcomeKind } from '../../client/src';
import { DEFAULT_PROFILE, UPSTREAM_READINGS, type FaultKind, type Ledger, type UpstreamProfile } from '../../dev/simulator';
import type { Sql } from '../../lib/db/sql';
import { PIZZA } from '../support/catalogue';
import { newCashier, type Cashier } from '../support/checkout';
import { recordCall } from '../support/contract';
import { runReconciler, simulator, type ApiVariant } from '../support/http';
import { backdate, ledgerProblems, NO_MONEY_PROBLEMS, suiteDb } from '../support/ledger';

/**
 * The client (client/) against the local stack, under the checkout fault
 * matrix and every reading of the upstream's contract the simulator plays.
 * Each case is a terminal doing what its cashier would, through the client
 * only: a basket with a pizza, then a checkout (or a prepare, a pay, a
 * cancel, a refund, a double tap), with upstream faults scripted for its
 * user and, in some cases, faults between the terminal and the service (an
 * answer lost, a connection refused, a request given up on, a budget too
 * short). After every outcome the client reports, the simulator's ledger is
 * read: the outcome must match the money at that moment (paid: exactly one
 * charge of the order's total; declined, cancelled, prepared, refused: none;
 * refunded: the charge refunded; unknown: reported, whatever it is). At the
 * end, once late effects have landed and the reconciler has settled every
 * order, no basket is charged twice and the ledger shows no money problem.
 *
 * CLIENT_E2E_TABLE=1 prints where the table of cases (reading × case:
 * outcomes, charges, refunds) was written.
 */

const TOTAL = 1440; // one pizza, gross, minor units
const AT_REST = ['completed', 'failed', 'refunded', 'unknown'];
/** Terminals at once: more only queues up serverless-offline workers on a 2-core machine. */
const CONCURRENCY = Number(process.env.CLIENT_E2E_CONCURRENCY ?? 6);
const STAGGER_MS = Number(process.env.CLIENT_E2E_STAGGER_MS ?? 300);
/** A cashier's patience for one operation. */
const BUDGET_MS = 15_000;

type Step = { op: string; outcome: Outcome; chargesAfter: number; refundsAfter: number; ms: number };

interface Terminal {
  pos: PosClient;
  cashier: Cashier;
  basketId: string;
}

interface ClientFault {
  /** The first answer to a request of this route is lost on its way back (the service acted on it). */
  lose?: RegExp;
  /** The first request of this route is refused before it is sent. */
  refuse?: RegExp;
}

interface Case {
  name: string;
  /** Upstream faults for the case's user. */
  faults?: Array<{ method: string; path: string; kind: FaultKind; times?: number }>;
  client?: ClientFault & { attemptTimeoutMs?: number };
  profile?: Partial<UpstreamProfile>;
  /** The cashier's moves; each outcome is recorded with the ledger right after it. */
  run: (terminal: Terminal, step: (op: string, outcome: Promise<Outcome>) => Promise<Outcome>) => Promise<void>;
  /** Its steps run side by side: each is a final outcome. */
  parallel?: boolean;
  /** The kinds the final outcome may have, under the default reading and under the one whose 503s may follow the effect. */
  expect: OutcomeKind[] | { default: OutcomeKind[]; 'ambiguous-503': OutcomeKind[] };
}

const ORDERS = /\/baskets\/[^/]+\/orders$/;

const checkout = (name: string, extra: Omit<Case, 'name' | 'run'>): Case => ({
  name,
  ...extra,
  run: async ({ pos, basketId }, step) => {
    await step('checkout', pos.checkout(basketId));
  },
});

const CASES: Record<string, Case> = {
  plain: checkout('no fault', { expect: ['paid'] }),
  declined: {
    name: 'declined, then paid again (a new call)',
    faults: [{ method: 'POST', path: '/payments/', kind: 'decline' }],
    run: async ({ pos, basketId }, step) => {
      const declined = await step('checkout', pos.checkout(basketId));
      if (declined.kind === 'declined') await step('pay', pos.pay(declined.orderId));
    },
    expect: ['paid'],
  },
  unknown: checkout('payment 500 after charging', {
    faults: [{ method: 'POST', path: '/payments/', kind: '500_after' }],
    expect: ['unknown'],
  }),
  unavailable: checkout('payment 503 × 4 (service answers 503)', {
    faults: [{ method: 'POST', path: '/payments/', kind: '503', times: 4 }],
    expect: { default: ['paid'], 'ambiguous-503': ['unknown'] },
  }),
  createLost: checkout('order create reset × 2 (service answers 503, order pending)', {
    faults: [{ method: 'POST', path: '/orders/', kind: 'reset', times: 2 }],
    expect: ['paid'],
  }),
  answerLost: checkout('the checkout’s answer lost on the way back', { client: { lose: ORDERS }, expect: ['paid'] }),
  refused: checkout('the first connection refused', { client: { refuse: ORDERS }, expect: ['paid'] }),
  gaveUp: checkout('terminal gives up on a hung payment (timeout, same key, in progress)', {
    faults: [{ method: 'POST', path: '/payments/', kind: 'hang_after' }],
    client: { attemptTimeoutMs: 600 },
    expect: ['unknown'],
  }),
  pending: checkout('payment pending past the request (202, followed up)', {
    profile: { payments: 'pending', pendingPaymentMs: 5000 },
    expect: ['paid'],
  }),
  resumed: {
    name: 'budget too short (retry-later), then resumed with the key',
    faults: [{ method: 'POST', path: '/payments/', kind: '503', times: 4 }],
    run: async ({ pos, basketId }, step) => {
      const later = await step('checkout (300 ms)', pos.checkout(basketId, { budgetMs: 300 }));
      await step('resume', pos.resume(later.resume));
    },
    expect: { default: ['paid'], 'ambiguous-503': ['unknown'] },
  },
  prepareCancel: {
    name: 'prepared, then cancelled',
    run: async ({ pos, basketId }, step) => {
      const prepared = await step('prepare', pos.prepare(basketId));
      if (prepared.kind === 'prepared') await step('cancel', pos.cancel(prepared.orderId));
    },
    expect: ['cancelled'],
  },
  preparePay: {
    name: 'prepared, then paid',
    run: async ({ pos, basketId }, step) => {
      const prepared = await step('prepare', pos.prepare(basketId));
      if (prepared.kind === 'prepared') await step('pay', pos.pay(prepared.orderId));
    },
    expect: ['paid'],
  },
  refund: {
    name: 'paid, then refunded',
    run: async ({ pos, basketId }, step) => {
      const paid = await step('checkout', pos.checkout(basketId));
      if (paid.kind === 'paid') await step('refund', pos.refund(paid.orderId));
    },
    expect: ['refunded'],
  },
  doubleTap: {
    name: 'double tap: two checkouts of one basket at once',
    parallel: true,
    run: async ({ pos, basketId }, step) => {
      await Promise.all([step('checkout', pos.checkout(basketId)), step('checkout (again)', pos.checkout(basketId))]);
    },
    expect: ['paid'],
  },
};

/**
 * Every case under the default reading and under the worst of all (hostile:
 * every open point read the worst way at once); under each other reading, the
 * cases whose answers it changes: creates under the order-id readings, pending
 * payments, refunds, varied replies, 503s after the effect, late effects.
 */
const PLAN: Record<keyof typeof UPSTREAM_READINGS, string[]> = {
  default: Object.keys(CASES),
  hostile: Object.keys(CASES),
  'ids-deduplicated': ['declined', 'createLost'],
  'ids-rejected': ['declined', 'createLost'],
  'ids-ignored': ['declined', 'createLost'],
  'payments-pending': ['declined', 'unknown', 'pending'],
  'refunds-once': ['refund'],
  'refunds-repeat': ['refund'],
  'replies-varied': ['declined', 'unknown', 'answerLost'],
  '503-after-effect': ['unavailable', 'unknown', 'answerLost'],
  'late-effects': ['plain', 'declined', 'refund'],
};

/** Rough seconds a case takes (most of it waiting: Retry-After is 5 s, a hang 2.5 s). */
const SLOW: Record<string, number> = { pending: 7, unavailable: 6, createLost: 6, resumed: 6, gaveUp: 3, refund: 2 };

/**
 * The order cases start in: the longest first, so their waits overlap the
 * rest; then, among the quick ones, those under late effects, whose
 * stragglers land while the others run.
 */
const weight = ({ reading, caseId }: { reading: string; caseId: string }) =>
  (SLOW[caseId] ?? 1) + (readingOf(reading).lateEffects ? 0.5 : 0);

/** Under a reading where a 503 may follow the effect, only the handlers that read 503 as ambiguous are right. */
const variantFor = (profile: Partial<UpstreamProfile>): ApiVariant =>
  profile.unavailable === 'after_effect' ? 'ambiguous-503' : 'default';

const apiUrlOf = (variant: ApiVariant) => process.env[variant === 'default' ? 'TEST_API_URL' : 'TEST_API_URL_AMBIGUOUS_503']!;

/** The platform's fetch, every answer recorded for the API contract check, with the case's faults between terminal and service. */
function terminalFetch(fault: ClientFault = {}): FetchLike {
  const pending = { lose: fault.lose, refuse: fault.refuse };
  return async (url, init) => {
    const { pathname } = new URL(url);
    if (pending.refuse?.test(pathname)) {
      pending.refuse = undefined;
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    }
    const response = await fetch(url, init);
    const text = await response.clone().text();
    recordCall(new URL(url), init.method ?? 'GET', response, text);
    if (pending.lose?.test(pathname)) {
      pending.lose = undefined;
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
    }
    return response;
  };
}

/** The money on the basket's upstream orders: completed or refunded payments, and refunds. */
async function moneyOf(sql: Sql, ledger: Ledger, basketId: string): Promise<{ charges: number; amounts: number[]; refunds: number }> {
  const ours = await sql<{ upstream_id: string }[]>`
    select upstream_order_id as upstream_id from orders where basket_id = ${basketId} and upstream_order_id is not null`;
  const upstream = new Set(ours.map((o) => o.upstream_id));
  const charges = ledger.payments.filter((p) => upstream.has(p.order_id) && (p.status === 'completed' || p.status === 'refunded'));
  return {
    charges: charges.length,
    amounts: charges.map((p) => Math.round(p.amount * 100)),
    refunds: ledger.refunds.filter((r) => charges.some((c) => c.id === r.payment_id)).length,
  };
}

interface Result {
  reading: string;
  variant: ApiVariant;
  case: Case;
  cashier: Cashier;
  basketId: string;
  steps: Step[];
  ms: number;
  endedAt: number;
}

async function runCase(sql: Sql, reading: string, caseId: string): Promise<Result> {
  const profile = readingOf(reading);
  const variant = variantFor(profile);
  const spec = CASES[caseId];
  const started = Date.now();
  const cashier = await newCashier('client');
  await simulator.setProfile(cashier.user, { ...profile, pendingPaymentMs: 200, ...spec.profile });
  const pos = new PosClient({
    baseUrl: apiUrlOf(variant),
    token: cashier.token,
    fetch: terminalFetch(spec.client),
    budgetMs: BUDGET_MS,
    attemptTimeoutMs: spec.client?.attemptTimeoutMs ?? 10_000,
    backoff: { baseMs: 100, maxMs: 1000 },
  });
  const basket = await pos.createBasket();
  await pos.setItem(basket.id, PIZZA, 1, { ifMatch: basket });
  for (const fault of spec.faults ?? []) await simulator.queueFault({ ...fault, user: cashier.user });
  const steps: Step[] = [];
  const step = async (op: string, running: Promise<Outcome>) => {
    const began = Date.now();
    const outcome = await running;
    const ms = Date.now() - began;
    const money = await moneyOf(sql, await simulator.ledger(cashier.user), basket.id);
    steps.push({ op, outcome, chargesAfter: money.charges, refundsAfter: money.refunds, ms });
    return outcome;
  };
  await spec.run({ pos, cashier, basketId: basket.id }, step);
  // A terminal told retry-later resumes the operation (the same request, the same key), as its cashier would.
  for (let resumes = 0; resumes < 2; resumes++) {
    const last = steps.at(-1)!.outcome;
    if (last.kind !== 'retry-later') break;
    await step('resume', pos.resume(last.resume));
  }
  return { reading, variant, case: spec, cashier, basketId: basket.id, steps, ms: Date.now() - started, endedAt: Date.now() };
}

/**
 * Runs `work` over the items, `size` at a time. The first `size` start a
 * little apart: a burst of simultaneous first requests would make
 * serverless-offline start a cold worker per request for each function.
 */
async function inPool<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (slot: number) => {
    await sleep(slot * STAGGER_MS);
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, (_, slot) => worker(slot)));
  return results;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Backdates the cases' orders past every window and runs both variants' reconcilers until they are at rest. */
async function settle(sql: Sql, results: Result[]): Promise<void> {
  const baskets = results.map((r) => r.basketId);
  for (let round = 0; round < 10; round++) {
    const ids = (await sql<{ id: string }[]>`select id::text from orders where basket_id in ${sql(baskets)}`).map((o) => o.id);
    await backdate(sql, { orderIds: ids, interval: '1 hour' });
    await runReconciler('default');
    await runReconciler('ambiguous-503');
    const [{ n }] = await sql<{ n: number }[]>`
      select count(*)::int as n from orders where basket_id in ${sql(baskets)} and state not in ${sql(AT_REST)}`;
    if (n === 0) return;
    await sleep(200);
  }
}

/** Whether an outcome matches the money the ledger showed right after it; `why` when it does not. */
function matchesMoney(step: Step): string | undefined {
  const { outcome, chargesAfter, refundsAfter } = step;
  switch (outcome.kind) {
    case 'paid':
      return chargesAfter === 1 && outcome.order.total === TOTAL ? undefined : `paid, with ${chargesAfter} charges`;
    case 'refunded':
      return chargesAfter === 1 && refundsAfter === 1 ? undefined : `refunded, with ${chargesAfter} charges and ${refundsAfter} refunds`;
    case 'declined':
    case 'cancelled':
    case 'prepared':
    case 'refused':
      return chargesAfter === 0 ? undefined : `${outcome.kind}, with ${chargesAfter} charges`;
    case 'unknown':
    case 'retry-later':
      return chargesAfter <= 1 ? undefined : `${outcome.kind}, with ${chargesAfter} charges`;
  }
}

describe('the client under the fault matrix and every reading of the upstream contract', () => {
  const sql = suiteDb();

  it('never charges a checkout twice, and every outcome it reports matches the money', async () => {
    const started = Date.now();
    const work = Object.entries(PLAN)
      .flatMap(([reading, cases]) => cases.map((caseId) => ({ reading, caseId })))
      .filter(({ caseId }) => !process.env.CLIENT_E2E_ONLY || process.env.CLIENT_E2E_ONLY.split(',').includes(caseId))
      .sort((a, b) => weight(b) - weight(a));
    const results = await inPool(work, CONCURRENCY, ({ reading, caseId }) => runCase(sql, reading, caseId));
    const trafficMs = Date.now() - started;

    // What the upstream was still working on lands (a late effect comes a hang and its delay after the call), then every order settles.
    const lastLateCall = Math.max(0, ...results.filter((r) => readingOf(r.reading).lateEffects).map((r) => r.endedAt));
    await sleep(lastLateCall + Number(process.env.SIM_HANG_MS ?? 2500) + DEFAULT_PROFILE.lateEffectMs + 500 - Date.now());
    const settling = Date.now();
    await settle(sql, results);
    const settleMs = Date.now() - settling;
    const ledger = ledgerOf(await simulator.ledger(), new Set(results.map((r) => r.cashier.user)));

    const rows = await Promise.all(
      results.map(async (r) => {
        const money = await moneyOf(sql, ledger, r.basketId);
        return {
          reading: r.reading,
          case: r.case.name,
          outcomes: r.steps.map((s) => `${s.op}: ${s.outcome.kind} (${s.ms} ms, ${s.outcome.attempts} sent)`).join(', '),
          charges: money.charges,
          refunds: money.refunds,
          amounts: money.amounts,
          ms: r.ms,
          mismatches: r.steps.map(matchesMoney).filter(Boolean),
          unexpected: finalKinds(r).filter((kind) => !expectedKinds(r).includes(kind)),
        };
      }),
    );
    writeTable(rows, `traffic ${seconds(trafficMs)}, settling ${seconds(settleMs)}, in all ${seconds(Date.now() - started)}`);

    // Money: no basket charged twice, every charge of the order's total, and the ledger's own checks over all of it.
    expect(rows.filter((row) => row.charges > 1 || row.amounts.some((a) => a !== TOTAL))).toEqual([]);
    expect(await ledgerProblems(ledger, sql)).toEqual(NO_MONEY_PROBLEMS);
    // Every outcome matched the money when it was reported, and each case ended as its faults say it must.
    expect(rows.filter((row) => row.mismatches.length > 0 || row.unexpected.length > 0)).toEqual([]);
    // Unknown payments were reported as such, never as failures: their orders wait for a person.
    const unknowns = results.filter((r) => finalKinds(r).includes('unknown')).map((r) => r.basketId);
    if (unknowns.length > 0) {
      const states = await sql<{ state: string }[]>`select state from orders where basket_id in ${sql(unknowns)}`;
      expect(states.filter((s) => s.state !== 'unknown')).toEqual([]);
    }
    expect(results.length).toBe(work.length);
  }, 120_000);
});

/** The part of the simulator's ledger that is these users' (the stack serves the other test files at the same time). */
function ledgerOf(ledger: Ledger, users: Set<string>): Ledger {
  const payments = ledger.payments.filter((p) => users.has(p.user_id));
  const paymentIds = new Set(payments.map((p) => p.id));
  return {
    ...ledger,
    orders: ledger.orders.filter((o) => users.has(o.user_id)),
    payments,
    refunds: ledger.refunds.filter((r) => paymentIds.has(r.payment_id)),
    calls: ledger.calls.filter((c) => c.user !== null && users.has(c.user)),
  };
}

const readingOf = (name: string) => UPSTREAM_READINGS[name as keyof typeof UPSTREAM_READINGS] as Partial<UpstreamProfile>;

/** The outcomes a case ends with: its last step's, or every step's when they ran side by side. */
const finalKinds = (r: Result): OutcomeKind[] => (r.case.parallel ? r.steps : r.steps.slice(-1)).map((s) => s.outcome.kind);

/**
 * What a case may end as. Where the upstream leaves a share of its changing
 * calls unanswered (late effects), any case may also end with an unknown
 * payment, nothing paid, or undecided: what matters there is the money.
 */
function expectedKinds(r: Result): OutcomeKind[] {
  const expected = Array.isArray(r.case.expect) ? r.case.expect : r.case.expect[r.variant];
  return readingOf(r.reading).lateEffects ? [...expected, 'unknown', 'cancelled', 'retry-later'] : expected;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function writeTable(
  rows: Array<{ reading: string; case: string; outcomes: string; charges: number; refunds: number; ms: number }>,
  times: string,
): void {
  const lines = [
    `client e2e: ${rows.length} cases; ${times}`,
    '',
    '| reading | case | outcomes | charges | refunds | ms |',
    '|---|---|---|---|---|---|',
    ...rows.map((row) => `| ${row.reading} | ${row.case} | ${row.outcomes} | ${row.charges} | ${row.refunds} | ${row.ms} |`),
  ];
  const file = path.join(os.tmpdir(), `client-e2e-table-${process.pid}.md`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  if (process.env.CLIENT_E2E_TABLE) console.log(`client e2e table: ${file}`);
}
