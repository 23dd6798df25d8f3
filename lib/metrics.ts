import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { AsyncLocalStorage } from 'node:async_hooks';
import { rootLogger, SERVICE_NAME } from './logger';

/**
 * Business and health metrics in CloudWatch Embedded Metric Format (EMF),
 * written by Powertools Metrics as JSON lines on stdout: CloudWatch Logs turns
 * them into metrics when deployed; locally (serverless-offline) they are just
 * lines in the handler output. Every metric carries the dimensions `service`
 * and `stage`; docs/operations.md (Metrics) lists them all.
 */
export const METRICS_NAMESPACE = 'PosBasketService';

export const MetricName = {
  /** Checkout answers (POST /baskets/{basketId}/orders, POST /orders/{orderId}/payments) by outcome. */
  Checkouts: 'Checkouts',
  /** Upstream attempts by route template and outcome, and their latency. */
  UpstreamCalls: 'UpstreamCalls',
  UpstreamLatency: 'UpstreamLatency',
  /** Upstream attempts after the first (same call, backoff in between). */
  UpstreamRetries: 'UpstreamRetries',
  /** The circuit breaker opened (consecutive upstream failures). */
  BreakerOpened: 'BreakerOpened',
  /** One per reconciler run that finished: the heartbeat. */
  ReconcilerRun: 'ReconcilerRun',
  ReconcilerSettled: 'ReconcilerSettled',
  ReconcilerFailed: 'ReconcilerFailed',
  ReconcilerErrors: 'ReconcilerErrors',
  ReconcilerWithoutCredentials: 'ReconcilerWithoutCredentials',
  /** Gauges, measured after each reconciler run. */
  UnknownOrders: 'UnknownOrders',
  OldestUnknownOrderSeconds: 'OldestUnknownOrderSeconds',
  StuckOrders: 'StuckOrders',
  ReconcilerLagSeconds: 'ReconcilerLagSeconds',
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];
type Dimensions = Record<string, string>;

type Metadata = Record<string, string | undefined>;

interface Group {
  dimensions: Dimensions;
  /** Extra dimension sets (subsets of `dimensions`) the same data points are also published under. */
  rollups: string[][];
  points: Array<{ name: MetricName; unit: Unit; value: number }>;
  /** Plain keys of the EMF line (e.g. the request id). */
  metadata: Metadata;
}

/** Set while work goes on after its request was answered (afterTheReply): the request's metadata. */
const afterReply = new AsyncLocalStorage<Metadata>();

/**
 * Runs `work`, which goes on after the reply (completing a paid order
 * upstream), so that the points it records are published on their own with
 * `metadata`, and not with whatever invocation the container serves by the
 * time they land.
 */
export function afterTheReply(metadata: Metadata, work: () => void): void {
  afterReply.run(metadata, work);
}

/**
 * Collects data points during an invocation and publishes them through
 * Powertools Metrics at its end: one EMF line per combination of dimensions,
 * repeated points of a metric as one array of values. Points recorded after
 * a reply (afterTheReply) or outside any invocation are published on their
 * own on the next turn of the event loop, so they are neither held back until
 * the next request nor mixed into it.
 */
export class MetricsRecorder {
  /** The open invocation's points. */
  private groups = new Map<string, Group>();
  /** Points that belong to no open invocation. */
  private detached = new Map<string, Group>();
  private invocationOpen = false;
  private detachedFlushScheduled = false;

  constructor(readonly metrics: Metrics) {}

  /** Marks the start of an invocation: its points wait for flush(). */
  begin(): void {
    this.invocationOpen = true;
  }

  add(name: MetricName, unit: Unit, value: number, dimensions: Dimensions = {}, rollups: string[][] = []): void {
    const ownMetadata = afterReply.getStore() ?? (this.invocationOpen ? undefined : {});
    const groups = ownMetadata ? this.detached : this.groups;
    const key = JSON.stringify([Object.entries(dimensions).sort(), rollups, ownMetadata ?? null]);
    let group = groups.get(key);
    if (!group) {
      group = { dimensions, rollups, points: [], metadata: ownMetadata ?? {} };
      groups.set(key, group);
    }
    group.points.push({ name, unit, value });
    if (ownMetadata && !this.detachedFlushScheduled) {
      this.detachedFlushScheduled = true;
      setImmediate(() => {
        this.detachedFlushScheduled = false;
        this.publish(this.detached);
      });
    }
  }

  count(name: MetricName, dimensions?: Dimensions, rollups?: string[][], value = 1): void {
    this.add(name, MetricUnit.Count, value, dimensions, rollups);
  }

  /** Ends the invocation: publishes its points, with `metadata` as non-dimension keys (e.g. the request id). */
  flush(metadata: Metadata = {}): void {
    this.invocationOpen = false;
    for (const group of this.groups.values()) group.metadata = metadata;
    this.publish(this.groups);
  }

  private publish(from: Map<string, Group>): void {
    const groups = [...from.values()];
    from.clear();
    for (const group of groups) {
      const sets = Object.keys(group.dimensions).length > 0 ? [Object.keys(group.dimensions), ...group.rollups] : [];
      for (const set of sets) this.metrics.addDimensions(Object.fromEntries(set.map((name) => [name, group.dimensions[name]!])));
      for (const point of group.points) this.metrics.addMetric(point.name, point.unit, point.value);
      for (const [key, value] of Object.entries(group.metadata)) if (value !== undefined) this.metrics.addMetadata(key, value);
      this.metrics.publishStoredMetrics();
    }
  }
}

/**
 * Powertools Metrics' own warnings, as our log lines. Not the one it gives for a
 * key shared by two dimension sets: every rollup (e.g. [route, outcome] and
 * [outcome]) shares its keys by design, with one value.
 */
const OVERLAPPING_SETS = /defined as both a dimension set and dimension set/;
const metricsWarnings = {
  debug: () => undefined,
  info: () => undefined,
  warn: (...content: unknown[]) => {
    const message = content.map(String).join(' ');
    if (!OVERLAPPING_SETS.test(message)) rootLogger.warn(`metrics: ${message}`);
  },
  error: (...content: unknown[]) => rootLogger.error(`metrics: ${content.map(String).join(' ')}`),
};

export function createMetrics(): Metrics {
  return new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE,
    serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME,
    defaultDimensions: { stage: process.env.SERVICE_STAGE || 'local' },
    logger: metricsWarnings,
  });
}

/** The container's recorder; handlers flush it once per invocation (lib/http/observability.ts). */
export const recorder = new MetricsRecorder(createMetrics());

// ---------------------------------------------------------------------------------------------
// Checkouts

export type CheckoutOutcome = 'paid' | 'pending' | 'declined' | 'unknown' | 'retry_later' | 'refused' | 'error' | 'replayed';

/** The routes whose answers are checkouts. */
export const CHECKOUT_ROUTES: ReadonlySet<string> = new Set(['POST /baskets/{basketId}/orders', 'POST /orders/{orderId}/payments']);

/** What a checkout answer says about the checkout (docs/api.md: Checkout, and the Checkouts metric in docs/operations.md). */
export function checkoutOutcome(status: number, code?: string, replayed = false): CheckoutOutcome {
  if (replayed) return 'replayed';
  if (status === 201 || status === 200) return 'paid';
  if (status === 202) return 'pending';
  if (status === 402) return 'declined';
  if (code === 'PAYMENT_STATUS_UNKNOWN') return 'unknown';
  if (status === 503 || status === 504) return 'retry_later';
  if (status >= 400 && status < 500) return 'refused';
  return 'error';
}

/** Counts a checkout answer; any other route is ignored. */
export function recordCheckout(
  routeKey: string | undefined,
  status: number | undefined,
  code?: string,
  replayed = false,
  into: MetricsRecorder = recorder,
): void {
  if (!routeKey || status === undefined || !CHECKOUT_ROUTES.has(routeKey)) return;
  into.count(MetricName.Checkouts, { route: routeKey, outcome: checkoutOutcome(status, code, replayed) }, [['outcome']]);
}

// ---------------------------------------------------------------------------------------------
// Upstream calls

/** One upstream attempt as the client reports it: an HTTP answer (status) or a failure without one (outcome). */
export interface UpstreamAttempt {
  method: string;
  path: string;
  attempt: number;
  /** Absent when nothing was sent (the breaker was open). */
  durationMs?: number;
  status?: number;
  /** timeout, connection_lost, connect_failed, aborted, circuit_open… when there is no status. */
  outcome?: string;
}

/** What the upstream client reports to (lib/upstream/client.ts takes it as an option). */
export interface UpstreamMetrics {
  attempt(attempt: UpstreamAttempt): void;
  breakerOpened(): void;
}

/** `POST /orders/`, `GET /orders/{id}`: the method and the path with ids and query cut out, so routes stay few. */
export function upstreamRoute(method: string, path: string): string {
  const [first = '', ...rest] = path
    .split('?')[0]!
    .split('/')
    .filter((segment, index) => index > 0 || segment !== '');
  const template = ['', first, ...rest.map((segment) => (segment === '' ? '' : '{id}'))].join('/');
  return `${method.toUpperCase()} ${template === '/' ? '/' : template}`;
}

export function upstreamOutcome(attempt: Pick<UpstreamAttempt, 'status' | 'outcome'>): string {
  if (attempt.status !== undefined) return `${Math.floor(attempt.status / 100)}xx`;
  return attempt.outcome ?? 'unknown';
}

export function upstreamMetrics(into: MetricsRecorder = recorder): UpstreamMetrics {
  return {
    attempt(attempt) {
      const route = upstreamRoute(attempt.method, attempt.path);
      const dimensions = { route, outcome: upstreamOutcome(attempt) };
      into.count(MetricName.UpstreamCalls, dimensions, [['route'], ['outcome']]);
      if (attempt.durationMs !== undefined)
        into.add(MetricName.UpstreamLatency, MetricUnit.Milliseconds, attempt.durationMs, dimensions, [['route'], ['outcome']]);
      if (attempt.attempt > 1) into.count(MetricName.UpstreamRetries, { route });
    },
    breakerOpened() {
      into.count(MetricName.BreakerOpened);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Reconciler

export interface ReconcilerRunMetrics {
  settled: number;
  failed: number;
  errors: number;
  withoutCredentials: number;
}

export interface OrderGauges {
  unknownOrders: number;
  oldestUnknownOrderSeconds: number;
  stuckOrders: number;
  reconcilerLagSeconds: number;
}

export function recordReconcilerRun(run: ReconcilerRunMetrics, into: MetricsRecorder = recorder): void {
  into.count(MetricName.ReconcilerRun);
  into.count(MetricName.ReconcilerSettled, {}, [], run.settled);
  into.count(MetricName.ReconcilerFailed, {}, [], run.failed);
  into.count(MetricName.ReconcilerErrors, {}, [], run.errors);
  into.count(MetricName.ReconcilerWithoutCredentials, {}, [], run.withoutCredentials);
}

export function recordOrderGauges(gauges: OrderGauges, into: MetricsRecorder = recorder): void {
  into.count(MetricName.UnknownOrders, {}, [], gauges.unknownOrders);
  into.add(MetricName.OldestUnknownOrderSeconds, MetricUnit.Seconds, Math.round(gauges.oldestUnknownOrderSeconds));
  into.count(MetricName.StuckOrders, {}, [], gauges.stuckOrders);
  into.add(MetricName.ReconcilerLagSeconds, MetricUnit.Seconds, Math.round(gauges.reconcilerLagSeconds));
}
