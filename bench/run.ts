/**
 * The ordering benchmark (`npm run bench [-- --orders N --seed S --concurrency C ...]`,
 * `--help` lists every flag). In one run, against the same seeded simulator
 * profile: the naive starter flow straight against the upstream, then our
 * POST /baskets/{id}/orders through serverless-offline with production
 * settings. Prints a table, writes bench/results/latest.json.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { signDevToken, type Ledger } from '../dev/simulator';
import { ledgerProblems } from '../tests/support/ledger';
import { readFlags } from './support/cli';
import {
  describeEnv,
  describeProfile,
  describeTrouble,
  handlerEnv,
  orderStates,
  planBaskets,
  QUIET_UPSTREAM,
  reconcileUntil,
  RESULTS_DIR,
  runtimeTrouble,
  watchDatabase,
  withBenchStack,
  writeResults,
  type BenchStack,
  type PlannedLine,
  type Profile,
  type StuckSession,
} from './support/harness';
import { naiveCheckout, type NaiveResult } from './support/naive';
import { progress, runPool } from './support/pool';
import { callsByUser, faultsDealt, floorMs } from './support/simulator-admin';
import { countBy, percent, summarize, table, type Summary } from './support/stats';
import { describeAnswer, Terminal, type RetryPolicy } from './support/terminal';

const flags = readFlags('bench', {
  orders: { help: 'orders per flow', default: 300, env: 'BENCH_ORDERS', min: 1, integer: true },
  seed: { help: 'simulator seed (and basket contents)', default: 42, env: 'BENCH_SEED', min: 0, max: 0xffffffff, integer: true },
  concurrency: { help: 'terminals ordering at once', default: 8, env: 'BENCH_CONCURRENCY', min: 1, max: 64, integer: true },
  'latency-median-ms': { help: 'upstream latency median', default: 60, env: 'SIM_LATENCY_MEDIAN_MS', min: 0 },
  'latency-p99-ms': { help: 'upstream latency p99', default: 600, env: 'SIM_LATENCY_P99_MS', min: 0 },
  'rate-503': { help: 'share of upstream calls answered 503 before any effect', default: 0.03, env: 'SIM_RATE_503', min: 0, max: 1 },
  'rate-500-after': { help: 'share answered 500 after the effect', default: 0.02, env: 'SIM_RATE_500_AFTER', min: 0, max: 1 },
  'rate-hang-after': { help: 'share that hang after the effect, then drop', default: 0.01, env: 'SIM_RATE_HANG_AFTER', min: 0, max: 1 },
  'rate-reset': { help: 'share whose connection is dropped before any effect', default: 0.01, env: 'SIM_RATE_RESET', min: 0, max: 1 },
  'hang-ms': { help: 'how long a hang lasts (above the call timeout)', default: 10_000, env: 'SIM_HANG_MS', min: 0 },
  'decline-rate': { help: 'share of payments declined', default: 0, env: 'SIM_DECLINE_RATE', min: 0, max: 1 },
  'max-retries': { help: 'our terminal: retries of a 503/504 with the same Idempotency-Key', default: 3, min: 0, integer: true },
  snapshot: { help: 'run the handlers from a clean export of HEAD instead of this working tree (immune to edits made during the run)', default: 0, env: 'BENCH_SNAPSHOT', boolean: true },
  'retry-after-cap-ms': { help: 'our terminal: longest wait honoured from Retry-After', default: 5000, min: 0 },
});

const profile: Profile = {
  seed: flags.seed,
  latency: { medianMs: flags['latency-median-ms'], p99Ms: Math.max(flags['latency-p99-ms'], flags['latency-median-ms']) },
  faults: { rate503: flags['rate-503'], rate500After: flags['rate-500-after'], rateHangAfter: flags['rate-hang-after'], rateReset: flags['rate-reset'] },
  hangMs: flags['hang-ms'],
  declineRate: flags['decline-rate'],
};
const env = handlerEnv();
const callTimeoutMs = Number(env.UPSTREAM_CALL_TIMEOUT_MS);
const retryPolicy: RetryPolicy = { maxRetries: flags['max-retries'], retryAfterCapMs: flags['retry-after-cap-ms'], backoffBaseMs: 250 };

interface FlowReport {
  orders: number;
  succeeded: number;
  successRate: number;
  /** The ordering request, until a final answer (ours: including the terminal's retries). */
  durationMs: Summary;
  /** Upstream POST /orders/ + POST /payments/ latency each checkout waited for. */
  floorMs: Summary;
  /** Duration minus floor, per checkout. */
  overheadMs: Summary;
  outcomes: Record<string, number>;
  charged: number;
  doubleCharges: number;
  chargesUnknownToUs: number;
  wrongAmounts?: number;
  upstreamCalls: number;
  faultsDealt: Record<string, number>;
  terminalRetries?: number;
  /** Orders left `unknown` (payment outcome unprovable), and how many of them the upstream did charge. */
  unknownOutcome?: { orders: number; actuallyCharged: number };
}

interface Timed {
  user: string;
  durationMs: number;
  outcome: string;
  ok: boolean;
}

function flowReport(results: Timed[], ledger: Ledger, waitCapMs: number): Omit<FlowReport, 'doubleCharges' | 'chargesUnknownToUs' | 'charged'> {
  const byUser = callsByUser(ledger);
  const floors = results.map((result) => floorMs(byUser.get(result.user), waitCapMs));
  const succeeded = results.filter((result) => result.ok).length;
  return {
    orders: results.length,
    succeeded,
    successRate: succeeded / results.length,
    durationMs: summarize(results.map((result) => result.durationMs)),
    floorMs: summarize(floors),
    overheadMs: summarize(results.map((result, index) => result.durationMs - floors[index])),
    outcomes: countBy(results, (result) => result.outcome),
    upstreamCalls: ledger.calls.length,
    faultsDealt: faultsDealt(ledger),
  };
}

async function runNaive(bench: BenchStack, baskets: PlannedLine[][]): Promise<{ report: FlowReport; results: NaiveResult[] }> {
  await bench.sim.reset();
  await bench.sim.configure(profile);
  const upstreamUrl = bench.sim.url;
  const results = await runPool(
    baskets.length,
    flags.concurrency,
    async (index) => {
      const user = `naive-${flags.seed}-${index}@bench.example`;
      return naiveCheckout(upstreamUrl, await signDevToken(bench.stack.jwtSecret, user), user, baskets[index]);
    },
    progress('naive', baskets.length),
  );
  const ledger = await bench.sim.ledger();
  const charges = ledger.payments.filter((payment) => payment.status === 'completed' || payment.status === 'refunded');
  const chargesPerOrder = countBy(charges, (payment) => payment.order_id);
  const confirmedUsers = new Set(results.filter((result) => result.paymentConfirmed).map((result) => result.user));
  const report: FlowReport = {
    ...flowReport(
      results.map((result) => ({ ...result, ok: result.outcome === 'ok' })),
      ledger,
      Infinity,
    ),
    charged: charges.length,
    doubleCharges: Object.values(chargesPerOrder).filter((count) => count > 1).length,
    // The starter keeps no record: a charge is "unknown to us" when the flow never saw its 201.
    chargesUnknownToUs: charges.filter((payment) => !confirmedUsers.has(payment.user_id)).length,
  };
  return { report, results };
}

interface OursResult extends Timed {
  orderId?: string;
  attempts: number;
}

async function runOurs(bench: BenchStack, baskets: PlannedLine[][]): Promise<{ report: FlowReport; results: OursResult[]; notPaid: unknown[]; stuckSessions: StuckSession[]; finalStates: Record<string, number>; reconciler: unknown; upstreamOrderStatuses: Record<string, number> }> {
  await bench.sim.reset();
  // Setup (baskets and items) against a quiet upstream, so every order reaches the timed phase and that phase starts at the seed.
  await bench.sim.configure({ ...QUIET_UPSTREAM, seed: profile.seed });
  const users = baskets.map((_, index) => `ours-${flags.seed}-${index}@bench.example`);
  const terminals = await Promise.all(users.map(async (user) => new Terminal(bench.apiUrl, await signDevToken(bench.stack.jwtSecret, user))));
  const setups = await runPool(baskets.length, flags.concurrency, (index) => terminals[index].basketWith(baskets[index], retryPolicy), progress('ours setup', baskets.length));
  const setupFailures = setups.filter((setup) => 'failed' in setup);
  if (setupFailures.length > 0) throw new Error(`basket setup failed ${setupFailures.length} times, e.g. ${(setupFailures[0] as { failed: string }).failed}`);

  // Warm-up: twice as many simultaneous ordering requests as terminals, for baskets that do not exist (404: no order,
  // no upstream call), so serverless-offline has warm workers and the timed phase does not measure their cold starts.
  const warmer = new Terminal(bench.apiUrl, await signDevToken(bench.stack.jwtSecret, `warmup-${flags.seed}@bench.example`));
  const warmups = await Promise.all(Array.from({ length: 2 * flags.concurrency }, () => warmer.send('POST', `/baskets/${randomUUID()}/orders`, { headers: { 'idempotency-key': randomUUID() } })));
  const unexpectedWarmup = warmups.find((answer) => answer.status !== 404);
  if (unexpectedWarmup) throw new Error(`warm-up request answered ${describeAnswer(unexpectedWarmup)}, expected 404`);

  await bench.sim.configure(profile);
  const dbWatch = watchDatabase(bench.sql);
  const results = await runPool(
    baskets.length,
    flags.concurrency,
    async (index): Promise<OursResult> => {
      const { basketId } = setups[index] as { basketId: string };
      const { answer, attempts, durationMs } = await terminals[index].postIdempotent(`/baskets/${basketId}/orders`, retryPolicy);
      return { user: users[index], durationMs, outcome: describeAnswer(answer), ok: answer.status === 201, orderId: answer.body?.id ?? answer.body?.error?.orderId, attempts };
    },
    progress('ours', baskets.length),
  );
  const timedLedger = await bench.sim.ledger();

  console.log('  reconciler: running it, then again until no paid order is left to complete');
  const reconciler = await reconcileUntil(bench.lambdaUrl, {
    minRuns: 1,
    maxRuns: 20,
    done: async () => (await bench.sql<{ n: number }[]>`select count(*)::int as n from orders where state in ('paid', 'refunding')`)[0].n === 0,
  });
  const stuckSessions = await dbWatch.stop();
  const finalLedger = await bench.sim.ledger();
  const problems = await ledgerProblems(finalLedger, bench.sql);
  const report: FlowReport = {
    ...flowReport(results, timedLedger, callTimeoutMs),
    charged: finalLedger.payments.filter((payment) => payment.status === 'completed' || payment.status === 'refunded').length,
    doubleCharges: problems.doubleCharges.length,
    chargesUnknownToUs: problems.chargesUnknownToUs.length,
    wrongAmounts: problems.wrongAmounts.length,
    terminalRetries: results.reduce((sum, result) => sum + result.attempts - 1, 0),
  };
  writeResults('bench-ours-ledger.json', finalLedger);
  const stateOf = new Map((await bench.sql<{ id: string; state: string }[]>`select id::text, state from orders`).map((row) => [row.id, row.state]));
  const chargedOrders = new Set(finalLedger.payments.filter((payment) => payment.status === 'completed' || payment.status === 'refunded').map((payment) => payment.order_id));
  const unknownIds = [...stateOf.entries()].filter(([, state]) => state === 'unknown').map(([id]) => id);
  report.unknownOutcome = { orders: unknownIds.length, actuallyCharged: unknownIds.filter((id) => chargedOrders.has(id)).length };
  const notPaid = results
    .filter((result) => !result.ok)
    .map((result) => ({ user: result.user, orderId: result.orderId, answer: result.outcome, durationMs: Math.round(result.durationMs), attempts: result.attempts, finalState: result.orderId ? stateOf.get(result.orderId) : undefined }));
  return { report, results, notPaid, stuckSessions, finalStates: await orderStates(bench.sql), reconciler, upstreamOrderStatuses: countBy(finalLedger.orders, (order) => order.status) };
}

function printReport(naive: FlowReport, ours: FlowReport): void {
  const row = (name: string, flow: FlowReport) => [
    name,
    flow.orders,
    percent(flow.succeeded, flow.orders),
    flow.durationMs.p50,
    flow.durationMs.p95,
    flow.durationMs.p99,
    flow.durationMs.max,
    flow.floorMs.p50,
    flow.floorMs.p95,
    flow.overheadMs.p50,
    flow.overheadMs.p95,
    flow.charged,
    flow.doubleCharges,
    flow.chargesUnknownToUs,
  ];
  console.log(
    `\n${table(['flow', 'orders', 'success', 'p50 ms', 'p95', 'p99', 'max', 'floor p50', 'floor p95', 'over p50', 'over p95', 'charged', 'double', 'unknown to us'], [row('naive', naive), row('ours', ours)])}`,
  );
  for (const [name, flow] of [
    ['naive', naive],
    ['ours', ours],
  ] as const) {
    console.log(`\n${name} outcomes: ${Object.entries(flow.outcomes).map(([outcome, count]) => `${outcome} ×${count}`).join(', ')}`);
    console.log(`${name} upstream: ${flow.upstreamCalls} calls, faults dealt ${JSON.stringify(flow.faultsDealt)}`);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = os.loadavg();
  console.log(`bench: ${flags.orders} orders per flow, ${flags.concurrency} terminals; ${os.cpus().length} cores, load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`  upstream profile: ${describeProfile(profile)}`);
  console.log(`  handler env: ${describeEnv(env)}`);
  if (profile.faults.rateHangAfter > 0 && profile.hangMs <= callTimeoutMs) console.log(`  note: hang ${profile.hangMs} ms is not above UPSTREAM_CALL_TIMEOUT_MS ${callTimeoutMs}; hangs will not hit our timeout`);
  const baskets = planBaskets(flags.orders, flags.seed);

  const outcome = await withBenchStack('bench', env, { snapshot: flags.snapshot === 1 }, async (bench) => {
    console.log('naive: the starter flow, straight against the upstream');
    const naive = await runNaive(bench, baskets);
    console.log('ours: POST /baskets/{id}/orders through the handlers');
    const ours = await runOurs(bench, baskets);
    return { naive, ours, code: bench.code };
  });
  const { naive, ours, code } = outcome;
  const trouble = runtimeTrouble(path.join(RESULTS_DIR, 'bench-handlers.log'));
  printReport(naive.report, ours.report);
  console.log(`\nours after the reconciler: order states ${JSON.stringify(ours.finalStates)}; upstream order statuses ${JSON.stringify(ours.upstreamOrderStatuses)}`);
  console.log(`ours wrong amounts: ${ours.report.wrongAmounts}; terminal retries (same key): ${ours.report.terminalRetries}; unknown-outcome orders: ${ours.report.unknownOutcome?.orders} (${ours.report.unknownOutcome?.actuallyCharged} actually charged upstream)`);
  const runtimeMs = Date.now() - started;
  const file = writeResults('latest.json', {
    generatedAt: new Date().toISOString(),
    code,
    runtimeMs,
    machine: { cores: os.cpus().length, loadBefore, loadAfter: os.loadavg() },
    runtimeTrouble: trouble,
    orders: flags.orders,
    concurrency: flags.concurrency,
    profile,
    handlerEnv: env,
    terminalRetryPolicy: retryPolicy,
    notes: {
      floor: 'sum of upstream POST /orders/ and POST /payments/ latencies per checkout from the simulator ledger; ours caps a hang at UPSTREAM_CALL_TIMEOUT_MS (its timeout), naive waits out the hang',
      naiveSuccess: 'all four starter steps answered 2xx',
      naiveChargesUnknownToUs: 'charges whose POST /payments/ the starter never saw answer 201',
      oursSuccess: 'final answer 201 (after same-key retries of 503/504)',
    },
    flows: { naive: naive.report, ours: ours.report },
    ours: { finalStates: ours.finalStates, upstreamOrderStatuses: ours.upstreamOrderStatuses, reconciler: ours.reconciler, notPaid: ours.notPaid, stuckDatabaseSessions: ours.stuckSessions },
  });
  console.log(`ours stuck database sessions seen: ${ours.stuckSessions.length}`);
  const troubleNote = describeTrouble(trouble);
  if (troubleNote) console.log(`WARNING ${troubleNote}`);
  console.log(`\nwrote ${file} (total ${(runtimeMs / 1000).toFixed(1)} s; load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
}

main().catch((error) => {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  process.exit(1);
});
