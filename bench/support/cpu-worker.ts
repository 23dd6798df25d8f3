/**
 * The measuring process of `npm run bench:cpu` (bench/cpu.ts bundles this file with esbuild and runs it
 * with plain `node`: no tsx hooks, no source maps). It require()s each function's bundle, as a Lambda
 * container does, and invokes the handlers in-process with API Gateway v2 events, customer after
 * customer: a basket (create, two item writes, a read), a one-shot checkout, the completeOrder run it
 * hands off, reads, then a prepared checkout (prepare, pay, completeOrder). The first `warmup` customers
 * are not timed. Around each timed invocation it reads process.cpuUsage() (user + system of every
 * thread: JIT and GC helpers included, time waiting on I/O not), and again `afterReplyMs` later for
 * work that outlives the reply. With `profile`, it instead records a V8 CPU profile of each named
 * route's invocations (the profiler started and stopped around each one) and writes their self time
 * per frame.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Session, type Profiler, type Runtime } from 'node:inspector';
import { DEFAULT_PRODUCTS } from '../../dev/simulator/catalogue';
import { signDevToken } from '../../dev/simulator/auth';

export interface WorkerConfig {
  /** Function key (serverless.yml) → its bundle. */
  bundles: Record<string, string>;
  /** Function key → memorySize and timeout (s) from serverless.yml, for the Lambda context. */
  functions: Record<string, { memoryMb: number; timeoutS: number }>;
  warmup: number;
  samples: number;
  afterReplyMs: number;
  /** The stand-in of the Lambda invoke API (bench/support/cpu-peers.ts) the checkouts hand their completion to. */
  lambdaUrl: string;
  jwtSecret: string;
  /** A prefix of this run's users. */
  run: string;
  out: string;
  profile?: { steps: string[]; intervalUs: number };
}

/** One timed invocation. */
export interface Sample {
  /** CPU (user + system, ms) from the call until its promise resolved. */
  cpuMs: number;
  /** CPU in the `afterReplyMs` after it: work that outlives the reply, and the process's own background. */
  afterMs: number;
  wallMs: number;
  /** Lines written to stdout (the JSON logs and the metrics' EMF lines), during the call and the after-reply time. */
  logLines: number;
  logBytes: number;
}

/** A profile frame: where the sampled code was, and for a builtin or Node internal, the nearest frame of a module it ran for. */
export interface ProfileFrame {
  functionName: string;
  url: string;
  line: number;
  owner?: { functionName: string; url: string; line: number };
  selfUs: number;
}

export interface WorkerResult {
  steps: Record<string, { fn: string; samples: Sample[] }>;
  /** CPU of the process over `afterReplyMs` with no invocation, sampled between customers: the background. */
  idleMs: number[];
  failures: Array<{ step: string; status: unknown; body: string }>;
  /** With `profile`: per step, self time (µs) per frame (function, script URL, 0-based line). */
  profiles?: Record<string, { totalUs: number; frames: ProfileFrame[] }>;
}

type Handler = (event: unknown, context: unknown) => Promise<any>;

const config = JSON.parse(process.argv[2]) as WorkerConfig;
const handlers: Record<string, Handler> = {};
for (const [fn, file] of Object.entries(config.bundles)) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a bundle known only at run time, loaded as Lambda does
  handlers[fn] = (require(file) as { handler: Handler }).handler;
}

// Counts what the handlers log (stdout goes nowhere, as a Lambda's goes out of the process), at the cost of one wrapper call.
let logLines = 0;
let logBytes = 0;
const write = process.stdout.write.bind(process.stdout) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  logBytes += chunk.length;
  logLines += typeof chunk === 'string' ? chunk.split('\n').length - 1 : 0;
  return write(chunk, ...rest);
}) as typeof process.stdout.write;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;

function context(fn: string) {
  const { memoryMb, timeoutS } = config.functions[fn] ?? { memoryMb: 512, timeoutS: 28 };
  const started = Date.now();
  const name = `pos-basket-service-local-${fn}`;
  return {
    awsRequestId: randomUUID(),
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${name}`,
    memoryLimitInMB: String(memoryMb),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'bench-cpu',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => timeoutS * 1000 - (Date.now() - started),
  };
}

/** An API Gateway HTTP API (payload 2.0) event, as the gateway sends it. */
function httpEvent(
  method: string,
  routePath: string,
  params: Record<string, string>,
  token: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const rawPath = routePath.replace(/\{(\w+)\}/g, (_, name: string) => params[name]);
  const requestId = randomUUID();
  const now = new Date();
  return {
    version: '2.0',
    routeKey: `${method} ${routePath}`,
    rawPath,
    rawQueryString: '',
    headers: {
      accept: '*/*',
      host: 'api.example.com',
      'user-agent': 'bench-cpu',
      'x-auth-user': token,
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'https',
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'bench',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench-cpu' },
      requestId,
      routeKey: `${method} ${routePath}`,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(Object.keys(params).length ? { pathParameters: params } : {}),
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    isBase64Encoded: false,
  };
}

interface Customer {
  token: string;
  basketId?: string;
  orderId?: string;
  completion?: unknown;
}

interface Step {
  name: string;
  fn: string;
  event(customer: Customer): unknown;
  expect: number | undefined;
  /** What to keep from the answer. */
  keep?(customer: Customer, body: any): void;
  /** Before the step, untimed: e.g. fetch the completion the checkout handed off. */
  prepare?(customer: Customer): Promise<void>;
}

const idempotent = () => ({ 'idempotency-key': randomUUID() });
const [productA, productB] = DEFAULT_PRODUCTS;

/** The completeOrder event the customer's checkout handed off (the stand-in kept it). */
async function takeCompletion(customer: Customer): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const invocations = (await (await fetch(`${config.lambdaUrl}/__invocations`)).json()) as Array<{ payload: any }>;
    const mine = invocations.find((invocation) => invocation.payload?.orderId === customer.orderId);
    if (mine) {
      customer.completion = mine.payload;
      return;
    }
    await sleep(20);
  }
  throw new Error(`no completion handed off for order ${customer.orderId}`);
}

const basketSteps = (): Step[] => [
  {
    name: 'POST /baskets',
    fn: 'createBasket',
    event: (c) => httpEvent('POST', '/baskets', {}, c.token),
    expect: 201,
    keep: (c, body) => (c.basketId = body.id),
  },
  {
    name: 'PUT /baskets/{id}/items/{productId}',
    fn: 'setBasketItem',
    event: (c) =>
      httpEvent('PUT', '/baskets/{basketId}/items/{productId}', { basketId: c.basketId!, productId: productA.id }, c.token, {
        body: { quantity: 1 },
      }),
    expect: 200,
  },
  {
    name: 'PUT /baskets/{id}/items/{productId}',
    fn: 'setBasketItem',
    event: (c) =>
      httpEvent('PUT', '/baskets/{basketId}/items/{productId}', { basketId: c.basketId!, productId: productB.id }, c.token, {
        body: { quantity: 2 },
      }),
    expect: 200,
  },
];

const completeStep = (name: string): Step => ({
  name,
  fn: 'completeOrder',
  prepare: takeCompletion,
  event: (c) => c.completion,
  expect: undefined,
});

const STEPS: Step[] = [
  ...basketSteps(),
  {
    name: 'GET /baskets/{id}',
    fn: 'getBasket',
    event: (c) => httpEvent('GET', '/baskets/{basketId}', { basketId: c.basketId! }, c.token),
    expect: 200,
  },
  {
    name: 'POST /baskets/{id}/orders (one-shot checkout)',
    fn: 'placeOrder',
    event: (c) => httpEvent('POST', '/baskets/{basketId}/orders', { basketId: c.basketId! }, c.token, { headers: idempotent() }),
    expect: 201,
    keep: (c, body) => (c.orderId = body.id),
  },
  completeStep('completeOrder (after a one-shot checkout)'),
  {
    name: 'GET /orders/{id}',
    fn: 'getOrder',
    event: (c) => httpEvent('GET', '/orders/{orderId}', { orderId: c.orderId! }, c.token),
    expect: 200,
  },
  { name: 'GET /baskets', fn: 'listBaskets', event: (c) => httpEvent('GET', '/baskets', {}, c.token), expect: 200 },
  { name: 'GET /orders', fn: 'listOrders', event: (c) => httpEvent('GET', '/orders', {}, c.token), expect: 200 },
  { name: 'GET /products', fn: 'products', event: (c) => httpEvent('GET', '/products', {}, c.token), expect: 200 },
  ...basketSteps(),
  {
    name: 'POST /baskets/{id}/orders {"pay": false} (prepare)',
    fn: 'placeOrder',
    event: (c) =>
      httpEvent('POST', '/baskets/{basketId}/orders', { basketId: c.basketId! }, c.token, { headers: idempotent(), body: { pay: false } }),
    expect: 201,
    keep: (c, body) => (c.orderId = body.id),
  },
  {
    name: 'POST /orders/{id}/payments (pay a prepared order)',
    fn: 'payOrder',
    event: (c) => httpEvent('POST', '/orders/{orderId}/payments', { orderId: c.orderId! }, c.token, { headers: idempotent() }),
    expect: 201,
  },
  completeStep('completeOrder (after a prepared checkout)'),
  { name: 'GET /health', fn: 'health', event: () => httpEvent('GET', '/health', {}, ''), expect: 200 },
];

async function main(): Promise<void> {
  const result: WorkerResult = { steps: {}, idleMs: [], failures: [] };
  const session = config.profile ? new Session() : undefined;
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) =>
      session!.post(method, params ?? {}, (error, answer) => (error ? reject(error) : resolve(answer as T))),
    );
  /** Profiled invocations: their step and time window (µs, the profiler's clock: CLOCK_MONOTONIC, as process.hrtime). */
  const windows: Array<{ step: string; from: number; to: number }> = [];
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  if (session) {
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: config.profile!.intervalUs });
  }

  const customers = config.warmup + config.samples;
  for (let index = 0; index < customers; index++) {
    const timed = index >= config.warmup;
    // One profile over every timed customer (starting and stopping the profiler around each invocation costs more than many of them).
    if (session && index === config.warmup) await post('Profiler.start');
    const customer: Customer = { token: await signDevToken(config.jwtSecret, `${config.run}-${index}@bench.example`) };
    for (const step of STEPS) {
      await step.prepare?.(customer);
      const event = step.event(customer);
      const profiled = timed && session !== undefined && config.profile!.steps.includes(step.fn);
      const [linesBefore, bytesBefore] = [logLines, logBytes];
      const started = performance.now();
      const from = nowUs();
      const before = process.cpuUsage();
      const answer = await handlers[step.fn](event, context(step.fn));
      const during = process.cpuUsage(before);
      const wallMs = performance.now() - started;
      if (profiled) windows.push({ step: step.name, from, to: nowUs() });
      if (timed && !session) await sleep(config.afterReplyMs);
      else await new Promise((resolve) => setImmediate(resolve));
      const after = process.cpuUsage(before);
      if (step.expect !== undefined && answer?.statusCode !== step.expect) {
        result.failures.push({ step: step.name, status: answer?.statusCode, body: String(answer?.body).slice(0, 300) });
        break; // this customer's later steps need what this one would have made
      }
      if (step.keep) step.keep(customer, JSON.parse(answer.body));
      if (timed && !session) {
        const entry = (result.steps[step.name] ??= { fn: step.fn, samples: [] });
        entry.samples.push({
          cpuMs: cpuMs(during),
          afterMs: cpuMs(after) - cpuMs(during),
          wallMs,
          logLines: logLines - linesBefore,
          logBytes: logBytes - bytesBefore,
        });
      }
    }
    if (timed && !session) {
      const before = process.cpuUsage();
      await sleep(config.afterReplyMs);
      result.idleMs.push(cpuMs(process.cpuUsage(before)));
    }
  }
  if (session) {
    const { profile } = await post<{ profile: Profiler.Profile }>('Profiler.stop');
    result.profiles = selfTimesByStep(profile, windows, config.profile!.intervalUs);
    session.disconnect();
  }
  writeFileSync(config.out, JSON.stringify(result));
  process.exit(0);
}

/**
 * Self time per frame of the samples that fall in each step's invocations (a sample's time goes to the
 * frame on top of the stack), with the nearest caller that belongs to a module (not a V8 builtin, not
 * node:internal) as the frame's owner. A sample counts for the time since the one before, capped at ten
 * sampling intervals (a longer gap is time the thread was not running).
 */
function selfTimesByStep(
  profile: Profiler.Profile,
  windows: ReadonlyArray<{ step: string; from: number; to: number }>,
  intervalUs: number,
): NonNullable<WorkerResult['profiles']> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // V8 builtins, Node internals and this worker's own frames (its stdout counter, its measuring) stand for whoever called them.
  const workerUrl = pathToFileURL(__filename).href;
  const transparent = (frame: Runtime.CallFrame) => frame.url === '' || frame.url.startsWith('node:') || frame.url === workerUrl;
  /** The nearest frame of a module on the stack; 'worker' when only the worker's own code is below (measuring, not the handler). */
  const ownerOf = (id: number): Runtime.CallFrame | 'worker' | undefined => {
    let sawWorker = false;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (!transparent(frame)) return frame;
      sawWorker ||= frame.url === workerUrl;
    }
    return sawWorker ? 'worker' : undefined;
  };
  const steps = new Map<string, { totalUs: number; frames: Map<string, ProfileFrame> }>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = profile.startTime;
  let w = 0;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    while (w < windows.length && windows[w].to < at) w++;
    if (w >= windows.length) break;
    if (at < windows[w].from) continue;
    const frame = byId.get(samples[i])?.callFrame;
    if (!frame || frame.functionName === '(idle)') continue;
    const us = Math.min(deltas[i] ?? 0, 10 * intervalUs);
    const step = steps.get(windows[w].step) ?? { totalUs: 0, frames: new Map<string, ProfileFrame>() };
    steps.set(windows[w].step, step);
    const owner = transparent(frame) ? ownerOf(samples[i]) : undefined;
    if (owner === 'worker') continue;
    const key = [frame.functionName, frame.url, frame.lineNumber, owner?.functionName, owner?.url, owner?.lineNumber].join('|');
    const entry = step.frames.get(key) ?? {
      functionName: frame.functionName || '(anonymous)',
      url: frame.url,
      line: frame.lineNumber,
      ...(owner ? { owner: { functionName: owner.functionName || '(anonymous)', url: owner.url, line: owner.lineNumber } } : {}),
      selfUs: 0,
    };
    entry.selfUs += us;
    step.frames.set(key, entry);
    step.totalUs += us;
  }
  return Object.fromEntries(
    [...steps].map(([name, step]) => [
      name,
      { totalUs: step.totalUs, frames: [...step.frames.values()].sort((a, b) => b.selfUs - a.selfUs) },
    ]),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
