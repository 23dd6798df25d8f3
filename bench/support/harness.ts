import { execFileSync } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { invokeLambda } from '../../dev/infra/offline';
import { copyProjectForPackaging } from '../../dev/infra/packaging';
import { DEV_JWT_SECRET, startStack, type Stack } from '../../dev/infra/stack';
import { mulberry32 } from '../../dev/simulator/random';
import { DEFAULT_PRODUCTS, type SimulatorConfig } from '../../dev/simulator';
import { parseConfig } from '../../lib/config';
import { UNSETTLED_STATES, type OrderState } from '../../lib/orders/state-machine';
import { connect, type Sql } from '../../lib/db/sql';
import { SimulatorAdmin } from './simulator-admin';

export const RESULTS_DIR = path.resolve(__dirname, '..', 'results');
const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** Which code the handlers ran. */
export interface CodeUnderTest {
  /** 'working tree': this checkout, hot-reloaded by serverless-offline on every file save; 'snapshot': a clean export of HEAD. */
  source: 'working tree' | 'snapshot';
  commit?: string;
  /** Working tree only: uncommitted changes to the service's code at the start. */
  uncommittedChanges?: boolean;
}

/** A temp folder for a copy of the project, and how to remove it (its node_modules link first, never what it points to). */
function tempProjectDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const remove = () => {
    try {
      unlinkSync(path.join(dir, 'node_modules'));
    } catch {
      // not linked yet
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, remove };
}

/**
 * A clean export of HEAD in a temp folder (node_modules linked), so the run
 * measures one commit and no edit in this working tree can hot-reload (and
 * kill) the handlers mid-run.
 */
function exportSnapshot(): { dir: string; remove: () => void } {
  const { dir, remove } = tempProjectDir('pos-bench-snapshot-');
  try {
    const archive = execFileSync('git', ['archive', '--format=tar', 'HEAD'], { cwd: PROJECT_ROOT, maxBuffer: 512 * 1024 * 1024 });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  } catch (error) {
    remove();
    throw error;
  }
  return { dir, remove };
}

/** The working tree as it is (without node_modules, build output and results; node_modules linked), in a temp folder. */
function copyWorkingTree(): { dir: string; remove: () => void } {
  const { dir, remove } = tempProjectDir('pos-bench-worktree-');
  try {
    copyProjectForPackaging(dir);
  } catch (error) {
    remove();
    throw error;
  }
  return { dir, remove };
}

/**
 * Handler settings only benchmarks set. serverless-offline hands a handler the variables serverless.yml
 * declares (provider.environment) and AWS_*, nothing else of its own environment; when the code under test
 * does not declare one of these, the bench runs a copy whose serverless.yml does (declareHandlerVariables).
 */
const BENCH_ONLY_VARIABLES = ['DATABASE_CALL_DELAY_MS'] as const;

/** Those of BENCH_ONLY_VARIABLES set to something else than 0 in one of `envs` that `projectDir`'s serverless.yml does not declare (all of them without a project). */
function benchVariablesToDeclare(projectDir: string | undefined, envs: ReadonlyArray<Record<string, string>>): string[] {
  const yml = projectDir ? readFileSync(path.join(projectDir, 'serverless.yml'), 'utf8') : '';
  return BENCH_ONLY_VARIABLES.filter(
    (name) =>
      envs.some((env) => env[name] !== undefined && env[name] !== '' && env[name] !== '0') && !new RegExp(`^ {4}${name}:`, 'm').test(yml),
  );
}

/** Adds `NAME: ${env:NAME, ''}` for each name to provider.environment of the copy's serverless.yml. */
function declareHandlerVariables(dir: string, names: readonly string[]): void {
  const file = path.join(dir, 'serverless.yml');
  const text = readFileSync(file, 'utf8');
  const anchor = /^provider:\n(?:(?: .*)?\n)*? {2}environment:\n/m.exec(text);
  if (!anchor) throw new Error(`${file}: no provider.environment to declare ${names.join(', ')} in`);
  const at = anchor.index + anchor[0].length;
  const lines = names.map((name) => `    ${name}: \${env:${name}, ''}\n`).join('');
  writeFileSync(file, `${text.slice(0, at)}${lines}${text.slice(at)}`);
}

function describeCode(snapshot: boolean): CodeUnderTest {
  const commit = gitCommit();
  if (snapshot) return { source: 'snapshot', commit };
  let uncommittedChanges: boolean | undefined;
  try {
    uncommittedChanges =
      execFileSync('git', ['status', '--porcelain', '--', 'lib', 'functions', 'dev', 'migrations', 'serverless.yml', 'package.json'], {
        cwd: PROJECT_ROOT,
      })
        .toString()
        .trim() !== '';
  } catch {
    uncommittedChanges = undefined;
  }
  return { source: 'working tree', commit, uncommittedChanges };
}

export interface BenchStack {
  stack: Stack;
  apiUrl: string;
  lambdaUrl: string;
  sim: SimulatorAdmin;
  /** A pool on the throwaway bench database. */
  sql: Sql;
  handlerLog: string;
  code: CodeUnderTest;
  /** The API and invoke URLs of each variant asked for (other handler settings over the same database and simulator). */
  variants: Record<string, { apiUrl: string; lambdaUrl: string }>;
}

/** The handler settings the bench passes: lib/config.ts defaults (production), then these overrides. */
const HANDLER_KEYS = [
  'REQUEST_DEADLINE_MS',
  'UPSTREAM_CALL_TIMEOUT_MS',
  'UPSTREAM_MAX_ATTEMPTS',
  'UPSTREAM_BACKOFF_BASE_MS',
  'UPSTREAM_503_MEANS_NO_EFFECT',
  'UPSTREAM_ADAPTIVE_TIMEOUT_FLOOR_MS',
  'UPSTREAM_ADAPTIVE_TIMEOUT_P99_FACTOR',
  'UPSTREAM_ADAPTIVE_TIMEOUT_INITIAL_MS',
  'PAYMENT_TIMEOUT_MS',
  'PAYMENT_MIN_WINDOW_MS',
  'UPSTREAM_BACKOFF_CAP_MS',
  'BREAKER_FAILURE_THRESHOLD',
  'BREAKER_HALF_OPEN_AFTER_MS',
  'CATALOGUE_TTL_SECONDS',
  'CATALOGUE_MAX_STALE_SECONDS',
  'IDEMPOTENCY_KEY_TTL_HOURS',
  'ORDER_ABANDONED_AFTER_SECONDS',
  'ORDER_DECLINED_EXPIRY_MINUTES',
  'RECONCILER_BATCH_SIZE',
  'DATABASE_POOL_MAX',
  // 0 unless set: the bench's --db-delay-ms sets it per stack; `DATABASE_CALL_DELAY_MS=10 npm run soak` runs the soak so.
  'DATABASE_CALL_DELAY_MS',
  'LOG_LEVEL',
] as const;

/**
 * Production-like handler settings: the defaults of lib/config.ts, read from
 * its own schema so they cannot drift, then any of these variables set in the
 * bench's environment, then `overrides`.
 */
export function handlerEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const defaults = parseConfig({
    DATABASE_URL: 'postgres://placeholder',
    UPSTREAM_BASE_URL: 'http://127.0.0.1:1',
    AUTH_JWT_SECRET: DEV_JWT_SECRET,
  }) as unknown as Record<string, unknown>;
  const env: Record<string, string> = {};
  for (const key of HANDLER_KEYS) env[key] = process.env[key] || String(defaults[key]);
  return { ...env, ...overrides };
}

/**
 * Starts the stack (throwaway database, simulator, serverless-offline) with
 * `env` for the handlers, runs `body`, and always stops the stack: on success,
 * on error and on Ctrl-C / SIGTERM. Handler logs go to bench/results/<name>-handlers.log.
 */
export async function withBenchStack<T>(
  name: string,
  env: Record<string, string>,
  options: {
    snapshot: boolean;
    /** More serverless-offline instances, each with `env` changed by these overrides (started one after another). */
    variants?: Record<string, Record<string, string>>;
  },
  body: (bench: BenchStack) => Promise<T>,
): Promise<T> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  // The in-process simulator waits out every delayed reply on one shutdown signal: many listeners are expected.
  setMaxListeners(10_000);
  const handlerLog = path.join(RESULTS_DIR, `${name}-handlers.log`);
  const logStream = createWriteStream(handlerLog);
  const callerEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => key !== 'UPSTREAM_BASE_URL' && !key.startsWith('SIM_')),
  );
  let stackPromise: Promise<Stack> | undefined;
  let sql: Sql | undefined;
  let snapshot: { dir: string; remove: () => void } | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      await sql?.end({ timeout: 5 }).catch(() => undefined);
      const stack = await stackPromise?.catch(() => undefined);
      await stack?.stop();
      snapshot?.remove();
      await new Promise<void>((resolve) => logStream.end(resolve));
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${name}: ${signal}, stopping the stack…`);
    void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const started = Date.now();
    const code = describeCode(options.snapshot);
    let start = startStack;
    const undeclared = benchVariablesToDeclare(options.snapshot ? undefined : PROJECT_ROOT, [
      env,
      ...Object.values(options.variants ?? {}),
    ]);
    if (options.snapshot || undeclared.length) {
      snapshot = options.snapshot ? exportSnapshot() : copyWorkingTree();
      const toDeclare = benchVariablesToDeclare(snapshot.dir, [env, ...Object.values(options.variants ?? {})]);
      if (toDeclare.length) {
        declareHandlerVariables(snapshot.dir, toDeclare);
        console.log(
          `  [stack] serverless.yml does not declare ${toDeclare.join(', ')} (serverless-offline hands the handlers only the variables it declares): the copy under test declares ${toDeclare.length > 1 ? 'them' : 'it'}`,
        );
      }
      // The copy's own stack, so serverless-offline bundles and watches the copy, not this working tree.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a path known only at run time
      start = (require(path.join(snapshot.dir, 'dev', 'infra', 'stack.ts')) as typeof import('../../dev/infra/stack')).startStack;
      console.log(
        options.snapshot
          ? `  [stack] code under test: snapshot of HEAD ${code.commit ?? ''} in ${snapshot.dir}`
          : `  [stack] code under test: a copy of this working tree at ${code.commit ?? '?'}${code.uncommittedChanges ? ' with uncommitted changes' : ''} in ${snapshot.dir}`,
      );
    } else {
      console.log(
        `  [stack] code under test: this working tree at ${code.commit ?? '?'}${code.uncommittedChanges ? ' with uncommitted changes' : ''} (--snapshot runs a clean export of HEAD instead)`,
      );
    }
    stackPromise = start({
      purpose: 'test',
      env: callerEnv,
      handlerEnv: env,
      apiVariants: options.variants,
      onApiOutput: (chunk) => logStream.write(chunk),
      log: (message) => console.log(`  [stack] ${message}`),
    });
    const stack = await stackPromise;
    if (!stack.apiUrl || !stack.lambdaUrl || !stack.simulatorUrl) throw new Error('the stack did not start the API and the simulator');
    console.log(
      `  [stack] up in ${((Date.now() - started) / 1000).toFixed(1)} s: api ${stack.apiUrl}, simulator ${stack.simulatorUrl}; handler logs in ${path.relative(process.cwd(), handlerLog)}`,
    );
    sql = connect(stack.databaseUrl, { max: 4 });
    return await body({
      stack,
      apiUrl: stack.apiUrl,
      lambdaUrl: stack.lambdaUrl,
      sim: new SimulatorAdmin(stack.simulatorUrl),
      sql,
      handlerLog,
      code,
      variants: stack.variants,
    });
  } catch (error) {
    const note = describeTrouble(runtimeTrouble(handlerLog));
    console.error(`${name}: failed; handler log: ${path.relative(process.cwd(), handlerLog)}${note ? `\n${note}` : ''}`);
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }
}

/** Upstream fault and latency profile shared by both scripts. */
export interface Profile {
  seed: number;
  latency: { medianMs: number; p99Ms: number };
  faults: SimulatorConfig['faults'];
  hangMs: number;
  declineRate: number;
}

export const QUIET_UPSTREAM: Partial<SimulatorConfig> = {
  latency: { medianMs: 0, p99Ms: 0 },
  faults: { rate503: 0, rate500After: 0, rateHangAfter: 0, rateReset: 0 },
  declineRate: 0,
};

export function describeProfile(profile: Profile): string {
  const pct = (rate: number) => `${+(rate * 100).toFixed(2)} %`;
  const { faults } = profile;
  const total = faults.rate503 + faults.rate500After + faults.rateHangAfter + faults.rateReset;
  return [
    `seed ${profile.seed}; latency lognormal median ${profile.latency.medianMs} ms, p99 ${profile.latency.p99Ms} ms`,
    `faults per upstream call ${pct(total)}: 503 ${pct(faults.rate503)}, 500_after ${pct(faults.rate500After)}, hang_after ${pct(faults.rateHangAfter)} (hang ${profile.hangMs} ms), reset ${pct(faults.rateReset)}; declines ${pct(profile.declineRate)} of payments`,
  ].join('\n  ');
}

export function describeEnv(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

/** What one bench order puts in its basket: one or two products, quantities 1–3, chosen from the seed. */
export interface PlannedLine {
  productId: string;
  quantity: number;
}

export function planBaskets(count: number, seed: number): PlannedLine[][] {
  const random = mulberry32(seed ^ 0x5eed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  return Array.from({ length: count }, () => {
    const first = pick(DEFAULT_PRODUCTS);
    const lines: PlannedLine[] = [{ productId: first.id, quantity: 1 + Math.floor(random() * 3) }];
    if (random() < 0.5) {
      const second = pick(DEFAULT_PRODUCTS.filter((product) => product.id !== first.id));
      lines.push({ productId: second.id, quantity: 1 + Math.floor(random() * 3) });
    }
    return lines;
  });
}

export { UNSETTLED_STATES } from '../../lib/orders/state-machine';

export async function orderStates(sql: Sql): Promise<Record<string, number>> {
  const rows = await sql<
    { state: string; n: number }[]
  >`select state, count(*)::int as n from orders group by state order by n desc, state`;
  return Object.fromEntries(rows.map((row) => [row.state, row.n]));
}

/** Orders the reconciler still has work for: not at rest, or a duplicate check still due. */
export async function unsettledCount(sql: Sql): Promise<number> {
  const [row] = await sql<
    { n: number }[]
  >`select count(*)::int as n from orders where state in ${sql(UNSETTLED_STATES as OrderState[])} or duplicate_check_at is not null`;
  return row.n;
}

export interface ReconcileSummary {
  runs: number;
  totals: Record<string, number>;
  durationMs: number;
}

/** Invokes the reconciler Lambda once; returns its report (numbers only). */
export async function reconcileOnce(lambdaUrl: string): Promise<Record<string, unknown>> {
  return ((await invokeLambda(lambdaUrl, 'reconciler')) ?? {}) as Record<string, unknown>;
}

/**
 * Runs the reconciler at least `minRuns` times, then until `done()` holds, at
 * most `maxRuns` times (pausing after a run that found nothing); sums the reports' counters.
 */
export async function reconcileUntil(
  lambdaUrl: string,
  options: { done: () => Promise<boolean>; maxRuns: number; minRuns?: number; pauseMs?: number },
): Promise<ReconcileSummary> {
  const started = Date.now();
  const totals: Record<string, number> = {};
  let runs = 0;
  while (runs < options.maxRuns && (runs < (options.minRuns ?? 0) || !(await options.done()))) {
    const report = await reconcileOnce(lambdaUrl);
    runs++;
    for (const [key, value] of Object.entries(report)) if (typeof value === 'number') totals[key] = (totals[key] ?? 0) + value;
    if (report.examined === 0) await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 1000));
  }
  return { runs, totals, durationMs: Date.now() - started };
}

export function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: path.resolve(__dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

export function writeResults(file: string, results: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const target = path.join(RESULTS_DIR, file);
  writeFileSync(target, `${JSON.stringify(results, null, 2)}\n`);
  return path.relative(process.cwd(), target);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A database session seen stuck: waiting for a lock, busy on one statement, or idle inside a transaction. */
export interface StuckSession {
  pid: number;
  state: string;
  waitEvent: string | null;
  seconds: number;
  query: string;
  firstSeen: string;
}

/**
 * Samples pg_stat_activity of the bench database every `everyMs` and keeps the
 * sessions stuck for more than `thresholdSeconds` (lock waits, long statements,
 * idle in transaction): evidence for any stall the run shows.
 */
export function watchDatabase(sql: Sql, everyMs = 2000, thresholdSeconds = 3): { stop: () => Promise<StuckSession[]> } {
  const seen = new Map<string, StuckSession>();
  let stopped = false;
  let failed = false;
  const sample = async () => {
    const rows = await sql<{ pid: number; state: string; wait: string | null; seconds: number; query: string }[]>`
      select pid, state, case when wait_event_type is null then null else wait_event_type || ':' || wait_event end as wait,
             extract(epoch from now() - coalesce(case when state = 'active' then query_start end, state_change))::float8 as seconds,
             left(regexp_replace(query, '\\s+', ' ', 'g'), 200) as query
      from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid()
        and (wait_event_type = 'Lock' or state in ('active', 'idle in transaction', 'idle in transaction (aborted)'))
        and now() - coalesce(case when state = 'active' then query_start end, state_change) > ${thresholdSeconds}::float8 * interval '1 second'`;
    for (const row of rows) {
      const key = `${row.pid}|${row.query}`;
      const known = seen.get(key);
      if (known) known.seconds = Math.max(known.seconds, Math.round(row.seconds));
      else
        seen.set(key, {
          pid: row.pid,
          state: row.state,
          waitEvent: row.wait,
          seconds: Math.round(row.seconds),
          query: row.query,
          firstSeen: new Date().toISOString(),
        });
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await sample().catch((error) => {
        if (!failed) console.log(`  database watch: sampling failed (${(error as Error).message}); continuing`);
        failed = true;
      });
      await sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return [...seen.values()];
    },
  };
}

/** Signs in the handler log that the local runtime, not the service, disturbed the run. */
export interface RuntimeTrouble {
  /** serverless-offline killed an invocation at the function's timeout. */
  lambdaTimeouts: number;
  /** serverless-offline (its main process) ran out of heap. */
  offlineOutOfMemory: boolean;
  /** Longest mark-compact GC pause V8 reported before dying, if any (ms). */
  longestGcPauseMs?: number;
}

export function runtimeTrouble(handlerLog: string): RuntimeTrouble {
  let text = '';
  try {
    text = readFileSync(handlerLog, 'utf8');
  } catch {
    // no log: nothing to report
  }
  const pauses = [...text.matchAll(/Mark-Compact [^,]+, ([\d.]+) \/ [\d.]+ ms/g)].map((match) => Number(match[1]));
  return {
    lambdaTimeouts: (text.match(/\[504\] - Lambda timeout/g) ?? []).length,
    offlineOutOfMemory: /heap out of memory/.test(text),
    ...(pauses.length ? { longestGcPauseMs: Math.round(Math.max(...pauses)) } : {}),
  };
}

export function describeTrouble(trouble: RuntimeTrouble): string | undefined {
  if (!trouble.lambdaTimeouts && !trouble.offlineOutOfMemory) return undefined;
  return `local runtime trouble: ${trouble.lambdaTimeouts} Lambda timeouts in serverless-offline${trouble.offlineOutOfMemory ? `; serverless-offline ran out of heap${trouble.longestGcPauseMs ? ` (GC pauses up to ${trouble.longestGcPauseMs} ms)` : ''}` : ''} — see the handler log; figures of this run are disturbed`;
}
