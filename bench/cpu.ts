/**
 * Handler CPU per request, per route, outside serverless-offline: `npm run bench:cpu [-- --samples 40 --warmup 20
 * --driver postgres,data-api --profile placeOrder,setBasketItem]` (`--help` lists every flag).
 *
 * Bundles each function as serverless-esbuild does for a deploy (serverless.yml custom.esbuild: bundle,
 * minify, keepNames, node20, no source map, @aws-sdk/* left to the runtime), and a measuring process
 * (bench/support/cpu-worker.ts) that require()s the bundles under plain `node` and invokes each handler
 * in-process with API Gateway v2 events (AUTH_MODE=jwt, tokens signed as the simulator signs them), one
 * customer after another: a basket, a one-shot checkout, the completeOrder run it hands off, reads, a
 * prepared checkout. The simulator (no latency, no faults), a stand-in for the Lambda invoke API and,
 * for `--driver data-api`, the Data API emulator run in another process (bench/support/cpu-peers.ts), the
 * database in Postgres (a throwaway database on DATABASE_URL's server, or an embedded one): none of
 * their CPU counts. After `--warmup` untimed customers, each invocation's process.cpuUsage() (user +
 * system, every thread) is its CPU: time waiting on I/O is not in it. Reported per route at full core
 * and at the function's memorySize (a Lambda gets memory/1769 of a vCPU, so 1 ms of full-core CPU
 * takes 1769/memory ms there). Writes bench/results/cpu-latest.{json,md}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { load } from 'js-yaml';
import { LOCAL_DATA_API } from '../dev/infra/data-api-emulator';
import { startStack, type Stack } from '../dev/infra/stack';
import { DEV_JWT_SECRET } from '../dev/simulator';
import { readFlags } from './support/cli';
import type { CpuPeers } from './support/cpu-peers';
import type { Sample, WorkerConfig, WorkerResult } from './support/cpu-worker';
import { gitCommit, handlerEnv, RESULTS_DIR, writeResults } from './support/harness';
import { markdownTable, textTable, type Row } from './support/report';
import { percentile } from './support/stats';

const PROJECT_ROOT = path.resolve(__dirname, '..');
/** The functions the worker's customers go through (bench/support/cpu-worker.ts STEPS). */
const FUNCTIONS = [
  'createBasket',
  'setBasketItem',
  'getBasket',
  'placeOrder',
  'completeOrder',
  'getOrder',
  'listBaskets',
  'listOrders',
  'products',
  'payOrder',
  'health',
] as const;
const DRIVERS = ['postgres', 'data-api'] as const;
/** A Lambda function gets one full vCPU at 1,769 MB, and CPU in proportion to its memory below that. */
const MB_PER_VCPU = 1769;
/** The goals of issue 17 (full-core CPU per request, p50). */
const GOALS = [
  { step: 'POST /baskets/{id}/orders (one-shot checkout)', label: 'one-shot checkout (placeOrder)', maxMs: 5 },
  { step: 'PUT /baskets/{id}/items/{productId}', label: 'basket write (setBasketItem)', maxMs: 2 },
];

const flags = readFlags('bench:cpu', {
  samples: {
    help: 'timed customers (each: 3 basket creations, 6 item writes, a one-shot and a prepared checkout with their completeOrder runs, 5 reads, a health check)',
    default: 40,
    min: 1,
    integer: true,
  },
  warmup: { help: 'untimed customers first (JIT, caches, connections)', default: 20, min: 0, integer: true },
  driver: {
    help: "the handlers' database driver: postgres.js, or the RDS Data API adapter against the local emulator",
    items: DRIVERS,
    default: DRIVERS.join(','),
  },
  'after-reply-ms': {
    help: 'after each timed invocation, how long its work after the reply may run before CPU is read again',
    default: 50,
    min: 0,
    integer: true,
  },
  profile: {
    help: 'function keys to profile after timing (a V8 sampling profile of their invocations, unminified bundles): the top frames by self time',
    items: [...FUNCTIONS, 'none'],
    default: 'none',
  },
  'profile-samples': { help: 'customers profiled (after --warmup untimed ones)', default: 30, min: 1, integer: true },
  'profile-interval-us': { help: 'the profiler sampling interval', default: 100, min: 10, integer: true },
});

const drivers = DRIVERS.filter((driver) => flags.driver.includes(driver));
const profiled = flags.profile.filter((fn) => fn !== 'none');
const load1 = () => os.loadavg()[0].toFixed(1);

interface FunctionSpec {
  handlerFile: string;
  memoryMb: number;
  timeoutS: number;
}

/** Each function's handler file, memorySize and timeout, from serverless.yml. */
function readFunctions(): Record<string, FunctionSpec> {
  const doc = load(readFileSync(path.join(PROJECT_ROOT, 'serverless.yml'), 'utf8')) as {
    provider: { memorySize?: number; timeout?: number };
    functions: Record<string, { handler: string; memorySize?: number; timeout?: number }>;
  };
  return Object.fromEntries(
    Object.entries(doc.functions).map(([key, fn]) => [
      key,
      {
        handlerFile: `${fn.handler.replace(/\.[^.]+$/, '')}.ts`,
        memoryMb: fn.memorySize ?? doc.provider.memorySize ?? 1024,
        timeoutS: fn.timeout ?? doc.provider.timeout ?? 6,
      },
    ]),
  );
}

/** The functions bundled as for a deploy (`minify`), or readable for profiles; and the worker. */
async function bundle(dir: string, functions: Record<string, FunctionSpec>, minify: boolean): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const fn of FUNCTIONS) {
    const spec = functions[fn];
    if (!spec) throw new Error(`serverless.yml has no function ${fn}`);
    const outfile = path.join(dir, minify ? 'deploy' : 'readable', `${fn}.js`);
    await build({
      entryPoints: [path.join(PROJECT_ROOT, spec.handlerFile)],
      outfile,
      bundle: true,
      minify,
      keepNames: true,
      sourcemap: false,
      target: 'node20',
      platform: 'node',
      format: 'cjs',
      external: ['@aws-sdk/*'],
      logLevel: 'error',
    });
    out[fn] = outfile;
  }
  return out;
}

/** Spawns a process in its own group; resolves with its first stdout line. */
function startPeers(databaseUrl: string, withDataApi: boolean): Promise<{ peers: CpuPeers; child: ChildProcess }> {
  const child = spawn(
    path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'),
    [path.join(__dirname, 'support', 'cpu-peers.ts'), ...(withDataApi ? ['--data-api', databaseUrl] : [])],
    { cwd: PROJECT_ROOT, detached: true, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const newline = text.indexOf('\n');
      if (newline >= 0) resolve({ peers: JSON.parse(text.slice(0, newline)) as CpuPeers, child });
    });
    child.once('exit', (code) => reject(new Error(`bench/support/cpu-peers.ts exited with ${code}`)));
  });
}

function stopGroup(child: ChildProcess | undefined): void {
  if (child?.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // gone already
  }
}

/** The handlers' environment: production defaults (lib/config.ts), the local stage, JWT auth, the driver's settings. */
function workerEnv(driver: (typeof DRIVERS)[number], stack: Stack, peers: CpuPeers): NodeJS.ProcessEnv {
  const database = new URL(stack.databaseUrl).pathname.slice(1);
  return {
    PATH: process.env.PATH ?? '',
    ...handlerEnv(),
    SERVICE_STAGE: 'local',
    UPSTREAM_BASE_URL: peers.simulatorUrl,
    AUTH_MODE: 'jwt',
    AUTH_JWT_SECRET: DEV_JWT_SECRET,
    POWERTOOLS_SERVICE_NAME: 'pos-basket-service',
    POWERTOOLS_METRICS_NAMESPACE: 'PosBasketService',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_REGION: 'eu-west-1',
    // As deployed: a paid checkout hands its completion to completeOrder (here the stand-in; the worker runs it).
    COMPLETION_FUNCTION_NAME: 'pos-basket-service-local-completeOrder',
    COMPLETION_INVOKE_ENDPOINT: peers.lambdaUrl,
    ...(driver === 'postgres'
      ? { DATABASE_URL: stack.databaseUrl }
      : {
          DATA_API_CLUSTER_ARN: LOCAL_DATA_API.resourceArn,
          DATA_API_SECRET_ARN: LOCAL_DATA_API.secretArn,
          DATA_API_DATABASE: database,
          DATA_API_ENDPOINT: peers.dataApiEndpoint,
          AWS_ACCESS_KEY_ID: LOCAL_DATA_API.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_DATA_API.credentials.secretAccessKey,
        }),
  };
}

async function runWorker(workerFile: string, config: WorkerConfig, env: NodeJS.ProcessEnv): Promise<WorkerResult> {
  const child = spawn(process.execPath, [workerFile, JSON.stringify(config)], {
    cwd: path.dirname(workerFile),
    env,
    // The handlers' JSON logs go where a Lambda's go: out of the process (here, nowhere).
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the measuring process exited with ${code}:\n${errors}`);
  return JSON.parse(readFileSync(config.out, 'utf8')) as WorkerResult;
}

interface StepReport {
  step: string;
  fn: string;
  memoryMb: number;
  n: number;
  cpuMs: { p50: number; p95: number; mean: number };
  afterReplyMs: { p50: number; p95: number };
  wallMs: { p50: number };
  /** Mean lines written to stdout per invocation (JSON logs, EMF metrics). */
  logLines: number;
}

const q = (values: number[], p: number) =>
  percentile(
    [...values].sort((a, b) => a - b),
    p,
  );
const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;

function summarizeSteps(result: WorkerResult, functions: Record<string, FunctionSpec>): StepReport[] {
  return Object.entries(result.steps).map(([step, { fn, samples }]) => {
    const cpu = samples.map((s: Sample) => s.cpuMs);
    const after = samples.map((s: Sample) => s.afterMs);
    return {
      step,
      fn,
      memoryMb: functions[fn].memoryMb,
      n: samples.length,
      cpuMs: { p50: q(cpu, 50), p95: q(cpu, 95), mean: mean(cpu) },
      afterReplyMs: { p50: q(after, 50), p95: q(after, 95) },
      wallMs: {
        p50: q(
          samples.map((s: Sample) => s.wallMs),
          50,
        ),
      },
      logLines: mean(samples.map((s: Sample) => s.logLines)),
    };
  });
}

function cpuRows(reports: StepReport[]): { header: string[]; rows: Row[] } {
  return {
    header: [
      'route',
      'function',
      'memory',
      'n',
      'CPU p50 (full core)',
      'p95',
      'mean',
      'after the reply p50',
      'at memory size p50',
      'p95',
      'wall p50 here',
      'log lines',
    ],
    rows: reports.map((r) => {
      const scale = MB_PER_VCPU / r.memoryMb;
      return [
        r.step,
        r.fn,
        `${r.memoryMb} MB`,
        r.n,
        ms(r.cpuMs.p50),
        ms(r.cpuMs.p95),
        ms(r.cpuMs.mean),
        ms(r.afterReplyMs.p50),
        ms(r.cpuMs.p50 * scale),
        ms(r.cpuMs.p95 * scale),
        ms(r.wallMs.p50),
        r.logLines.toFixed(1),
      ];
    }),
  };
}

/** Per checkout: the request(s) on the customer's path and the completeOrder run, CPU means added up. */
function checkoutRows(reports: StepReport[]): { header: string[]; rows: Row[] } {
  const of = (step: string) => reports.find((r) => r.step === step);
  const total = (steps: string[]) => {
    const found = steps.map(of);
    if (found.some((r) => !r)) return undefined;
    return {
      cpu: found.reduce((sum, r) => sum + r!.cpuMs.mean, 0),
      atMemory: found.reduce((sum, r) => sum + (r!.cpuMs.mean * MB_PER_VCPU) / r!.memoryMb, 0),
    };
  };
  const rows: Row[] = [];
  const add = (label: string, steps: string[]) => {
    const t = total(steps);
    if (t) rows.push([label, ms(t.cpu), ms(t.atMemory)]);
  };
  add('one-shot: placeOrder (the reply waits for it)', ['POST /baskets/{id}/orders (one-shot checkout)']);
  add('one-shot: placeOrder + completeOrder', [
    'POST /baskets/{id}/orders (one-shot checkout)',
    'completeOrder (after a one-shot checkout)',
  ]);
  add('prepared: prepare + pay (two requests)', [
    'POST /baskets/{id}/orders {"pay": false} (prepare)',
    'POST /orders/{id}/payments (pay a prepared order)',
  ]);
  add('prepared: prepare + pay + completeOrder', [
    'POST /baskets/{id}/orders {"pay": false} (prepare)',
    'POST /orders/{id}/payments (pay a prepared order)',
    'completeOrder (after a prepared checkout)',
  ]);
  return { header: ['checkout', 'CPU, mean (full core)', 'at memory size'], rows };
}

function goalRows(byDriver: Array<{ driver: string; reports: StepReport[] }>): { header: string[]; rows: Row[] } {
  const rows: Row[] = [];
  for (const goal of GOALS)
    for (const { driver, reports } of byDriver) {
      const r = reports.find((report) => report.step === goal.step);
      rows.push([
        `${goal.label}, ${driver}`,
        `≤ ${goal.maxMs} ms full-core CPU, p50`,
        r
          ? `${ms(r.cpuMs.p50)} (p95 ${ms(r.cpuMs.p95)}; ${ms((r.cpuMs.p50 * MB_PER_VCPU) / r.memoryMb)} at ${r.memoryMb} MB)`
          : 'not measured',
        r ? (r.cpuMs.p50 <= goal.maxMs ? 'pass' : 'miss') : 'not measured',
      ]);
    }
  return { header: ['goal', 'target', 'measured', 'result'], rows };
}

/** The source module of each line of an unminified esbuild bundle (its `// path` comments). */
function moduleMap(file: string): (line: number) => string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const owner: string[] = [];
  let current = '(bundle)';
  for (const text of lines) {
    const marker = /^\/\/ (\S+\.(?:ts|js|cjs|mjs|json))$/.exec(text);
    if (marker) current = marker[1];
    owner.push(current);
  }
  return (line) => owner[line] ?? current;
}

/** node_modules/<pkg>/… → the package; lib/… and functions/… stay paths; node internals and V8 pseudo-frames as they are. */
function groupOf(module: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(module);
  if (pkg) return pkg[1];
  return module;
}

interface ProfileReport {
  step: string;
  totalMs: number;
  /** Self time per frame; a builtin's or Node internal's with the module it ran for (`forModule`). */
  frames: Array<{ frame: string; module: string; forModule: string; selfMs: number; share: number }>;
  /** Self time per package (node_modules) or file of ours, a builtin's and a Node internal's counted for the module it ran for. */
  groups: Array<{ group: string; selfMs: number; share: number }>;
}

function summarizeProfiles(result: WorkerResult, bundles: Record<string, string>): ProfileReport[] {
  const maps = new Map<string, (line: number) => string>();
  const moduleOf = (url: string, line: number) => {
    const file = url.startsWith('file://') ? new URL(url).pathname : url;
    if (!Object.values(bundles).includes(file)) return url === '' ? '(V8)' : url.replace(`file://${PROJECT_ROOT}/`, '');
    if (!maps.has(file)) maps.set(file, moduleMap(file));
    return maps.get(file)!(line);
  };
  return Object.entries(result.profiles ?? {}).map(([step, profile]) => {
    const totalUs = profile.totalUs || 1;
    const frames = new Map<string, { frame: string; module: string; forModule: string; selfUs: number }>();
    const groups = new Map<string, number>();
    for (const f of profile.frames) {
      const module = moduleOf(f.url, f.line);
      const forModule = f.owner ? moduleOf(f.owner.url, f.owner.line) : '';
      const key = `${f.functionName}|${module}|${forModule}`;
      const entry = frames.get(key) ?? { frame: f.functionName, module, forModule, selfUs: 0 };
      entry.selfUs += f.selfUs;
      frames.set(key, entry);
      const group = f.functionName.startsWith('(') && f.url === '' ? f.functionName : groupOf(forModule || module);
      groups.set(group, (groups.get(group) ?? 0) + f.selfUs);
    }
    return {
      step,
      totalMs: totalUs / 1000,
      frames: [...frames.values()]
        .sort((a, b) => b.selfUs - a.selfUs)
        .slice(0, 20)
        .map((f) => ({ frame: f.frame, module: f.module, forModule: f.forModule, selfMs: f.selfUs / 1000, share: f.selfUs / totalUs })),
      groups: [...groups.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 15)
        .map(([group, us]) => ({ group, selfMs: us / 1000, share: us / totalUs })),
    };
  });
}

const share = (value: number) => `${(100 * value).toFixed(1)} %`;

function profileFrameRows(profile: ProfileReport): { header: string[]; rows: Row[] } {
  return {
    header: ['frame (self time)', 'module', 'run for', 'self', 'share'],
    rows: profile.frames.map((f) => [f.frame, f.module, f.forModule || '–', ms(f.selfMs), share(f.share)]),
  };
}

function profileGroupRows(profile: ProfileReport): { header: string[]; rows: Row[] } {
  return {
    header: ['package or file (builtins counted for the module they ran for)', 'self', 'share'],
    rows: profile.groups.map((g) => [g.group, ms(g.selfMs), share(g.share)]),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = os.loadavg();
  console.log(
    `bench:cpu: ${flags.warmup} untimed + ${flags.samples} timed customers per driver (${drivers.join(', ')}); ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${load1()}`,
  );
  const functions = readFunctions();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pos-bench-cpu-'));
  // The bundles leave @aws-sdk/* to the runtime, as on Lambda: here the project's copy.
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  let stack: Stack | undefined;
  let peersChild: ChildProcess | undefined;
  const cleanUp = async () => {
    stopGroup(peersChild);
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const deployBundles = await bundle(dir, functions, true);
    const readableBundles = profiled.length ? await bundle(dir, functions, false) : {};
    const workerFile = path.join(dir, 'worker.js');
    await build({
      entryPoints: [path.join(__dirname, 'support', 'cpu-worker.ts')],
      outfile: workerFile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      logLevel: 'error',
    });
    console.log(`  bundles built (as serverless-esbuild: minified, keepNames, node20, no source map) in ${dir}`);

    stack = await startStack({
      purpose: 'test',
      withoutApi: true,
      // The upstream is the peers' simulator (another process): the stack must not start one in this process.
      env: { ...process.env, UPSTREAM_BASE_URL: 'http://127.0.0.1:9' },
      log: (message) => console.log(`  [stack] ${message}`),
    });
    const started2 = await startPeers(stack.databaseUrl, drivers.includes('data-api'));
    peersChild = started2.child;
    const peers = started2.peers;
    console.log(
      `  peers (own process): simulator ${peers.simulatorUrl}, Lambda invoke stand-in ${peers.lambdaUrl}${peers.dataApiEndpoint ? `, Data API emulator ${peers.dataApiEndpoint}` : ''}`,
    );

    const functionSpecs = Object.fromEntries(
      FUNCTIONS.map((fn) => [fn, { memoryMb: functions[fn].memoryMb, timeoutS: functions[fn].timeoutS }]),
    );
    const byDriver: Array<{
      driver: string;
      reports: StepReport[];
      idleMs: number;
      failures: WorkerResult['failures'];
      load: number;
      profiles?: ProfileReport[];
    }> = [];
    for (const driver of drivers) {
      const loadAt = os.loadavg()[0];
      const config: WorkerConfig = {
        bundles: deployBundles,
        functions: functionSpecs,
        warmup: flags.warmup,
        samples: flags.samples,
        afterReplyMs: flags['after-reply-ms'],
        lambdaUrl: peers.lambdaUrl,
        jwtSecret: DEV_JWT_SECRET,
        run: `cpu-${driver}-${Date.now()}`,
        out: path.join(dir, `result-${driver}.json`),
      };
      const result = await runWorker(workerFile, config, workerEnv(driver, stack, peers));
      const reports = summarizeSteps(result, functions);
      const entry: (typeof byDriver)[number] = { driver, reports, idleMs: q(result.idleMs, 50), failures: result.failures, load: loadAt };
      console.log(
        `\n${driver}: CPU per invocation (load average ${loadAt.toFixed(1)} at the start, ${load1()} at the end; ${result.failures.length} failed invocations; idle process over ${flags['after-reply-ms']} ms: ${ms(entry.idleMs)})`,
      );
      console.log(textTable(cpuRows(reports), (column) => column > 1));
      console.log(`\n${textTable(checkoutRows(reports))}`);
      for (const failure of result.failures.slice(0, 5)) console.log(`  failed: ${JSON.stringify(failure)}`);
      if (profiled.length) {
        const profileResult = await runWorker(
          workerFile,
          {
            ...config,
            bundles: readableBundles,
            samples: flags['profile-samples'],
            run: `cpu-profile-${driver}-${Date.now()}`,
            out: path.join(dir, `profile-${driver}.json`),
            profile: { steps: profiled, intervalUs: flags['profile-interval-us'] },
          },
          workerEnv(driver, stack, peers),
        );
        entry.profiles = summarizeProfiles(profileResult, readableBundles);
        for (const profile of entry.profiles) {
          console.log(
            `\n${driver}, profile of ${profile.step} (${ms(profile.totalMs)} sampled over the invocations of ${flags['profile-samples']} customers; unminified bundle): top frames by self time`,
          );
          console.log(textTable(profileFrameRows(profile), (column) => column > 2));
          console.log(textTable(profileGroupRows(profile)));
        }
      }
      byDriver.push(entry);
    }

    const goals = goalRows(byDriver);
    console.log(`\ngoals (issue 17):\n${textTable(goals, () => false)}`);
    const loadAfter = os.loadavg();
    const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, load average (1 min) ${loadBefore[0].toFixed(1)} at the start, ${loadAfter[0].toFixed(1)} at the end`;
    const when = new Date().toISOString();
    const file = writeResults('cpu-latest.json', {
      generatedAt: when,
      commit: gitCommit(),
      machine: { cores: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadBefore, loadAfter },
      settings: { warmup: flags.warmup, samples: flags.samples, afterReplyMs: flags['after-reply-ms'], drivers, profiled },
      notes: {
        cpu: 'process.cpuUsage() user + system (every thread of the process: JIT, GC helpers, libuv) from the handler call until its promise resolved; the simulator, the Lambda invoke stand-in, the Data API emulator and Postgres run in other processes',
        afterReply: 'CPU in the after-reply-ms after the handler resolved (work outliving the reply, and the background: see idleMs)',
        atMemorySize: `full-core ms × ${MB_PER_VCPU} / memorySize (serverless.yml): a Lambda gets memory/${MB_PER_VCPU} of a vCPU`,
        bundles: 'esbuild as serverless-esbuild for a deploy: bundle, minify, keepNames, node20, cjs, no source map, @aws-sdk/* external',
      },
      drivers: byDriver,
    });
    const block = [
      `Measured ${when.slice(0, 10)}, commit ${gitCommit() ?? '?'}, ${flags.warmup} untimed + ${flags.samples} timed customers per driver; ${machine}.`,
      '',
      markdownTable(goals, () => false),
      ...byDriver.flatMap(({ driver, reports, idleMs, failures }) => [
        '',
        `**${driver === 'postgres' ? 'postgres.js' : 'Data API adapter (local emulator, no TLS)'}**: CPU per invocation (${failures.length} failed; the idle process over ${flags['after-reply-ms']} ms: ${ms(idleMs)})`,
        '',
        markdownTable(cpuRows(reports), (column) => column > 1),
        '',
        markdownTable(checkoutRows(reports)),
      ]),
    ].join('\n');
    writeFileSync(path.join(RESULTS_DIR, 'cpu-latest.md'), `${block}\n`);
    console.log(`\nwrote ${file}, bench/results/cpu-latest.md (${((Date.now() - started) / 1000).toFixed(0)} s; ${machine})`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
}

main().catch((error) => {
  console.error(`bench:cpu failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  process.exit(1);
});
