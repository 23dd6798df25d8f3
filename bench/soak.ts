/**
 * The soak run (`npm run soak [-- --orders 2000 --fault-rate 0.10 --seed S --concurrency C ...]`,
 * `--help` lists every flag). Terminals check out through our API against a
 * simulator dealing faults on every upstream call plus payment declines, with
 * the terminal client (client/), and do what a cashier does with each
 * outcome: one new payment after a decline, a stop on an unknown payment, a
 * resume of an operation the client left undecided. Afterwards the reconciler
 * settles every order (abandonment waits skipped by backdating updated_at of
 * orders still unsettled), and the money is checked against the upstream
 * ledger. Exits 1 when a money invariant is broken, 3 when orders stay unsettled.
 */
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_PROFILE, signDevToken, UPSTREAM_READINGS, type Ledger, type UpstreamReading } from '../dev/simulator';
import { randomUUID } from 'node:crypto';
import type { Outcome, OutcomeKind } from '../client/src';
import { mulberry32 } from '../dev/simulator/random';
import { backdate, ledgerProblems, type LedgerProblems } from '../tests/support/ledger';
import { readFlags } from './support/cli';
import {
  describeEnv,
  describeProfile,
  describeTrouble,
  handlerEnv,
  orderStates,
  planBaskets,
  reconcileOnce,
  reconcileUntil,
  RESULTS_DIR,
  runtimeTrouble,
  sleep,
  unsettledCount,
  UNSETTLED_STATES,
  watchDatabase,
  withBenchStack,
  writeResults,
  type BenchStack,
  type Profile,
} from './support/harness';
import { progress, runPool } from './support/pool';
import { faultsDealt } from './support/simulator-admin';
import { burstFlag, burstGoals, burstMoneyProblems, burstRows, burstSizes, runBurstCells } from './support/burst';
import { textTable } from './support/report';
import { countBy, percent, summarize } from './support/stats';
import { Cashier, claimsNothingCharged, describeOutcome, type TerminalPolicy, type TimedOutcome } from './support/cashier';

const flags = readFlags('soak', {
  orders: { help: 'checkouts to run', default: 2000, env: 'SOAK_ORDERS', min: 1, integer: true },
  'fault-rate': {
    help: 'share of upstream calls faulted, spread 40/25/15/20 over 503, 500_after, hang_after, reset',
    default: 0.1,
    env: 'SOAK_FAULT_RATE',
    min: 0,
    max: 1,
  },
  'decline-rate': { help: 'share of payments declined', default: 0.05, env: 'SOAK_DECLINE_RATE', min: 0, max: 1 },
  seed: { help: 'simulator seed (and basket contents)', default: 42, env: 'SOAK_SEED', min: 0, max: 0xffffffff, integer: true },
  concurrency: { help: 'terminals at once', default: 8, env: 'SOAK_CONCURRENCY', min: 1, max: 64, integer: true },
  'latency-median-ms': { help: 'upstream latency median', default: 60, min: 0 },
  'latency-p99-ms': { help: 'upstream latency p99', default: 600, min: 0 },
  'call-timeout-ms': {
    help: 'UPSTREAM_CALL_TIMEOUT_MS for the handlers',
    default: 2000,
    env: 'SOAK_CALL_TIMEOUT_MS',
    min: 50,
    max: 28000,
    integer: true,
  },
  'hang-ms': { help: 'how long a hang lasts; 0 = twice the call timeout', default: 0, min: 0 },
  'budget-ms': {
    help: "terminal: the client's budget for one operation (same-key retries and Retry-After waits within it)",
    default: 30_000,
    min: 1000,
    integer: true,
  },
  resumes: {
    help: 'terminal: times an operation the client left undecided (retry-later) is resumed, same key',
    default: 1,
    min: 0,
    integer: true,
  },
  snapshot: {
    help: 'run the handlers from a clean export of HEAD instead of this working tree (immune to edits made during the run)',
    default: 0,
    env: 'SOAK_SNAPSHOT',
    boolean: true,
  },
  'reconcile-every-seconds': {
    help: "also invoke the reconciler this often during the run (0: only serverless-offline's own every-minute schedule)",
    default: 15,
    min: 0,
  },
  reading: {
    help: "the upstream's reading of its contract the simulator plays (dev/simulator/profiles.ts)",
    choices: Object.keys(UPSTREAM_READINGS),
    default: 'default',
    env: 'SOAK_READING',
  },
  burst: burstFlag('SOAK_BURST'),
  racing: {
    help: 'share of checkouts raced by a second request of the same terminal: a cancel, a payment under a new key, or the same request again',
    default: 0,
    env: 'SOAK_RACING',
    min: 0,
    max: 1,
  },
});

const FAULT_SPLIT = { rate503: 0.4, rate500After: 0.25, rateHangAfter: 0.15, rateReset: 0.2 };
const rate = flags['fault-rate'];
const profile: Profile = {
  seed: flags.seed,
  latency: { medianMs: flags['latency-median-ms'], p99Ms: Math.max(flags['latency-p99-ms'], flags['latency-median-ms']) },
  faults: {
    rate503: rate * FAULT_SPLIT.rate503,
    rate500After: rate * FAULT_SPLIT.rate500After,
    rateHangAfter: rate * FAULT_SPLIT.rateHangAfter,
    rateReset: rate * FAULT_SPLIT.rateReset,
  },
  hangMs: flags['hang-ms'] || 2 * flags['call-timeout-ms'],
  declineRate: flags['decline-rate'],
};
const reading = { ...DEFAULT_PROFILE, ...UPSTREAM_READINGS[flags.reading as UpstreamReading] };
// Where the upstream's 503 may follow the effect, the handlers must read it as ambiguous as a 500.
const env = handlerEnv({
  UPSTREAM_CALL_TIMEOUT_MS: String(flags['call-timeout-ms']),
  ...(reading.unavailable === 'after_effect' ? { UPSTREAM_503_MEANS_NO_EFFECT: 'false' } : {}),
});
const policy: TerminalPolicy = { budgetMs: flags['budget-ms'] };

/** What the terminal was finally told: `no claim` for an answer that says nothing of the money (a 409 "already paid", say). */
type Belief = 'paid' | 'declined' | 'unknown' | 'not paid' | 'cancelled' | 'no claim' | 'setup failed';

/** A second request of the same terminal while its checkout runs. */
type RaceKind = 'cancel' | 'pay' | 'resend';
const RACE_KINDS: readonly RaceKind[] = ['cancel', 'pay', 'resend'];

interface Race {
  kind: RaceKind;
  /** How long after the checkout was sent the racer sends its request. */
  afterMs: number;
  /** The order it acted on (the basket's newest when it looked: maybe an earlier, failed one). */
  orderId?: string;
  answer?: string;
  outcome?: OutcomeKind;
}

interface Session {
  user: string;
  orderId?: string;
  setupFailure?: string;
  place?: { answer: string; attempts: number; ms: number };
  payAgain?: { answer: string; attempts: number; ms: number };
  race?: Race;
  checkoutMs?: number;
  belief: Belief;
}

/**
 * What an outcome tells the cashier about the order's money. Every outcome
 * the client reports is a claim the money checks hold it to: paid, declined,
 * unknown, cancelled (nothing charged); a retry-later whose last answer said
 * nothing was charged counts as "not paid" too. A refusal or an undecided
 * operation says nothing of the order's money.
 */
function beliefFrom(outcome: Outcome): Belief {
  switch (outcome.kind) {
    case 'paid':
    case 'declined':
    case 'unknown':
      return outcome.kind;
    case 'cancelled':
      return 'not paid';
    case 'retry-later':
      return claimsNothingCharged(outcome) ? 'not paid' : 'no claim';
    case 'prepared':
    case 'refunded':
    case 'refused':
      return 'no claim';
  }
}

/** What a terminal believes after several answers about one order: a charge or an unknown outcome it was told of outweighs a later answer that says less. */
function strongest(beliefs: Belief[]): Belief {
  for (const belief of ['paid', 'unknown', 'cancelled'] as Belief[]) if (beliefs.includes(belief)) return belief;
  return beliefs.filter((belief) => belief !== 'no claim').at(-1) ?? 'no claim';
}

/** Which checkouts are raced, by what and when: drawn from the seed, so a run replays. */
function raceFor(index: number): Race | undefined {
  const draw = mulberry32((flags.seed * 7919 + index) >>> 0);
  if (draw() >= flags.racing) return undefined;
  return { kind: RACE_KINDS[Math.floor(draw() * RACE_KINDS.length)], afterMs: Math.floor(draw() * 400) };
}

/** An operation of the client, resumed (same request, same key) as often as --resumes allows while it ends retry-later. */
async function withResumes(terminal: Cashier, operation: Parameters<Cashier['timed']>[0]): Promise<TimedOutcome> {
  let run = await terminal.timed(operation);
  for (let resumes = 0; run.outcome.kind === 'retry-later' && resumes < flags.resumes; resumes++) {
    const resume = run.outcome.resume;
    const next = await terminal.timed((pos) => pos.resume(resume));
    run = { outcome: next.outcome, durationMs: run.durationMs + next.durationMs, attempts: run.attempts + next.attempts };
  }
  return run;
}

/** The racer: finds the checkout's order (as a terminal's history shows it) and cancels it, pays it under a new key, or resends the checkout. */
async function runRace(
  terminal: Cashier,
  basketId: string,
  checkoutKey: string,
  race: Race,
): Promise<{ outcome: Outcome; orderId?: string } | undefined> {
  await sleep(race.afterMs);
  if (race.kind === 'resend') {
    const { outcome } = await withResumes(terminal, (pos) => pos.checkout(basketId, { key: checkoutKey }));
    return { outcome, orderId: outcome.orderId };
  }
  let orderId: string | undefined;
  for (let look = 0; look < 20 && !orderId; look++) {
    const history = await terminal.pos.listOrders({ basketId }).catch(() => undefined);
    orderId = history?.orders[0]?.id;
    if (!orderId) await sleep(50);
  }
  if (!orderId) return undefined;
  const found = orderId;
  if (race.kind === 'cancel') return { outcome: (await withResumes(terminal, (pos) => pos.cancel(found))).outcome, orderId };
  return { outcome: (await withResumes(terminal, (pos) => pos.pay(found))).outcome, orderId };
}

async function checkout(bench: BenchStack, index: number, lines: ReturnType<typeof planBaskets>[number]): Promise<Session> {
  const user = `soak-${flags.seed}-${index}@bench.example`;
  const terminal = new Cashier(bench.apiUrl, await signDevToken(bench.stack.jwtSecret, user), policy);
  const basket = await terminal.basketWith(lines);
  if ('failed' in basket) return { user, setupFailure: basket.failed, belief: 'setup failed' };

  const race = raceFor(index);
  const key = randomUUID();
  const [place, racedOn] = await Promise.all([
    withResumes(terminal, (pos) => pos.checkout(basket.basketId, { key })),
    race ? runRace(terminal, basket.basketId, key, race) : Promise.resolve(undefined),
  ]);
  const raced = racedOn?.outcome;
  const session: Session = {
    user,
    orderId: place.outcome.orderId ?? raced?.orderId,
    place: { answer: describeOutcome(place.outcome), attempts: place.attempts, ms: place.durationMs },
    checkoutMs: place.durationMs,
    belief: beliefFrom(place.outcome),
  };
  if (race)
    session.race = {
      ...race,
      orderId: racedOn?.orderId,
      answer: raced ? describeOutcome(raced) : 'no order to act on',
      outcome: raced?.kind,
    };
  // A race on another order of the basket (an earlier one, already failed) tells nothing of this one.
  const sameOrder = racedOn?.orderId === undefined || racedOn.orderId === session.orderId;
  const raceBelief: Belief | undefined =
    raced && sameOrder ? (race?.kind === 'cancel' && raced.kind === 'cancelled' ? 'cancelled' : beliefFrom(raced)) : undefined;
  if (raceBelief) session.belief = strongest([session.belief, raceBelief]);
  if (place.outcome.kind === 'declined' && session.belief === 'declined') {
    // The customer offers another card: one new payment (a new key).
    const orderId = place.outcome.orderId;
    const again = await withResumes(terminal, (pos) => pos.pay(orderId));
    session.payAgain = { answer: describeOutcome(again.outcome), attempts: again.attempts, ms: again.durationMs };
    session.checkoutMs = place.durationMs + again.durationMs;
    session.belief = strongest([...(raceBelief ? [raceBelief] : []), beliefFrom(again.outcome)]);
  }
  return session;
}

/** Keeps invoking the reconciler while the traffic runs, as the schedule would. */
function backgroundReconciler(lambdaUrl: string, everySeconds: number): { stop: () => Promise<number> } {
  let stopped = false;
  let runs = 0;
  const loop = (async () => {
    while (!stopped && everySeconds > 0) {
      await sleep(everySeconds * 1000);
      if (stopped) break;
      await reconcileOnce(lambdaUrl)
        .then(() => runs++)
        .catch((error) => console.log(`  background reconciler run failed: ${(error as Error).message.slice(0, 200)}`));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return runs;
    },
  };
}

interface MoneyCheck extends LedgerProblems {
  /** Extra: the terminal was told paid but the upstream holds no charge for the order. */
  toldPaidWithoutCharge: string[];
  /** Extra: a charge exists for an order whose terminal was finally told it was not paid (declined, cancelled, or a retry-later after "nothing was charged"). */
  chargedButToldNotPaid: string[];
  /** Extra: a racer's cancel was told cancelled, yet the order was charged. */
  cancelledButCharged: string[];
}

async function checkMoney(bench: BenchStack, ledger: Ledger, sessions: Session[]): Promise<MoneyCheck> {
  const problems = await ledgerProblems(ledger, bench.sql);
  const chargedUpstreamOrders = new Set(
    ledger.payments.filter((payment) => payment.status === 'completed' || payment.status === 'refunded').map((payment) => payment.order_id),
  );
  const ours = await bench.sql<
    { id: string; upstream_id: string }[]
  >`select id::text, coalesce(upstream_order_id, id::text) as upstream_id from orders`;
  const charged = new Set(ours.filter((order) => chargedUpstreamOrders.has(order.upstream_id)).map((order) => order.id));
  return {
    ...problems,
    toldPaidWithoutCharge: sessions.filter((s) => s.belief === 'paid' && s.orderId && !charged.has(s.orderId)).map((s) => s.orderId!),
    chargedButToldNotPaid: sessions
      .filter(
        (s) => (s.belief === 'declined' || s.belief === 'not paid' || s.belief === 'cancelled') && s.orderId && charged.has(s.orderId),
      )
      .map((s) => s.orderId!),
    cancelledButCharged: sessions
      .filter((s) => s.race?.kind === 'cancel' && s.race.outcome === 'cancelled' && s.race.orderId && charged.has(s.race.orderId))
      .map((s) => s.race!.orderId!),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = os.loadavg();
  console.log(
    `soak: ${flags.orders} checkouts, ${flags.concurrency} terminals, under the ${flags.reading} reading of the upstream's contract`,
  );
  console.log(`  reading: ${JSON.stringify(reading)}`);
  console.log(`  upstream profile: ${describeProfile(profile)}`);
  console.log(`  handler env: ${describeEnv(env)}`);
  console.log(
    `  terminal: the client (client/), ${policy.budgetMs} ms budget per operation, retry-later resumed ${flags.resumes} time(s); one new payment after a decline; stop on an unknown payment`,
  );
  console.log(
    `  settling: reconciler every ${flags['reconcile-every-seconds'] || '–'} s during the run (plus serverless-offline's every-minute schedule), then orders still unsettled are backdated (updated_at − 1 day) and the reconciler runs until none is left`,
  );
  console.log(`  machine: ${os.cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')}`);
  const baskets = planBaskets(flags.orders, flags.seed);

  const result = await withBenchStack('soak', env, { snapshot: flags.snapshot === 1 }, async (bench) => {
    await bench.sim.reset();
    await bench.sim.configure({ ...profile, profile: reading });
    const dbWatch = watchDatabase(bench.sql);
    const reconciler = backgroundReconciler(bench.lambdaUrl, flags['reconcile-every-seconds']);
    const trafficStarted = Date.now();
    const sessions = await runPool(
      baskets.length,
      flags.concurrency,
      (index) => checkout(bench, index, baskets[index]),
      progress('checkouts', baskets.length),
    );
    const trafficMs = Date.now() - trafficStarted;
    const backgroundRuns = await reconciler.stop();
    const statesAfterTraffic = await orderStates(bench.sql);

    console.log(`  traffic done in ${(trafficMs / 1000).toFixed(1)} s; states ${JSON.stringify(statesAfterTraffic)}; settling…`);
    // Completions the handlers started in the background, and whatever the upstream is still working on, land first.
    await sleep(2000 + (reading.lateEffects > 0 ? profile.hangMs + reading.lateEffectMs : 0));
    const backdated = await backdate(bench.sql, { interval: '1 day' });
    const settling = await reconcileUntil(bench.lambdaUrl, { done: async () => (await unsettledCount(bench.sql)) === 0, maxRuns: 400 });
    const stuckSessions = await dbWatch.stop();
    const ledger = await bench.sim.ledger();
    writeResults('soak-ledger.json', ledger);
    const money = await checkMoney(bench, ledger, sessions);
    const unknownRows = await bench.sql<
      { id: string }[]
    >`select coalesce(upstream_order_id, id::text) as id from orders where state = 'unknown'`;
    const chargedOrders = new Set(
      ledger.payments.filter((p) => p.status === 'completed' || p.status === 'refunded').map((p) => p.order_id),
    );
    const unknownOutcome = { orders: unknownRows.length, actuallyCharged: unknownRows.filter((row) => chargedOrders.has(row.id)).length };
    const finalStates = await orderStates(bench.sql);
    const unsettledLeft = await unsettledCount(bench.sql);
    const bursts = await runBurstCells(bench, burstSizes(flags.burst), flags.seed, profile.latency, (text) =>
      console.log(text.replace(/^/gm, '  burst: ')),
    );
    return {
      code: bench.code,
      sessions,
      trafficMs,
      backgroundRuns,
      statesAfterTraffic,
      backdated,
      settling,
      finalStates,
      unsettledLeft,
      money,
      unknownOutcome,
      bursts,
      upstream: {
        calls: ledger.calls.length,
        faultsDealt: faultsDealt(ledger),
        orderStatuses: countBy(ledger.orders, (o) => o.status),
        payments: countBy(ledger.payments, (p) => p.status),
      },
      stuckSessions,
    };
  });

  const { sessions, money } = result;
  const trouble = runtimeTrouble(path.join(RESULTS_DIR, 'soak-handlers.log'));
  const attempted = sessions.filter((s) => s.place).length;
  const place = summarize(sessions.filter((s) => s.place).map((s) => s.place!.ms));
  const whole = summarize(sessions.filter((s) => s.checkoutMs !== undefined).map((s) => s.checkoutMs!));
  const runtimeMs = Date.now() - started;
  const broken = Object.values(money).reduce((sum, ids) => sum + ids.length, 0) + burstMoneyProblems(result.bursts);
  const summary = {
    generatedAt: new Date().toISOString(),
    code: result.code,
    runtimeMs,
    trafficMs: result.trafficMs,
    machine: { cores: os.cpus().length, loadBefore, loadAfter: os.loadavg() },
    runtimeTrouble: trouble,
    orders: flags.orders,
    concurrency: flags.concurrency,
    profile,
    reading: { name: flags.reading, ...reading },
    handlerEnv: env,
    terminal: { client: 'client/ (@pos/basket-client)', ...policy, resumes: flags.resumes },
    settling: {
      method:
        'wait for late effects, backdate every time the guards compare against by 1 day after the traffic, then reconcile until none is unsettled',
      unsettledStates: UNSETTLED_STATES,
      backdated: result.backdated,
      backgroundReconcilerRuns: result.backgroundRuns,
      ...result.settling,
      unsettledLeft: result.unsettledLeft,
    },
    attempted,
    setupFailures: countBy(
      sessions.filter((s) => s.setupFailure),
      (s) => s.setupFailure!,
    ),
    terminalTold: countBy(sessions, (s) => s.belief),
    placeAnswers: countBy(
      sessions.filter((s) => s.place),
      (s) => s.place!.answer,
    ),
    payAgainAnswers: countBy(
      sessions.filter((s) => s.payAgain),
      (s) => s.payAgain!.answer,
    ),
    racing: flags.racing,
    races: Object.fromEntries(
      RACE_KINDS.map((kind) => [
        kind,
        countBy(
          sessions.filter((s) => s.race?.kind === kind),
          (s) => s.race!.answer!,
        ),
      ]),
    ),
    terminalRetries: sessions.reduce(
      (sum, s) => sum + (s.place ? s.place.attempts - 1 : 0) + (s.payAgain ? s.payAgain.attempts - 1 : 0),
      0,
    ),
    placeMs: place,
    checkoutMs: whole,
    statesAfterTraffic: result.statesAfterTraffic,
    finalStates: result.finalStates,
    unknownOutcome: result.unknownOutcome,
    money: Object.fromEntries(Object.entries(money).map(([key, ids]) => [key, { count: ids.length, ids: ids.slice(0, 20) }])),
    upstream: result.upstream,
    stuckDatabaseSessions: result.stuckSessions,
    bursts: result.bursts,
    burstGoals: burstGoals(result.bursts),
    slowestCheckouts: [...sessions]
      .filter((s) => s.place)
      .sort((a, b) => b.place!.ms - a.place!.ms)
      .slice(0, 10)
      .map((s) => ({ user: s.user, orderId: s.orderId, ...s.place, ms: Math.round(s.place!.ms) })),
  };
  writeResults(`soak-${flags.reading}.json`, summary);
  const file = writeResults('soak-latest.json', summary);

  const line = (label: string, value: unknown) =>
    console.log(`  ${label.padEnd(34)} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  console.log('\nsoak results');
  line('orders attempted', `${attempted} of ${flags.orders} (setup failures: ${flags.orders - attempted})`);
  line('final states', result.finalStates);
  line('terminal was told', summary.terminalTold);
  line('place answers', summary.placeAnswers);
  line('pay-again answers', summary.payAgainAnswers);
  line('double charges (must be 0)', money.doubleCharges.length);
  line('charges unknown to us (must be 0)', money.chargesUnknownToUs.length);
  line('wrong amounts (must be 0)', money.wrongAmounts.length);
  line('repeated refunds (must be 0)', money.repeatedRefunds.length);
  line('baskets, 2 live orders (must be 0)', money.basketsWithTwoLiveOrders.length);
  line('told paid, no charge (must be 0)', money.toldPaidWithoutCharge.length);
  line('charged, told not paid (must be 0)', money.chargedButToldNotPaid.length);
  line('cancelled, yet charged (must be 0)', money.cancelledButCharged.length);
  if (flags.racing > 0) line('races (kind: answers)', summary.races);
  line(
    'unknown-outcome orders',
    `${result.unknownOutcome.orders} (${result.unknownOutcome.actuallyCharged} of them actually charged upstream; ${percent(result.unknownOutcome.orders, attempted)} of orders)`,
  );
  line('place request ms (with retries)', `p50 ${place.p50}  p95 ${place.p95}  p99 ${place.p99}  max ${place.max}`);
  line('whole checkout ms (+ pay again)', `p50 ${whole.p50}  p95 ${whole.p95}  p99 ${whole.p99}  max ${whole.max}`);
  line('terminal retries (same key)', summary.terminalRetries);
  line('upstream', `${result.upstream.calls} calls; faults dealt ${JSON.stringify(result.upstream.faultsDealt)}`);
  line(
    'settling',
    `${result.backdated} orders backdated; ${result.settling.runs} reconciler runs in ${(result.settling.durationMs / 1000).toFixed(1)} s; unsettled left ${result.unsettledLeft}`,
  );
  line('stuck database sessions seen', result.stuckSessions.length);
  if (result.bursts.length) {
    console.log(`  burst cells (fault-free upstream, same reading):\n${textTable(burstRows(result.bursts))}`);
    for (const goal of summary.burstGoals) line(`burst goal: ${goal.status}`, `${goal.goal}: ${goal.measured} (target ${goal.target})`);
  }
  line(
    'runtime',
    `${(runtimeMs / 1000).toFixed(1)} s (traffic ${(result.trafficMs / 1000).toFixed(1)} s); load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} → ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const troubleNote = describeTrouble(trouble);
  if (troubleNote) console.log(`WARNING ${troubleNote}`);
  console.log(`\nwrote ${file}`);
  if (broken > 0) {
    console.error(`soak: MONEY INVARIANT BROKEN (${broken} problems; see money in ${file})`);
    process.exit(1);
  }
  if (result.unsettledLeft > 0) {
    console.error(`soak: ${result.unsettledLeft} orders still unsettled after ${result.settling.runs} reconciler runs`);
    process.exit(3);
  }
}

main().catch((error) => {
  console.error(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  process.exit(1);
});
