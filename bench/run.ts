/**
 * The benchmark (`npm run bench [-- --orders N --seed S --flows … --faults … --concurrency …]`,
 * `--help` lists every flag). In one run, each cell = flow × fault profile × concurrency, every cell on a
 * freshly reset simulator started at the same seed:
 *
 *   flows:   floor (the unavoidable upstream calls, sent straight to the simulator), naive (the starter),
 *            one-shot (POST /baskets/{id}/orders), prepared (prepare, pause, pay: two numbers)
 *   faults:  none; 10 % retry-safe (503 before any effect); 10 % mixed (the soak's 40/25/15/20 split)
 *   terminals: 1 and 8
 *
 * Our flows (and the basket timings) run once per --db-delay-ms (default 0 and 10): DATABASE_CALL_DELAY_MS
 * of the handlers, a wait per database round trip the RDS Data API would make (lib/db/delayed.ts), each
 * delay served by a serverless-offline instance of its own over the same database and simulator. Every
 * paid checkout of ours also gives the time from its reply to its upstream order being completed (the
 * simulator ledger's completed_at).
 *
 * plus basket write/read latency, and each function's zipped bundle size and module-load (cold start)
 * time. Checks the goals of issue 9 and prints them; writes bench/results/latest.{json,svg} and the
 * block of docs/benchmark.md between its markers (a run of part of the matrix writes partial.{json,svg,md}
 * and leaves that page).
 */
import os from 'node:os';
import path from 'node:path';
import { burstFlag, burstGoals, burstMoneyProblems, burstRows, burstSizes, runBurstCells, type BurstResult } from './support/burst';
import { readFlags } from './support/cli';
import { measureColdStarts, startPackaging, type PackagedBundles, type Packaging } from './support/bundles';
import { renderChart, formatMs } from './support/chart';
import {
  cellId,
  fastestBasketRead,
  FAULT_PROFILES,
  FAULT_PROFILE_LABELS,
  faultRates,
  FLOWS,
  MIXED_SPLIT,
  measureBaskets,
  notRun,
  probePrepared,
  runFloor,
  runNaive,
  runOneShot,
  runPrepared,
  seedBaskets,
  warmCheckouts,
  warmUp,
  userOf,
  type CellResult,
  type FlowContext,
  type FlowName,
  type PreparedBasket,
} from './support/flows';
import { evaluateGoals, type BasketTimings, type BundleReport } from './support/goals';
import {
  describeEnv,
  describeTrouble,
  handlerEnv,
  planBaskets,
  QUIET_UPSTREAM,
  RESULTS_DIR,
  runtimeTrouble,
  sleep,
  withBenchStack,
  writeResults,
  type BenchStack,
} from './support/harness';
import {
  basketRows,
  bundleRows,
  completionRows,
  dbDelayRows,
  goalRows,
  markdownTable,
  resultRows,
  textTable,
  updateReadme,
} from './support/report';
import type { TerminalPolicy } from './support/cashier';
import { writeFileSync } from 'node:fs';

const CONCURRENCIES = ['1', '2', '4', '8', '16', '32'] as const;

const flags = readFlags('bench', {
  orders: {
    help: 'checkouts per cell (flow × fault profile × concurrency); 30 keeps a run under 6 minutes on 2 loaded cores',
    default: 30,
    env: 'BENCH_ORDERS',
    min: 1,
    integer: true,
  },
  seed: { help: 'simulator seed (and basket contents)', default: 42, env: 'BENCH_SEED', min: 0, max: 0xffffffff, integer: true },
  flows: { help: 'flows to run (floor is what the others are compared with)', items: FLOWS, default: FLOWS.join(','), env: 'BENCH_FLOWS' },
  faults: { help: 'upstream fault profiles', items: FAULT_PROFILES, default: FAULT_PROFILES.join(','), env: 'BENCH_FAULTS' },
  concurrency: { help: 'terminals at once', items: CONCURRENCIES, default: '1,8', env: 'BENCH_CONCURRENCY' },
  'db-delay-ms': {
    help: 'DATABASE_CALL_DELAY_MS of the handlers: a wait before each database round trip the RDS Data API would make (lib/db/delayed.ts); our flows and the basket timings run once per value, each on a serverless-offline instance of its own; the lowest is the one the goals read',
    numbers: { min: 0, max: 1000, integer: true },
    default: '0,10',
    env: 'BENCH_DB_DELAY_MS',
  },
  'completion-wait-ms': {
    help: 'after each cell of ours, wait up to this long for its paid orders to be completed upstream (reply → completed is reported; later ones count as not completed)',
    default: 5000,
    min: 0,
    integer: true,
  },
  'fault-rate': {
    help: 'share of upstream calls faulted in the retry-safe (all 503 before any effect) and mixed (40/25/15/20 % over 503, 500_after, hang_after, reset) profiles',
    default: 0.1,
    env: 'BENCH_FAULT_RATE',
    min: 0,
    max: 1,
  },
  'latency-median-ms': { help: 'upstream latency median (lognormal)', default: 60, env: 'SIM_LATENCY_MEDIAN_MS', min: 0 },
  'latency-p99-ms': { help: 'upstream latency p99 (lognormal)', default: 600, env: 'SIM_LATENCY_P99_MS', min: 0 },
  'call-timeout-ms': {
    help: "UPSTREAM_CALL_TIMEOUT_MS for the handlers (the floor waits an order call as long); the soak's 2 s keeps a hang short",
    default: 2000,
    env: 'BENCH_CALL_TIMEOUT_MS',
    min: 50,
    max: 28000,
    integer: true,
  },
  'hang-ms': {
    help: 'how long a hang lasts before the connection drops; 0 = twice the call timeout',
    default: 0,
    env: 'SIM_HANG_MS',
    min: 0,
  },
  'decline-rate': {
    help: 'share of payments declined (a decline is a proper answer: counted with paid)',
    default: 0,
    env: 'SIM_DECLINE_RATE',
    min: 0,
    max: 1,
  },
  'prepare-pause-ms': {
    help: 'prepared flow: pause between prepare and pay (the customer getting the card out; never timed)',
    default: 300,
    min: 0,
    integer: true,
  },
  'basket-samples': {
    help: 'basket writes (PUT item) and reads (GET basket) timed through the API, per --basket-concurrency; 0 skips',
    default: 100,
    min: 0,
    integer: true,
  },
  'basket-concurrency': {
    help: 'terminals at once for the basket timings',
    items: CONCURRENCIES,
    default: '1',
    env: 'BENCH_BASKET_CONCURRENCY',
  },
  'cold-start-runs': {
    help: 'fresh Node processes per function timing the load of its bundle (the fastest is reported: the least disturbed by other load); 0 = sizes only',
    default: 1,
    min: 0,
    integer: true,
  },
  'skip-bundles': { help: 'do not build the deploy bundles (no sizes, no cold starts)', default: 0, boolean: true },
  'budget-ms': {
    help: "terminal: the client's budget for one checkout operation (client/: same-key retries, Retry-After honoured, within it)",
    default: 30_000,
    min: 1000,
    integer: true,
  },
  snapshot: {
    help: 'run the handlers (and build the bundles) from a clean export of HEAD instead of this working tree',
    default: 0,
    env: 'BENCH_SNAPSHOT',
    boolean: true,
  },
  burst: burstFlag('BENCH_BURST'),
  readme: {
    help: 'auto: a run of the whole matrix rewrites the results block of docs/benchmark.md; never: leave it',
    choices: ['auto', 'never'],
    default: 'auto',
    env: 'BENCH_README',
  },
});

const flows = FLOWS.filter((flow) => flags.flows.includes(flow));
const faultProfiles = FAULT_PROFILES.filter((profile) => flags.faults.includes(profile));
const concurrencies = flags.concurrency.map(Number).sort((a, b) => a - b);
const callTimeoutMs = flags['call-timeout-ms'];
const hangMs = flags['hang-ms'] || 2 * callTimeoutMs;
const latency = { medianMs: flags['latency-median-ms'], p99Ms: Math.max(flags['latency-p99-ms'], flags['latency-median-ms']) };
// Production defaults (lib/config.ts) but the soak's call timeout; the schedule off, so no reconciler run lands in a timed cell.
const dbDelays = flags['db-delay-ms'];
const env = handlerEnv({
  UPSTREAM_CALL_TIMEOUT_MS: String(callTimeoutMs),
  RECONCILER_SCHEDULE_ENABLED: 'false',
  DATABASE_CALL_DELAY_MS: String(dbDelays[0]),
});
/** The serverless-offline instance of each further delay (the first is the stack's own API). */
const variantOf = (dbDelayMs: number) => `db-delay-${dbDelayMs}ms`;
const variants = Object.fromEntries(dbDelays.slice(1).map((d) => [variantOf(d), { DATABASE_CALL_DELAY_MS: String(d) }]));
const policy: TerminalPolicy = { budgetMs: flags['budget-ms'] };
const fullMatrix =
  flows.length === FLOWS.length &&
  faultProfiles.length === FAULT_PROFILES.length &&
  concurrencies.includes(1) &&
  concurrencies.includes(8) &&
  !flags['skip-bundles'] &&
  flags['basket-samples'] > 0 &&
  burstSizes(flags.burst).includes(150) &&
  dbDelays.includes(0) &&
  dbDelays.includes(10);
const outputName = fullMatrix ? 'latest' : 'partial';

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const runStarted = Date.now();
/** "[+123 s]": where the run is, to see what the time goes to. */
const at = () => `[+${Math.round((Date.now() - runStarted) / 1000)} s]`;

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = os.loadavg();
  const loadSamples: number[] = [];
  const ourFlowCount = flows.filter((flow) => flow === 'one-shot' || flow === 'prepared').length;
  const cellCount = (flows.length + ourFlowCount * (dbDelays.length - 1)) * faultProfiles.length * concurrencies.length;
  console.log(
    `bench: ${flags.orders} checkouts per cell, ${cellCount} cells (flows ${flows.join(', ')}; faults ${faultProfiles.join(', ')}; terminals ${concurrencies.join(', ')}; our flows at DB call delays ${dbDelays.join(', ')} ms); ${os.cpus().length} cores, load average ${load()}`,
  );
  console.log(
    `  upstream: seed ${flags.seed}; latency lognormal median ${latency.medianMs} ms, p99 ${latency.p99Ms} ms; faulted profiles ${+(flags['fault-rate'] * 100).toFixed(2)} % of calls (mixed: 40/25/15/20 over 503, 500_after, hang_after, reset; hang ${hangMs} ms); declines ${+(flags['decline-rate'] * 100).toFixed(2)} %`,
  );
  console.log(`  handler env: ${describeEnv(env)}`);
  console.log(
    `  terminal: the client (client/), ${policy.budgetMs} ms budget per operation (same-key retries of 503/504/202/409 REQUEST_IN_PROGRESS and lost answers, Retry-After honoured); prepared: ${flags['prepare-pause-ms']} ms pause between prepare and pay (not timed)`,
  );
  if (!fullMatrix)
    console.log(`  part of the matrix only: results go to bench/results/${outputName}.{json,svg}; docs/benchmark.md is left as it is`);

  // The bundle build starts beside the stack (on a loaded machine two busy processes get twice the share of one),
  // but only for its first 35 s: beyond that serverless-offline could miss its 90 s start-up limit, so the
  // build is suspended until the stack is up.
  const packaging: Packaging | undefined = flags['skip-bundles'] ? undefined : startPackaging({ snapshot: flags.snapshot === 1 });
  const pauseBuild = packaging ? setTimeout(() => packaging.pause(), 35_000) : undefined;
  let bundles: BundleReport | undefined;
  let packaged: PackagedBundles | undefined;
  const baskets = planBaskets(flags.orders, flags.seed);

  try {
    const outcome = await withBenchStack('bench', env, { snapshot: flags.snapshot === 1, variants }, async (bench) => {
      clearTimeout(pauseBuild);
      packaging?.resume();
      const ctx: FlowContext = {
        bench,
        seed: flags.seed,
        policy,
        timeouts: { callMs: callTimeoutMs, paymentMs: Number(env.PAYMENT_TIMEOUT_MS), maxAttempts: Number(env.UPSTREAM_MAX_ATTEMPTS) },
        preparePauseMs: flags['prepare-pause-ms'],
        dbDelayMs: dbDelays[0],
        completionWaitMs: flags['completion-wait-ms'],
        simConfig: (faults) => ({
          seed: flags.seed,
          latency,
          faults: faultRates(faults, flags['fault-rate']),
          hangMs,
          declineRate: flags['decline-rate'],
        }),
      };
      /** The stack as seen through the handlers at one DB call delay, and the flows' context there. */
      const benchAt = (dbDelayMs: number): BenchStack =>
        dbDelayMs === dbDelays[0] ? bench : { ...bench, ...bench.variants[variantOf(dbDelayMs)] };
      const ctxAt = (dbDelayMs: number): FlowContext => ({ ...ctx, bench: benchAt(dbDelayMs), dbDelayMs });
      await bench.sim.reset();
      await bench.sim.configure({ ...QUIET_UPSTREAM, seed: flags.seed });

      let preparedMissing: string | undefined;
      if (flows.includes('prepared')) {
        preparedMissing = await probePrepared(bench, policy, baskets[0]);
        if (preparedMissing) console.log(`\nPREPARED FLOW NOT MEASURED: ${preparedMissing}\n`);
      }

      // Untimed setup: a basket per checkout of each of our cells, written through the basket repository.
      const ours = (['one-shot', 'prepared'] as const).filter((flow) => flows.includes(flow) && !(flow === 'prepared' && preparedMissing));
      const setups = new Map<string, PreparedBasket[]>();
      const total = ours.length * faultProfiles.length * concurrencies.length * dbDelays.length * baskets.length;
      if (total > 0) {
        const setupStarted = Date.now();
        for (const flow of ours)
          for (const faults of faultProfiles)
            for (const concurrency of concurrencies)
              for (const dbDelayMs of dbDelays) {
                const users = baskets.map((_, index) => userOf(flow, faults, concurrency, flags.seed, index, dbDelayMs));
                setups.set(cellId(faults, concurrency, flow, dbDelayMs), await seedBaskets(benchAt(dbDelayMs), users, baskets, policy));
              }
        console.log(`  ${at()} ${total} baskets set up in ${((Date.now() - setupStarted) / 1000).toFixed(1)} s (untimed)`);
      }

      // Untimed, beside the bundle build: the workers of the widest cells (each through a whole checkout)
      // and of the basket timings; then kept from going idle for a minute (serverless-offline stops them).
      const widest = Math.max(...concurrencies);
      const orderFunctions = [
        ...(ours.length ? (['placeOrder'] as const) : []),
        ...(ours.includes('prepared') ? (['payOrder'] as const) : []),
      ];
      const basketConcurrency = Math.max(...flags['basket-concurrency'].map(Number));
      const warmAll = async () => {
        for (const dbDelayMs of dbDelays) {
          if (orderFunctions.length) await warmUp(benchAt(dbDelayMs), widest, orderFunctions);
          if (flags['basket-samples'] > 0) await warmUp(benchAt(dbDelayMs), basketConcurrency, ['setBasketItem', 'getBasket']);
        }
      };
      await warmAll();
      if (ours.length) {
        for (const dbDelayMs of dbDelays) {
          const warmBaskets = async (flow: 'one-shot' | 'prepared') =>
            ours.includes(flow)
              ? seedBaskets(
                  benchAt(dbDelayMs),
                  Array.from({ length: widest }, (_, index) => `warmup-${flow}-db${dbDelayMs}-${flags.seed}-${index}@bench.example`),
                  Array.from({ length: widest }, (_, index) => baskets[index % baskets.length]),
                  policy,
                )
              : [];
          await warmCheckouts(ctxAt(dbDelayMs), ours, {
            'one-shot': await warmBaskets('one-shot'),
            prepared: await warmBaskets('prepared'),
          });
        }
      }
      if (dbDelays.length > 1) {
        // serverless-offline hands the handlers only the variables serverless.yml declares: check the delay got through.
        const fastest = new Map<number, number>();
        for (const dbDelayMs of dbDelays) fastest.set(dbDelayMs, await fastestBasketRead(benchAt(dbDelayMs)));
        for (const dbDelayMs of dbDelays.slice(1)) {
          const added = fastest.get(dbDelayMs)! - fastest.get(dbDelays[0])!;
          if (added < 0.8 * (dbDelayMs - dbDelays[0]))
            throw new Error(
              `DATABASE_CALL_DELAY_MS=${dbDelayMs} did not reach the handlers: the fastest GET /baskets/{unknown id} took ${formatMs(fastest.get(dbDelayMs)!)}, against ${formatMs(fastest.get(dbDelays[0])!)} at ${dbDelays[0]} ms`,
            );
        }
        console.log(
          `  ${at()} DB call delay reaches the handlers: fastest GET /baskets/{unknown id} ${dbDelays.map((d) => `${formatMs(fastest.get(d)!)} at ${d} ms`).join(', ')}`,
        );
      }
      console.log(
        `  ${at()} workers warm (${widest} per checkout function${dbDelays.length > 1 ? ` at each DB call delay, ${dbDelays.join(', ')} ms` : ''}, each through a whole checkout)`,
      );

      // Nothing timed may share the machine with the bundle build.
      if (packaging) {
        console.log('  waiting for serverless package --stage ci to finish (runs beside the untimed setup, never beside timing)');
        let built = false;
        const keepingWarm = (async () => {
          while (!built) {
            await Promise.race([sleep(20_000), packaging.done.catch(() => undefined)]);
            if (!built) await warmAll();
          }
        })();
        packaged = await packaging.done
          .finally(() => (built = true))
          .catch((error: Error) => {
            bundles = { zips: [], error: `serverless package failed: ${error.message.split('\n')[0]}` };
            console.log(`  ${bundles.error}`);
            return undefined;
          });
        await keepingWarm;
        if (packaged) console.log(`  ${at()} bundles built in ${(packaged.durationMs / 1000).toFixed(1)} s`);
      }

      const basketTimings: BasketTimings[] = [];
      if (flags['basket-samples'] > 0) {
        for (const dbDelayMs of dbDelays)
          for (const concurrency of flags['basket-concurrency'].map(Number).sort((a, b) => a - b)) {
            const timing = await measureBaskets(ctxAt(dbDelayMs), concurrency, flags['basket-samples']);
            basketTimings.push(timing);
            console.log(
              `  ${at()} baskets, ${concurrency} terminal(s), DB call delay ${dbDelayMs} ms: write p50 ${formatMs(timing.write.p50)} p95 ${formatMs(timing.write.p95)}; read p50 ${formatMs(timing.read.p50)} p95 ${formatMs(timing.read.p95)}`,
            );
          }
      }

      const cells: CellResult[] = [];
      // Concurrency outermost, widest first: serverless-offline stops workers idle for a minute, so the
      // 8-terminal cells run back to back, right after the warm-up above. Within a group the floor runs
      // right before our flows.
      const order: FlowName[] = ['floor', 'one-shot', 'prepared', 'naive'];
      // Our flows once per DB call delay; the floor and naive never reach our handlers, so once.
      for (const concurrency of [...concurrencies].reverse())
        for (const faults of faultProfiles)
          for (const flow of order.filter((f) => flows.includes(f)))
            for (const dbDelayMs of flow === 'one-shot' || flow === 'prepared' ? dbDelays : [0]) {
              loadSamples.push(os.loadavg()[0]);
              const label = `[${faults} c${concurrency}${flow === 'one-shot' || flow === 'prepared' ? ` db+${dbDelayMs}ms` : ''}] ${flow}`;
              const setup = () => setups.get(cellId(faults, concurrency, flow, dbDelayMs))!;
              let cell: CellResult;
              if (flow === 'prepared' && preparedMissing) cell = notRun(flow, faults, concurrency, preparedMissing, dbDelayMs);
              else if (flow === 'floor') cell = await runFloor(ctx, faults, concurrency, baskets);
              else if (flow === 'naive') cell = await runNaive(ctx, faults, concurrency, baskets);
              else if (flow === 'one-shot') cell = await runOneShot(ctxAt(dbDelayMs), faults, concurrency, setup());
              else cell = await runPrepared(ctxAt(dbDelayMs), faults, concurrency, setup());
              cells.push(cell);
              console.log(`  ${at()} ${label}: ${describeCell(cell, cells)}`);
            }
      // Last, so a burst's cold workers and queues touch no timed cell.
      const bursts = await runBurstCells(bench, burstSizes(flags.burst), flags.seed, latency, (text) =>
        console.log(`  ${at()} burst: ${text}`),
      );
      return { cells, basketTimings, bursts, code: bench.code };
    });

    if (packaged) {
      bundles = { zips: packaged.zips.map(({ fn, bytes }) => ({ fn, bytes })) };
      if (flags['cold-start-runs'] > 0) {
        console.log(
          `  ${at()} cold starts: loading each bundle in ${flags['cold-start-runs']} fresh Node process(es), one at a time (the stack is stopped)`,
        );
        bundles.coldStarts = await measureColdStarts(packaged, flags['cold-start-runs']).catch((error: Error) => {
          bundles!.error = `cold start timing failed: ${error.message.split('\n')[0]}`;
          console.log(`  ${bundles!.error}`);
          return undefined;
        });
      }
    }
    report(outcome, bundles, { started, loadBefore, loadSamples });
  } finally {
    clearTimeout(pauseBuild);
    packaging?.dispose();
  }
}

function describeCell(cell: CellResult, cells: CellResult[]): string {
  if (cell.status !== 'measured' || !cell.ms) return `not run (${cell.note})`;
  const floor = cells.find(
    (c) => c.faults === cell.faults && c.concurrency === cell.concurrency && c.flow === 'floor' && c.status === 'measured',
  );
  const vs = (value: number, against?: number) => (against ? ` (${(value / against).toFixed(2)} × floor)` : '');
  const parts = [
    `${cell.orders} in ${(cell.wallMs / 1000).toFixed(1)} s`,
    `p50 ${formatMs(cell.ms.p50)}${cell.flow === 'floor' ? '' : vs(cell.ms.p50, floor?.ms?.p50)}`,
    `p99 ${formatMs(cell.ms.p99)}`,
    ...(cell.payMs ? [`pay p50 ${formatMs(cell.payMs.p50)}${cell.flow === 'floor' ? '' : vs(cell.payMs.p50, floor?.payMs?.p50)}`] : []),
    `paid or declined ${cell.paidOrDeclined}/${cell.orders}`,
    ...(cell.upstream.overheadMs ? [`overhead above its upstream calls p50 ${formatMs(cell.upstream.overheadMs.p50)}`] : []),
    ...(cell.money ? [`double ${cell.money.doubleCharges}, unknown to us ${cell.money.chargesUnknownToUs}`] : []),
    ...(cell.completion
      ? [
          `completed upstream ${cell.completion.completed}/${cell.completion.paid} paid${cell.completion.ms ? `, reply → completed p50 ${formatMs(cell.completion.ms.p50)} p99 ${formatMs(cell.completion.ms.p99)}` : ''}`,
        ]
      : []),
    ...(cell.notPaid?.unexplained.length
      ? [`${cell.notPaid.unexplained.length} not paid for another reason than an ambiguous payment`]
      : []),
    `load ${os.loadavg()[0].toFixed(1)}`,
  ];
  return parts.join('; ');
}

function report(
  outcome: { cells: CellResult[]; basketTimings: BasketTimings[]; bursts: BurstResult[]; code: unknown },
  bundles: BundleReport | undefined,
  run: { started: number; loadBefore: number[]; loadSamples: number[] },
): void {
  // Reported fault profile by fault profile, 1 terminal before 8, whatever order they ran in.
  const allCells = [...outcome.cells].sort(
    (a, b) =>
      FAULT_PROFILES.indexOf(a.faults) - FAULT_PROFILES.indexOf(b.faults) || a.concurrency - b.concurrency || a.dbDelayMs - b.dbDelayMs,
  );
  // The goals, the main table and the chart read the lowest DB call delay (0 ms: the local stack as it is).
  const cells = allCells.filter((c) => c.dbDelayMs === dbDelays[0] || (c.flow !== 'one-shot' && c.flow !== 'prepared'));
  const basketTimings = outcome.basketTimings.filter((b) => (b.dbDelayMs ?? 0) === dbDelays[0]);
  const delayTable = dbDelays.length > 1 ? dbDelayRows(allCells) : undefined;
  const completions = completionRows(allCells);
  const trouble = runtimeTrouble(path.join(RESULTS_DIR, 'bench-handlers.log'));
  const goals = [...evaluateGoals(cells, basketTimings, bundles), ...burstGoals(outcome.bursts)];
  const results = resultRows(cells);
  const runtimeMs = Date.now() - run.started;
  const loadAfter = os.loadavg();
  const meanLoad = run.loadSamples.length ? run.loadSamples.reduce((a, b) => a + b, 0) / run.loadSamples.length : loadAfter[0];
  const machine = `${os.cpus().length} cores, load average (1 min) ${run.loadBefore[0].toFixed(1)} at the start, ${meanLoad.toFixed(1)} on average over the cells (max ${Math.max(...run.loadSamples, 0).toFixed(1)}), ${loadAfter[0].toFixed(1)} at the end`;

  console.log(`\n${textTable(results, (column) => column >= 3)}`);
  if (delayTable)
    console.log(`\nour flows at each DB call delay (a wait per Data API round trip):\n${textTable(delayTable, (column) => column >= 3)}`);
  console.log(`\nreply → upstream order completed (paid checkouts of ours):\n${textTable(completions, (column) => column >= 3)}`);
  console.log(`\nbaskets through the API:\n${textTable(basketRows(outcome.basketTimings))}`);
  if (outcome.bursts.length) console.log(`\nbursts (fault-free upstream):\n${textTable(burstRows(outcome.bursts))}`);
  if (bundles?.zips.length) console.log(`\nbundles (serverless package --stage ci):\n${textTable(bundleRows(bundles))}`);
  console.log(`\ngoals:\n${textTable(goalRows(goals), () => false)}`);
  const unexplained = allCells.flatMap(
    (c) => c.notPaid?.unexplained.map((u) => ({ cell: cellId(c.faults, c.concurrency, c.flow, c.dbDelayMs), ...u })) ?? [],
  );
  if (unexplained.length)
    console.log(
      `\nnot paid for another reason than an ambiguous payment (first 10):\n${unexplained
        .slice(0, 10)
        .map((u) => `  ${JSON.stringify(u)}`)
        .join('\n')}`,
    );

  const code = outcome.code as { commit?: string; source?: string; uncommittedChanges?: boolean };
  const when = new Date().toISOString();
  const settings = {
    ordersPerCell: flags.orders,
    seed: flags.seed,
    flows,
    faultProfiles: Object.fromEntries(faultProfiles.map((f) => [f, faultRates(f, flags['fault-rate'])])),
    mixedSplit: MIXED_SPLIT,
    concurrencies,
    latency,
    hangMs,
    declineRate: flags['decline-rate'],
    preparePauseMs: flags['prepare-pause-ms'],
    basketSamples: flags['basket-samples'],
    burstSizes: burstSizes(flags.burst),
    coldStartRuns: flags['cold-start-runs'],
    dbCallDelaysMs: dbDelays,
    completionWaitMs: flags['completion-wait-ms'],
    handlerEnv: env,
    terminal: { client: 'client/ (@pos/basket-client)', ...policy },
  };
  const file = writeResults(`${outputName}.json`, {
    generatedAt: when,
    code: outcome.code,
    runtimeMs,
    machine: { cores: os.cpus().length, loadBefore: run.loadBefore, loadDuringCells: run.loadSamples, loadAfter },
    runtimeTrouble: trouble,
    settings,
    notes: {
      cells: 'each cell runs on a freshly reset simulator configured with the same seed, latency and fault profile',
      floor:
        'POST /orders/ then POST /payments/ straight to the simulator at the same concurrency; a 503 is sent again at once (no backoff, up to UPSTREAM_MAX_ATTEMPTS), any other fault ends the checkout; each call waits as long as the service would (UPSTREAM_CALL_TIMEOUT_MS, PAYMENT_TIMEOUT_MS). payMs = the POST /payments/ call alone, the floor of the prepared pay call',
      naive:
        'the starter: catalogue, POST order, POST payment, PATCH; no retries, no timeouts; paid = all four 2xx, declined = its payment answered 402',
      oneShot:
        'pos.checkout(basketId) of the terminal client (client/): POST /baskets/{id}/orders, Idempotency-Key, no body, retried with the same key after 503/504/202/409 REQUEST_IN_PROGRESS or a lost answer within the budget; ms = to the answer that decided it (the read of the order after a decline or an unknown payment not counted)',
      prepared:
        'POST /baskets/{id}/orders {"pay": false} (201 placed), a pause, then POST /orders/{id}/payments with a new key; ms = prepare + pay, payMs = the pay call; twice as many customers as terminals share the terminals\' request slots, so requests in flight = concurrency as in the other flows and the pause is never timed',
      paidOrDeclined: "outcome paid or declined, after the client's same-key retries",
      upstreamWait:
        "per checkout of naive and ours, the POST /orders/ and POST /payments/ latency it waited for (ledger, a hang counted up to the caller's timeout); overheadMs = ms − that",
      money: 'tests/support/ledger.ts ledgerProblems per cell: upstream orders matched to ours by upstream id and correlation',
      notPaid:
        'ours: every checkout not paid or declined must be an order in state unknown whose POST /payments/ ended in a 500, a hang or a reset (ledger)',
      dbDelay:
        'one-shot and prepared run once per DATABASE_CALL_DELAY_MS (dbDelayMs of each cell; handlers of a serverless-offline instance of their own): a wait before every database round trip the RDS Data API would make (a statement 1, a transaction of n statements n + 2), lib/db/delayed.ts; goals and the main table read the lowest',
      completion:
        "ours: per paid checkout, the simulator ledger's completed_at of its user's upstream order (first PATCH to completed) minus the moment the terminal had its final answer; waited for up to completionWaitMs after the cell's last reply",
      coldStart:
        'require() of each unzipped bundle of serverless package --stage ci in a fresh Node 20 process with a stage-ci-like environment (Data API driver, gateway auth); fastest of the runs (the least disturbed by other load)',
    },
    goals,
    cells: allCells,
    baskets: outcome.basketTimings,
    bursts: outcome.bursts,
    bundles,
  });

  const subtitle = [
    `${when.slice(0, 16).replace('T', ' ')} UTC · commit ${code.commit ?? '?'}${code.uncommittedChanges ? ' with changes' : ''} · ${flags.orders} checkouts per cell · seed ${flags.seed} · upstream latency lognormal p50 ${latency.medianMs} ms, p99 ${latency.p99Ms} ms · faults ${+(flags['fault-rate'] * 100).toFixed(1)} % of calls`,
    machine,
  ];
  const svg = renderChart(cells, { title: 'Checkout latency by flow, against the floor of unavoidable upstream calls', subtitle });
  const svgFile = path.join(RESULTS_DIR, `${outputName}.svg`);
  writeFileSync(svgFile, svg);

  const readmeBlock = [
    `Last run: ${when.slice(0, 10)}, commit ${code.commit ?? '?'}${code.uncommittedChanges ? ' (with uncommitted changes)' : ''}, ${flags.orders} checkouts per cell, seed ${flags.seed}, ${(runtimeMs / 1000).toFixed(0)} s in all; ${machine}.${trouble.lambdaTimeouts || trouble.offlineOutOfMemory ? ` **${describeTrouble(trouble)}**` : ''}`,
    '',
    '**Goals**',
    '',
    markdownTable(goalRows(goals), () => false),
    '',
    `**Latency per checkout** (${Object.values(FAULT_PROFILE_LABELS).join(', ')}; "÷ floor" compares with the floor of the same profile and terminals: order + payment for whole checkouts, the payment alone for the pay call)`,
    '',
    markdownTable(results, (column) => column >= 3),
    '',
    `![Checkout latency by flow against the floor, per fault profile and number of terminals](../bench/results/${outputName}.svg)`, // relative to docs/
    '',
    ...(delayTable
      ? [
          `**At Data API latency** (our flows with every database round trip the RDS Data API would make first waiting ${dbDelays.slice(1).join(', ')} ms, against ${dbDelays[0]} ms: DATABASE_CALL_DELAY_MS, lib/db/delayed.ts; overhead = time minus the upstream calls waited for, per checkout; "round trips ≈" = overhead p50 added ÷ delay added)`,
          '',
          markdownTable(delayTable, (column) => column >= 3),
          '',
        ]
      : []),
    `**Completion after the reply** (paid checkouts of ours: the simulator ledger's completed_at of the upstream order minus the moment the terminal had its answer; waited for up to ${formatMs(flags['completion-wait-ms'])} after each cell)`,
    '',
    markdownTable(completions, (column) => column >= 3),
    '',
    '**Baskets** (through the API, no upstream faults)',
    '',
    markdownTable(basketRows(outcome.basketTimings)),
    ...(outcome.bursts.length
      ? [
          '',
          `**Burst** (fault-free upstream; that many terminals check out at the same instant, each retrying what decides nothing with its key for up to 30 s, then ${outcome.bursts[0].afterwards.of} check out one after another; money judged against the ledger)`,
          '',
          markdownTable(burstRows(outcome.bursts)),
        ]
      : []),
    ...(bundles?.zips.length
      ? [
          '',
          '**Bundles and cold starts** (`serverless package --stage ci`; module load = `require()` of the bundle in a fresh Node process)',
          '',
          markdownTable(bundleRows(bundles), (column) => column > 0),
        ]
      : []),
  ].join('\n');
  writeFileSync(path.join(RESULTS_DIR, `${outputName}.md`), `${readmeBlock}\n`);
  if (fullMatrix && flags.readme === 'auto') {
    const updated = updateReadme(path.resolve(__dirname, '..', 'docs', 'benchmark.md'), readmeBlock);
    console.log(updated ? '\ndocs/benchmark.md: results block rewritten' : '\ndocs/benchmark.md: no bench markers found, left as it is');
  }

  const troubleNote = describeTrouble(trouble);
  if (troubleNote) console.log(`WARNING ${troubleNote}`);
  const missed = goals.filter((g) => g.status === 'miss').length;
  const unmeasured = goals.filter((g) => g.status === 'not measured').length;
  console.log(`\ngoals: ${goals.length - missed - unmeasured} pass, ${missed} miss, ${unmeasured} not measured`);
  console.log(
    `wrote ${path.relative(process.cwd(), file)}, ${path.relative(process.cwd(), svgFile)} (total ${(runtimeMs / 1000).toFixed(1)} s; ${machine})`,
  );
  // Latency goals are for reading; money and the reason for every unpaid checkout are correctness.
  const ours = allCells.filter((c) => (c.flow === 'one-shot' || c.flow === 'prepared') && c.status === 'measured');
  let moneyProblems = ours.reduce(
    (sum, c) => sum + (c.money ? c.money.doubleCharges + c.money.chargesUnknownToUs + (c.money.wrongAmounts ?? 0) : 0),
    0,
  );
  const unexplainedInMixed = ours.filter((c) => c.faults === 'mixed').reduce((sum, c) => sum + (c.notPaid?.unexplained.length ?? 0), 0);
  moneyProblems += burstMoneyProblems(outcome.bursts);
  if (moneyProblems + unexplainedInMixed > 0) {
    console.error(
      `bench: ${moneyProblems} money problems and ${unexplainedInMixed} unpaid checkouts without an ambiguous payment in our flows (see ${file})`,
    );
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  process.exit(1);
});
