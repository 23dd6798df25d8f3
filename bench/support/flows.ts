/**
 * The four flows of the benchmark, each run as one cell (flow × fault profile ×
 * concurrency) against a freshly reset simulator started at the same seed:
 *
 * - floor: the upstream calls a checkout cannot avoid (POST /orders/, POST /payments/), sent straight to
 *   the simulator; the pay call alone is the floor of the prepared flow's pay step.
 * - naive: the original starter (catalogue, order, payment, PATCH; no retries, no timeouts).
 * - one-shot: POST /baskets/{id}/orders through our API (order and pay in one call).
 * - prepared: POST /baskets/{id}/orders {"pay": false}, a pause (the customer getting the card out,
 *   never timed), then POST /orders/{id}/payments.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_PRODUCTS, signDevToken, type Ledger, type LedgerCall, type SimulatorConfigPatch } from '../../dev/simulator';
import type { LedgerOrder } from '../../dev/simulator/state';
import { PostgresBasketRepository } from '../../lib/baskets/postgres-repository';
import { productFromUpstream } from '../../lib/catalogue/product';
import { ledgerProblems } from '../../tests/support/ledger';
import { sleep, type BenchStack, type PlannedLine } from './harness';
import { naiveCheckout } from './naive';
import { runPool, Slots } from './pool';
import { callsByUser, faultsDealt } from './simulator-admin';
import { countBy, summarize, type Summary } from './stats';
import { Cashier, describeError, describeOutcome, isNotFound, type TerminalPolicy } from './cashier';
import type { Outcome } from '../../client/src';

export const FLOWS = ['floor', 'naive', 'one-shot', 'prepared'] as const;
export type FlowName = (typeof FLOWS)[number];

export const FAULT_PROFILES = ['none', 'retry-safe', 'mixed'] as const;
export type FaultProfileName = (typeof FAULT_PROFILES)[number];

export const FAULT_PROFILE_LABELS: Record<FaultProfileName, string> = {
  none: 'no faults',
  'retry-safe': 'retry-safe faults',
  mixed: 'mixed faults',
};

/** The soak's split of faulted calls: 503 (before the effect), 500 after it, hang after it, connection reset. */
export const MIXED_SPLIT = { rate503: 0.4, rate500After: 0.25, rateHangAfter: 0.15, rateReset: 0.2 };

export function faultRates(
  profile: FaultProfileName,
  rate: number,
): { rate503: number; rate500After: number; rateHangAfter: number; rateReset: number } {
  switch (profile) {
    case 'none':
      return { rate503: 0, rate500After: 0, rateHangAfter: 0, rateReset: 0 };
    case 'retry-safe':
      return { rate503: rate, rate500After: 0, rateHangAfter: 0, rateReset: 0 };
    case 'mixed':
      return {
        rate503: rate * MIXED_SPLIT.rate503,
        rate500After: rate * MIXED_SPLIT.rate500After,
        rateHangAfter: rate * MIXED_SPLIT.rateHangAfter,
        rateReset: rate * MIXED_SPLIT.rateReset,
      };
  }
}

/** How one checkout ended, for every flow alike. */
export type CheckoutResult = 'paid' | 'declined' | 'unknown' | 'failed';

export interface TimedCheckout {
  user: string;
  /** The flow's number: floor = order + payment call; naive and one-shot = the whole request; prepared = prepare + pay. */
  ms: number;
  /** floor: the POST /payments/ call alone; prepared: the pay request alone. */
  payMs?: number;
  prepareMs?: number;
  result: CheckoutResult;
  /** "201 paid", "POST /orders/ → 500", "prepare: 503 UPSTREAM_UNAVAILABLE", … */
  outcome: string;
  orderId?: string;
  /** Our API only: requests the terminal sent (1 + same-key retries), prepare and pay together. */
  attempts?: number;
  /** Our API only: when (epoch ms) the final answer reached the terminal (the pay call's, for prepared). */
  repliedAt?: number;
}

export interface MoneyCheck {
  charged: number;
  doubleCharges: number;
  chargesUnknownToUs: number;
  wrongAmounts?: number;
  repeatedRefunds?: number;
  basketsWithTwoLiveOrders?: number;
}

/** Our flows: every checkout not paid or declined, and whether it is `unknown` only because its payment call was ambiguous. */
export interface NotPaidCheck {
  /** Orders `unknown` whose POST /payments/ ended in a 500, a hang or a reset (the only acceptable reason). */
  unknownWithAmbiguousPayment: number;
  /** Of those, how many the upstream did charge (the reconciler or a person settles them). */
  unknownActuallyCharged: number;
  /** Checkouts neither paid, declined nor unknown for that reason. */
  unexplained: Array<{ user: string; orderId?: string; answer: string; state?: string; paymentCalls: string[] }>;
}

/** Our flows: from the paid reply to the upstream order being completed (the simulator ledger's completed_at). */
export interface CompletionCheck {
  paid: number;
  /** Of the paid checkouts, those whose upstream order was completed by the time the bench stopped waiting. */
  completed: number;
  /** How long after the cell's last reply the bench waited for the completions (at most FlowContext.completionWaitMs). */
  waitedMs: number;
  /** completed_at − reply, per completed checkout (negative: completed before the terminal had its final answer). */
  ms?: Summary;
  samples?: number[];
}

export interface CellResult {
  flow: FlowName;
  faults: FaultProfileName;
  concurrency: number;
  /** DATABASE_CALL_DELAY_MS of the handlers that served the cell (0 for the floor and naive, which never reach them). */
  dbDelayMs: number;
  status: 'measured' | 'not run';
  /** Why a cell was not run, or what to know about it. */
  note?: string;
  orders: number;
  /** Wall time of the timed phase. */
  wallMs: number;
  ms?: Summary;
  payMs?: Summary;
  prepareMs?: Summary;
  /** Raw values (whole ms) for the chart and later analysis. */
  samples?: { ms: number[]; payMs?: number[] };
  paidOrDeclined: number;
  successRate: number;
  results: Record<CheckoutResult, number>;
  outcomes: Record<string, number>;
  terminalRetries?: number;
  upstream: {
    calls: number;
    faultsDealt: Record<string, number>;
    /** Naive and ours: per checkout, the POST /orders/ + POST /payments/ latency it waited for (ledger; a hang up to the caller's timeout). */
    waitMs?: Summary;
    /** ms minus waitMs, per checkout: what the flow adds above the upstream calls it made. */
    overheadMs?: Summary;
  };
  money?: MoneyCheck;
  notPaid?: NotPaidCheck;
  completion?: CompletionCheck;
}

export interface FlowTimeouts {
  /** UPSTREAM_CALL_TIMEOUT_MS: the floor waits a POST /orders/ this long, as the service does. */
  callMs: number;
  /** PAYMENT_TIMEOUT_MS: the floor waits a POST /payments/ this long, as the service does. */
  paymentMs: number;
  /** UPSTREAM_MAX_ATTEMPTS: the floor sends a 503 again at once, at most this many attempts in all. */
  maxAttempts: number;
}

export interface FlowContext {
  bench: BenchStack;
  seed: number;
  policy: TerminalPolicy;
  timeouts: FlowTimeouts;
  preparePauseMs: number;
  /** DATABASE_CALL_DELAY_MS of the handlers behind ctx.bench.apiUrl. */
  dbDelayMs: number;
  /** After a cell of ours, how long to wait at most for its paid orders to be completed upstream. */
  completionWaitMs: number;
  /** The simulator's config for a fault profile (seed included, so every cell starts the same PRNG sequence). */
  simConfig(faults: FaultProfileName): SimulatorConfigPatch;
}

/** A basket set up through our API for one checkout of one cell. */
export interface PreparedBasket {
  user: string;
  basketId: string;
  terminal: Cashier;
}

export const cellId = (faults: FaultProfileName, concurrency: number, flow: FlowName, dbDelayMs = 0) =>
  `${faults}/c${concurrency}/${flow}${dbDelayMs ? `/db${dbDelayMs}ms` : ''}`;
export const userOf = (flow: FlowName, faults: FaultProfileName, concurrency: number, seed: number, index: number, dbDelayMs = 0) =>
  `${flow}-${faults}-c${concurrency}${dbDelayMs ? `-db${dbDelayMs}` : ''}-${seed}-${index}@bench.example`;

const AMBIGUOUS_FAULTS = new Set(['500_after', 'hang_after', 'reset', 'reset_after']);
const isPost = (path: string) => (call: LedgerCall) => call.method === 'POST' && (call.path === `/${path}/` || call.path === `/${path}`);
const isOrderPost = isPost('orders');
const isPaymentPost = isPost('payments');

/** The order total the way the starter computes it (main units, cents rounded once). */
function orderTotal(lines: readonly PlannedLine[]): number {
  const byId = new Map(DEFAULT_PRODUCTS.map((product) => [product.id, product]));
  return (
    Math.round(
      100 *
        lines.reduce(
          (sum, line) => sum + byId.get(line.productId)!.price_unit * line.quantity * (1 + byId.get(line.productId)!.vat_rate),
          0,
        ),
    ) / 100
  );
}

function tally(checkouts: readonly TimedCheckout[]): Pick<CellResult, 'paidOrDeclined' | 'successRate' | 'results' | 'outcomes'> {
  const results: Record<CheckoutResult, number> = { paid: 0, declined: 0, unknown: 0, failed: 0 };
  for (const checkout of checkouts) results[checkout.result]++;
  const paidOrDeclined = results.paid + results.declined;
  return {
    paidOrDeclined,
    successRate: checkouts.length ? paidOrDeclined / checkouts.length : 0,
    results,
    outcomes: countBy(checkouts, (checkout) => checkout.outcome),
  };
}

function timing(checkouts: readonly TimedCheckout[]): Pick<CellResult, 'ms' | 'payMs' | 'prepareMs' | 'samples'> {
  const pays = checkouts.filter((c) => c.payMs !== undefined).map((c) => c.payMs!);
  const prepares = checkouts.filter((c) => c.prepareMs !== undefined).map((c) => c.prepareMs!);
  return {
    ms: summarize(checkouts.map((c) => c.ms)),
    ...(pays.length ? { payMs: summarize(pays) } : {}),
    ...(prepares.length ? { prepareMs: summarize(prepares) } : {}),
    samples: { ms: checkouts.map((c) => Math.round(c.ms)), ...(pays.length ? { payMs: pays.map(Math.round) } : {}) },
  };
}

/** Per checkout, what it waited on the upstream's POST /orders/ and POST /payments/ (a hang counted up to the caller's own timeout). */
function upstreamWait(
  ledger: Ledger,
  checkouts: readonly TimedCheckout[],
  caps: { orderMs: number; paymentMs: number },
): Pick<CellResult['upstream'], 'waitMs' | 'overheadMs'> {
  const byUser = callsByUser(ledger);
  const waits = checkouts.map((checkout) =>
    (byUser.get(checkout.user) ?? []).reduce(
      (sum, call) =>
        sum +
        (isOrderPost(call) ? Math.min(call.latencyMs, caps.orderMs) : isPaymentPost(call) ? Math.min(call.latencyMs, caps.paymentMs) : 0),
      0,
    ),
  );
  return { waitMs: summarize(waits), overheadMs: summarize(checkouts.map((checkout, index) => checkout.ms - waits[index])) };
}

async function startCell(ctx: FlowContext, faults: FaultProfileName): Promise<void> {
  await ctx.bench.sim.reset();
  await ctx.bench.sim.configure(ctx.simConfig(faults));
}

type Extra = Partial<Omit<CellResult, 'upstream'>> & { upstream?: Pick<CellResult['upstream'], 'waitMs' | 'overheadMs'> };

function finish(
  flow: FlowName,
  faults: FaultProfileName,
  concurrency: number,
  checkouts: TimedCheckout[],
  wallMs: number,
  ledger: Ledger,
  extra: Extra = {},
): CellResult {
  return {
    flow,
    faults,
    concurrency,
    dbDelayMs: 0,
    status: 'measured',
    orders: checkouts.length,
    wallMs: Math.round(wallMs),
    ...timing(checkouts),
    ...tally(checkouts),
    ...extra,
    upstream: { calls: ledger.calls.length, faultsDealt: faultsDealt(ledger), ...extra.upstream },
  };
}

// ---------------------------------------------------------------------------------------------- floor

type CallOutcome = { status: number; body: any; ms: number } | { error: string; ms: number };

/**
 * One upstream call as the cheapest correct client would send it: a 503 (before any effect) is sent
 * again at once, without backoff, up to `maxAttempts`; anything else is final. Waits at most `timeoutMs`
 * per attempt, the service's own timeout for that call.
 */
async function floorCall(url: string, token: string, body: unknown, timeoutMs: number, maxAttempts: number): Promise<CallOutcome> {
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'x-auth-user': token, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      if (response.status === 503 && attempt < maxAttempts) continue;
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body: parsed, ms: performance.now() - started };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      return {
        error: (error as Error).name === 'TimeoutError' ? 'timeout' : `connection lost${cause?.code ? ` (${cause.code})` : ''}`,
        ms: performance.now() - started,
      };
    }
  }
}

export async function runFloor(
  ctx: FlowContext,
  faults: FaultProfileName,
  concurrency: number,
  baskets: readonly PlannedLine[][],
): Promise<CellResult> {
  const users = baskets.map((_, index) => userOf('floor', faults, concurrency, ctx.seed, index));
  const tokens = await Promise.all(users.map((user) => signDevToken(ctx.bench.stack.jwtSecret, user)));
  await startCell(ctx, faults);
  const { callMs, paymentMs, maxAttempts } = ctx.timeouts;
  const started = performance.now();
  const checkouts = await runPool(baskets.length, concurrency, async (index): Promise<TimedCheckout> => {
    const user = users[index];
    const total = orderTotal(baskets[index]);
    const label = (step: string, outcome: CallOutcome) => `${step} → ${'error' in outcome ? outcome.error : outcome.status}`;
    const order = await floorCall(
      `${ctx.bench.sim.url}/orders/`,
      tokens[index],
      { total, order_id: randomUUID(), basket_id: randomUUID() },
      callMs,
      maxAttempts,
    );
    if ('error' in order || order.status >= 300) return { user, ms: order.ms, result: 'failed', outcome: label('POST /orders/', order) };
    const payment = await floorCall(
      `${ctx.bench.sim.url}/payments/`,
      tokens[index],
      { order_id: order.body.id, amount: total },
      paymentMs,
      maxAttempts,
    );
    const ms = order.ms + payment.ms;
    if ('error' in payment) return { user, ms, payMs: payment.ms, result: 'unknown', outcome: label('POST /payments/', payment) };
    if (payment.status === 402) return { user, ms, payMs: payment.ms, result: 'declined', outcome: 'declined' };
    if (payment.status < 300) return { user, ms, payMs: payment.ms, result: 'paid', outcome: 'paid' };
    return {
      user,
      ms,
      payMs: payment.ms,
      result: payment.status === 500 ? 'unknown' : 'failed',
      outcome: label('POST /payments/', payment),
    };
  });
  const wallMs = performance.now() - started;
  return finish('floor', faults, concurrency, checkouts, wallMs, await ctx.bench.sim.ledger());
}

// ---------------------------------------------------------------------------------------------- naive

export async function runNaive(
  ctx: FlowContext,
  faults: FaultProfileName,
  concurrency: number,
  baskets: readonly PlannedLine[][],
): Promise<CellResult> {
  const users = baskets.map((_, index) => userOf('naive', faults, concurrency, ctx.seed, index));
  const tokens = await Promise.all(users.map((user) => signDevToken(ctx.bench.stack.jwtSecret, user)));
  await startCell(ctx, faults);
  const started = performance.now();
  const runs = await runPool(baskets.length, concurrency, (index) =>
    naiveCheckout(ctx.bench.sim.url, tokens[index], users[index], baskets[index]),
  );
  const wallMs = performance.now() - started;
  const ledger = await ctx.bench.sim.ledger();
  const checkouts: TimedCheckout[] = runs.map((run) => ({
    user: run.user,
    ms: run.durationMs,
    result: run.outcome === 'ok' ? 'paid' : run.outcome === 'POST /payments/ → 402' ? 'declined' : 'failed',
    outcome: run.outcome,
  }));
  const charges = ledger.payments.filter((payment) => payment.status === 'completed' || payment.status === 'refunded');
  const confirmed = new Set(runs.filter((run) => run.paymentConfirmed).map((run) => run.user));
  return finish('naive', faults, concurrency, checkouts, wallMs, ledger, {
    money: {
      charged: charges.length,
      doubleCharges: Object.values(countBy(charges, (payment) => payment.order_id)).filter((count) => count > 1).length,
      // The starter keeps no record: a charge is "unknown to us" when it never saw its payment answer 201.
      chargesUnknownToUs: charges.filter((payment) => !confirmed.has(payment.user_id)).length,
    },
    // The starter has no timeouts: it waits out a hang.
    upstream: upstreamWait(ledger, checkouts, { orderMs: Infinity, paymentMs: Infinity }),
  });
}

// ---------------------------------------------------------------------------------------------- our API

/**
 * Untimed: one basket per checkout through our API, against a quiet upstream,
 * at `concurrency` (a terminal per basket, retrying what decides nothing).
 */
export async function setUpBaskets(
  bench: BenchStack,
  users: readonly string[],
  baskets: readonly PlannedLine[][],
  policy: TerminalPolicy,
  concurrency: number,
  onDone?: (done: number) => void,
): Promise<PreparedBasket[]> {
  return runPool(
    users.length,
    concurrency,
    async (index) => {
      const terminal = new Cashier(bench.apiUrl, await signDevToken(bench.stack.jwtSecret, users[index]), policy);
      const basket = await terminal.basketWith(baskets[index]);
      if ('failed' in basket) throw new Error(`basket setup for ${users[index]} failed: ${basket.failed}`);
      return { user: users[index], basketId: basket.basketId, terminal };
    },
    onDone,
  );
}

/**
 * Untimed and fast: the checkouts' baskets written straight to the database through the service's own
 * basket repository (what PUT item stores, priced from the simulator's catalogue), 4 at a time. Through
 * the API it would take ~2.5 requests per basket, minutes on a loaded machine; basket writes through the
 * API are timed on their own (measureBaskets).
 */
export async function seedBaskets(
  bench: BenchStack,
  users: readonly string[],
  baskets: readonly PlannedLine[][],
  policy: TerminalPolicy,
  onDone?: (done: number) => void,
): Promise<PreparedBasket[]> {
  const repository = new PostgresBasketRepository(bench.sql);
  const products = new Map(DEFAULT_PRODUCTS.map((product) => [product.id, productFromUpstream(product)]));
  return runPool(
    users.length,
    4,
    async (index) => {
      const user = users[index];
      const basket = await repository.create(user, randomUUID());
      for (const line of baskets[index]) {
        const product = products.get(line.productId)!;
        await repository.putLine(user, basket.id, {
          productId: product.id,
          productName: product.name,
          quantity: line.quantity,
          netUnitMinor: product.netUnitMinor,
          vatBasisPoints: product.vatBasisPoints,
        });
      }
      return { user, basketId: basket.id, terminal: new Cashier(bench.apiUrl, await signDevToken(bench.stack.jwtSecret, user), policy) };
    },
    onDone,
  );
}

/**
 * serverless-offline starts a worker per concurrent invocation of a function, and a cold one takes
 * seconds on a loaded machine. Before timing, `concurrency` simultaneous requests to each function the
 * flow calls, for orders and baskets that do not exist (404: nothing ordered, no upstream call); a
 * worker is marked idle before its answer leaves, so `concurrency` workers serve `concurrency`
 * terminals. Ramped 1, 2, 4, …: a stampede of cold starts on two loaded cores outlasts the function's
 * timeout. Workers idle for a minute are stopped, so every cell warms up again (instant when warm).
 */
export async function warmUp(
  bench: BenchStack,
  concurrency: number,
  functions: ReadonlyArray<'placeOrder' | 'payOrder' | 'getBasket' | 'setBasketItem'>,
): Promise<void> {
  const { pos } = new Cashier(bench.apiUrl, await signDevToken(bench.stack.jwtSecret, 'warmup@bench.example'), WARM_UP_POLICY);
  const notFound = (outcome: Outcome) =>
    outcome.kind === 'refused' && outcome.error.status === 404 ? undefined : `answered ${describeOutcome(outcome)}`;
  const readNotFound = (read: Promise<unknown>) =>
    read.then(
      () => 'found it',
      (error: unknown) => (isNotFound(error) ? undefined : `answered ${describeError(error)}`),
    );
  const requests = {
    placeOrder: () => pos.checkout(randomUUID()).then(notFound),
    payOrder: () => pos.pay(randomUUID()).then(notFound),
    getBasket: () => readNotFound(pos.getBasket(randomUUID())),
    setBasketItem: () => readNotFound(pos.setItem(randomUUID(), DEFAULT_PRODUCTS[0].id, 1)),
  };
  for (const fn of functions) {
    for (let size = 1; ; size = Math.min(concurrency, 2 * size)) {
      const problems = await Promise.all(Array.from({ length: size }, requests[fn]));
      const unexpected = problems.find((problem) => problem !== undefined);
      if (unexpected) throw new Error(`warm-up of ${fn} ${unexpected}, expected 404`);
      if (size >= concurrency) break;
    }
  }
}

/** Warm-up requests and probes: a 404 comes at once; anything else is a problem worth a few seconds' retries at most. */
const WARM_UP_POLICY: TerminalPolicy = { budgetMs: 10_000 };

/** The fastest of `times` GET /baskets/{unknown id} (404 after one database read): a probe that DATABASE_CALL_DELAY_MS reached the handlers. */
export async function fastestBasketRead(bench: BenchStack, times = 5): Promise<number> {
  const { pos } = new Cashier(bench.apiUrl, await signDevToken(bench.stack.jwtSecret, 'probe@bench.example'), WARM_UP_POLICY);
  let fastest = Infinity;
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    const error = await pos.getBasket(randomUUID()).then(
      () => new Error('found it'),
      (failure: unknown) => failure,
    );
    fastest = Math.min(fastest, performance.now() - started);
    if (!isNotFound(error)) throw new Error(`GET /baskets/{unknown id} answered ${describeError(error)}, expected 404`);
  }
  return fastest;
}

/**
 * Untimed, against a quiet upstream: `baskets.length` simultaneous real checkouts of each of our flows, one per
 * worker, so every worker has run the whole checkout path (database statements, upstream client, sealing)
 * before a timed cell: a worker's first checkout is several times slower on a loaded machine.
 */
export async function warmCheckouts(
  ctx: FlowContext,
  flows: ReadonlyArray<'one-shot' | 'prepared'>,
  baskets: Record<'one-shot' | 'prepared', readonly PreparedBasket[]>,
): Promise<void> {
  const orderIds: string[] = [];
  for (const flow of flows) {
    const outcomes = await Promise.all(
      baskets[flow].map(async ({ basketId, terminal }): Promise<Outcome> => {
        if (flow === 'one-shot') return terminal.pos.checkout(basketId);
        const prepared = await terminal.pos.prepare(basketId);
        return prepared.kind === 'prepared' ? terminal.pos.pay(prepared.orderId) : prepared;
      }),
    );
    const unpaid = outcomes.find((outcome) => outcome.kind !== 'paid');
    if (unpaid) throw new Error(`warm-up checkout (${flow}) answered ${describeOutcome(unpaid)}`);
    orderIds.push(...outcomes.map((outcome) => (outcome.kind === 'paid' ? outcome.orderId : '')));
  }
  await settle(ctx.bench, orderIds, 10_000);
}

function resultOf(outcome: Outcome): CheckoutResult {
  if (outcome.kind === 'paid' || outcome.kind === 'declined' || outcome.kind === 'unknown') return outcome.kind;
  return 'failed';
}

/** Waits (up to capMs) until no order of the cell still awaits its completion after the reply, so none spills into the next cell. */
async function settle(bench: BenchStack, orderIds: string[], capMs = 2000): Promise<void> {
  const ids = orderIds.filter((id) => /^[0-9a-f-]{36}$/.test(id));
  if (ids.length === 0) return;
  const giveUpAt = Date.now() + capMs;
  while (Date.now() < giveUpAt) {
    const [row] = await bench.sql<
      { n: number }[]
    >`select count(*)::int as n from orders where id::text in ${bench.sql(ids)} and state in ('paid', 'paying')`;
    if (row.n === 0) return;
    await sleep(100);
  }
}

/** Money invariants (tests/support/ledger.ts) and, for every checkout not paid or declined, whether it is unknown only because its payment call was ambiguous. */
async function checkOurs(
  bench: BenchStack,
  ledger: Ledger,
  checkouts: readonly TimedCheckout[],
): Promise<{ money: MoneyCheck; notPaid: NotPaidCheck }> {
  const problems = await ledgerProblems(ledger, bench.sql);
  const charges = ledger.payments.filter((payment) => payment.status === 'completed' || payment.status === 'refunded');
  const byUser = callsByUser(ledger);
  const orderIds = checkouts.map((c) => c.orderId).filter((id): id is string => id !== undefined && /^[0-9a-f-]{36}$/.test(id));
  const rows = orderIds.length
    ? await bench.sql<
        { id: string; state: string; upstream_id: string }[]
      >`select id::text, state, coalesce(upstream_order_id, id::text) as upstream_id from orders where id::text in ${bench.sql(orderIds)}`
    : [];
  const orderOf = new Map(rows.map((row) => [row.id, row]));
  const chargedUpstream = new Set(charges.map((payment) => payment.order_id));
  const notPaid: NotPaidCheck = { unknownWithAmbiguousPayment: 0, unknownActuallyCharged: 0, unexplained: [] };
  for (const checkout of checkouts) {
    if (checkout.result === 'paid' || checkout.result === 'declined') continue;
    const order = checkout.orderId ? orderOf.get(checkout.orderId) : undefined;
    const paymentCalls = (byUser.get(checkout.user) ?? []).filter(isPaymentPost);
    const ambiguous = paymentCalls.some(
      (call) => (call.fault !== null && AMBIGUOUS_FAULTS.has(call.fault)) || call.status === 500 || call.status === 0,
    );
    if (order?.state === 'unknown' && ambiguous) {
      notPaid.unknownWithAmbiguousPayment++;
      if (chargedUpstream.has(order.upstream_id)) notPaid.unknownActuallyCharged++;
    } else {
      notPaid.unexplained.push({
        user: checkout.user,
        orderId: checkout.orderId,
        answer: checkout.outcome,
        state: order?.state,
        paymentCalls: paymentCalls.map((call) => `${call.status}${call.fault ? ` ${call.fault}` : ''}`),
      });
    }
  }
  return {
    money: {
      charged: charges.length,
      doubleCharges: problems.doubleCharges.length,
      chargesUnknownToUs: problems.chargesUnknownToUs.length,
      wrongAmounts: problems.wrongAmounts.length,
      repeatedRefunds: problems.repeatedRefunds.length,
      basketsWithTwoLiveOrders: problems.basketsWithTwoLiveOrders.length,
    },
    notPaid,
  };
}

/**
 * Waits (up to ctx.completionWaitMs) until every paid checkout's upstream order is completed, reading the
 * simulator's ledger, whoever completes it (the paying process after its reply, another function, the
 * reconciler); returns the last ledger read and, per paid checkout, completed_at − the terminal's reply.
 * A checkout's upstream order is its user's first completed one (every bench checkout has its own user).
 */
async function awaitCompletions(
  ctx: FlowContext,
  checkouts: readonly TimedCheckout[],
): Promise<{ ledger: Ledger; completion: CompletionCheck }> {
  const paid = checkouts.filter((c) => c.result === 'paid' && c.repliedAt !== undefined);
  const lastReply = Math.max(0, ...paid.map((c) => c.repliedAt!));
  for (;;) {
    const ledger = await ctx.bench.sim.ledger();
    const completedAt = new Map<string, number>();
    for (const order of ledger.orders as LedgerOrder[]) {
      if (order.completed_at === undefined) continue;
      const at = Date.parse(order.completed_at);
      completedAt.set(order.user_id, Math.min(at, completedAt.get(order.user_id) ?? Infinity));
    }
    const done = paid.filter((c) => completedAt.has(c.user));
    const waitedMs = Math.max(0, Date.now() - lastReply);
    if (done.length === paid.length || waitedMs >= ctx.completionWaitMs) {
      const samples = done.map((c) => completedAt.get(c.user)! - c.repliedAt!);
      return {
        ledger,
        completion: { paid: paid.length, completed: done.length, waitedMs, ...(samples.length ? { ms: summarize(samples), samples } : {}) },
      };
    }
    await sleep(100);
  }
}

async function finishOurs(
  ctx: FlowContext,
  flow: FlowName,
  faults: FaultProfileName,
  concurrency: number,
  checkouts: TimedCheckout[],
  wallMs: number,
): Promise<CellResult> {
  await settle(
    ctx.bench,
    checkouts.map((c) => c.orderId).filter((id): id is string => id !== undefined),
  );
  const { ledger, completion } = await awaitCompletions(ctx, checkouts);
  const { money, notPaid } = await checkOurs(ctx.bench, ledger, checkouts);
  const wait = upstreamWait(ledger, checkouts, { orderMs: ctx.timeouts.callMs, paymentMs: ctx.timeouts.paymentMs });
  return finish(flow, faults, concurrency, checkouts, wallMs, ledger, {
    dbDelayMs: ctx.dbDelayMs,
    money,
    notPaid,
    completion,
    terminalRetries: checkouts.reduce((sum, c) => sum + (c.attempts ?? 1) - (flow === 'prepared' ? 2 : 1), 0),
    upstream: wait,
  });
}

export async function runOneShot(
  ctx: FlowContext,
  faults: FaultProfileName,
  concurrency: number,
  baskets: readonly PreparedBasket[],
): Promise<CellResult> {
  await ctx.bench.sim.reset();
  await warmUp(ctx.bench, concurrency, ['placeOrder']);
  await ctx.bench.sim.configure(ctx.simConfig(faults));
  const started = performance.now();
  const checkouts = await runPool(baskets.length, concurrency, async (index): Promise<TimedCheckout> => {
    const { user, basketId, terminal } = baskets[index];
    const { outcome, attempts, durationMs } = await terminal.timed((pos) => pos.checkout(basketId));
    const repliedAt = Date.now();
    return {
      user,
      ms: durationMs,
      result: resultOf(outcome),
      outcome: describeOutcome(outcome),
      orderId: 'orderId' in outcome ? outcome.orderId : undefined,
      attempts,
      repliedAt,
    };
  });
  return finishOurs(ctx, 'one-shot', faults, concurrency, checkouts, performance.now() - started);
}

/** Why the prepared checkout cannot be measured here, from one prepare against a quiet upstream; undefined when it works. */
export async function probePrepared(bench: BenchStack, policy: TerminalPolicy, lines: PlannedLine[]): Promise<string | undefined> {
  const [basket] = await setUpBaskets(bench, ['prepared-probe@bench.example'], [lines], policy, 1);
  const outcome = await basket.terminal.pos.prepare(basket.basketId);
  if (outcome.kind === 'prepared') {
    // Not needed by the bench: give the upstream order back.
    await basket.terminal.pos.cancel(outcome.orderId).catch(() => undefined);
    return undefined;
  }
  if (outcome.kind === 'refused' && outcome.error.code === 'VALIDATION_FAILED') {
    return `the API here has no prepared checkout: POST /baskets/{id}/orders with {"pay": false} answered ${describeOutcome(outcome)} (this worktree predates it; merge main once it has it)`;
  }
  if (outcome.kind === 'paid')
    return `POST /baskets/{id}/orders with {"pay": false} answered ${describeOutcome(outcome)}, not prepared: the API ignores "pay": false`;
  return `POST /baskets/{id}/orders with {"pay": false} answered ${describeOutcome(outcome)}, not prepared`;
}

/**
 * Prepare, pause, pay. `concurrency` requests are in flight at any time, as in the other flows: twice as
 * many customers share that many request slots, so one customer's pause (never timed) overlaps another's
 * requests instead of idling the terminal.
 */
export async function runPrepared(
  ctx: FlowContext,
  faults: FaultProfileName,
  concurrency: number,
  baskets: readonly PreparedBasket[],
): Promise<CellResult> {
  await ctx.bench.sim.reset();
  await warmUp(ctx.bench, concurrency, ['placeOrder', 'payOrder']);
  await ctx.bench.sim.configure(ctx.simConfig(faults));
  const slots = new Slots(concurrency);
  const started = performance.now();
  const checkouts = await runPool(baskets.length, 2 * concurrency, async (index): Promise<TimedCheckout> => {
    const { user, basketId, terminal } = baskets[index];
    const prepare = await slots.hold(() => terminal.timed((pos) => pos.prepare(basketId)));
    if (prepare.outcome.kind !== 'prepared') {
      return {
        user,
        ms: prepare.durationMs,
        prepareMs: prepare.durationMs,
        result: 'failed',
        outcome: `prepare: ${describeOutcome(prepare.outcome)}`,
        orderId: 'orderId' in prepare.outcome ? prepare.outcome.orderId : undefined,
        attempts: prepare.attempts + 1,
      };
    }
    const orderId = prepare.outcome.orderId;
    await sleep(ctx.preparePauseMs);
    const pay = await slots.hold(() => terminal.timed((pos) => pos.pay(orderId)));
    const repliedAt = Date.now();
    return {
      user,
      ms: prepare.durationMs + pay.durationMs,
      prepareMs: prepare.durationMs,
      payMs: pay.durationMs,
      result: resultOf(pay.outcome),
      outcome: describeOutcome(pay.outcome),
      orderId,
      attempts: prepare.attempts + pay.attempts,
      repliedAt,
    };
  });
  return finishOurs(ctx, 'prepared', faults, concurrency, checkouts, performance.now() - started);
}

export function notRun(flow: FlowName, faults: FaultProfileName, concurrency: number, note: string, dbDelayMs = 0): CellResult {
  return {
    flow,
    faults,
    concurrency,
    dbDelayMs,
    status: 'not run',
    note,
    orders: 0,
    wallMs: 0,
    paidOrDeclined: 0,
    successRate: 0,
    results: { paid: 0, declined: 0, unknown: 0, failed: 0 },
    outcomes: {},
    upstream: { calls: 0, faultsDealt: {} },
  };
}

// ---------------------------------------------------------------------------------------------- baskets

/**
 * Basket write (PUT item) and read (GET basket) latency through our API: `concurrency` terminals, each on
 * its own basket, alternating a write and a read, `samples` of each in all. The upstream runs the no-fault
 * latency profile (a write prices from the catalogue, cached per container).
 */
export async function measureBaskets(
  ctx: FlowContext,
  concurrency: number,
  samples: number,
): Promise<{ concurrency: number; dbDelayMs: number; write: Summary; read: Summary }> {
  await startCell(ctx, 'none');
  const users = Array.from({ length: concurrency }, (_, index) => `basket-c${concurrency}-${ctx.seed}-${index}@bench.example`);
  const first = DEFAULT_PRODUCTS[0];
  const baskets = await setUpBaskets(
    ctx.bench,
    users,
    users.map(() => [{ productId: first.id, quantity: 1 }]),
    ctx.policy,
    concurrency,
  );
  await warmUp(ctx.bench, concurrency, ['setBasketItem', 'getBasket']);
  const perTerminal = Math.ceil(samples / concurrency);
  const writes: number[] = [];
  const reads: number[] = [];
  await runPool(concurrency, concurrency, async (index) => {
    const { terminal, basketId } = baskets[index];
    for (let i = 0; i < perTerminal; i++) {
      const product = DEFAULT_PRODUCTS[i % DEFAULT_PRODUCTS.length];
      let started = performance.now();
      await terminal.pos.setItem(basketId, product.id, 1 + (i % 3)).catch((error: unknown) => {
        throw new Error(`PUT item answered ${describeError(error)}`);
      });
      writes.push(performance.now() - started);
      started = performance.now();
      await terminal.pos.getBasket(basketId).catch((error: unknown) => {
        throw new Error(`GET basket answered ${describeError(error)}`);
      });
      reads.push(performance.now() - started);
    }
  });
  return { concurrency, dbDelayMs: ctx.dbDelayMs, write: summarize(writes), read: summarize(reads) };
}
