import { PostgresBasketRepository } from './baskets/postgres-repository';
import type { BasketRepository } from './baskets/repository';
import { tokenVerifierFor, type TokenVerifier } from './auth';
import type { Clock } from './clock';
import { BasketService } from './baskets/use-cases';
import { Catalogue } from './catalogue/catalogue';
import { config, effectMayLandWithinMs, type Config } from './config';
import { parseSealingKeys, TokenVault } from './credentials';
import { db, type Sql } from './db/sql';
import { upstreamMetrics } from './metrics';
import { HealthCheck } from './health';
import { IdempotencyStore } from './idempotency/store';
import { Checkout } from './orders/checkout';
import { Completion, type CompletionHandOff } from './orders/completion';
import { LambdaCompletionHandOff } from './completion/lambda';
import { PostgresOrderRepository } from './orders/postgres-repository';
import { OrderQueries } from './orders/queries';
import { Reconciler } from './orders/reconciler';
import { Refunds } from './orders/refund';
import { Resolutions } from './orders/resolutions';
import { Settlement } from './orders/settlement';
import type { PaymentGateway, UpstreamOrderGateway } from './orders/ports';
import type { OrderRepository } from './orders/repository';
import { UpstreamClient, type UpstreamTransport } from './upstream/client';
import { PosApi } from './upstream/pos-api';

/** Below the reconciler function's 120 s timeout in serverless.yml. */
const RECONCILER_RUN_BUDGET_MS = 90_000;

/** The adapters behind the use-cases' ports: what a test may wrap (to crash a process at a chosen step, or to schedule every call). */
export interface Ports {
  orders: OrderRepository;
  baskets: BasketRepository;
  idempotency: IdempotencyStore;
  upstreamOrders: UpstreamOrderGateway;
  payments: PaymentGateway;
}

export type WrapPorts = (ports: Ports) => Ports;

/** What a test or the checkout simulation may put in place of the real thing; the service itself passes none. */
export interface ServiceOverrides {
  wrapPorts?: WrapPorts;
  /** The upstream's calls go through this instead of HTTP. */
  transport?: UpstreamTransport;
  /** Time for the use-cases and every statement, instead of the system's and the database's. */
  clock?: Clock;
  /** Where a paid order's completion is handed instead of what COMPLETION_FUNCTION_NAME says (none: in process). */
  completionHandOff?: CompletionHandOff;
}

export interface Services {
  api: PosApi;
  catalogue: Catalogue;
  baskets: BasketService;
  orderQueries: OrderQueries;
  health: HealthCheck;
  /** The repositories themselves, for tests and tools; handlers go through the use-cases. */
  orders: OrderRepository;
  idempotency: IdempotencyStore;
  vault: TokenVault;
  checkout: Checkout;
  settlement: Settlement;
  /** A paid order's completion after the reply: handed to the completeOrder function, or run in process. */
  completion: Completion;
  refunds: Refunds;
  resolutions: Resolutions;
  reconciler: Reconciler;
  /** Closes the upstream connection pool (the database pool belongs to whoever passed it in). */
  close(): Promise<void>;
}

/**
 * Wires the use-cases to their adapters from one validated config and one
 * database pool: the only place that knows which implementation serves which
 * port. Handlers share one set per Lambda container (services(), handed to
 * them by functions/app.ts); tests build
 * their own with other settings, and may wrap the ports.
 */
export function createServices(c: Config, sql: Sql, overrides: ServiceOverrides = {}): Services {
  const { wrapPorts = (ports: Ports) => ports, clock } = overrides;
  const client = new UpstreamClient({
    baseUrl: c.UPSTREAM_BASE_URL,
    callTimeoutMs: c.UPSTREAM_CALL_TIMEOUT_MS,
    maxAttempts: c.UPSTREAM_MAX_ATTEMPTS,
    backoffBaseMs: c.UPSTREAM_BACKOFF_BASE_MS,
    backoffCapMs: c.UPSTREAM_BACKOFF_CAP_MS,
    breakerFailureThreshold: c.BREAKER_FAILURE_THRESHOLD,
    breakerHalfOpenAfterMs: c.BREAKER_HALF_OPEN_AFTER_MS,
    unavailableMeansNoEffect: c.UPSTREAM_503_MEANS_NO_EFFECT,
    adaptiveTimeout: {
      floorMs: c.UPSTREAM_ADAPTIVE_TIMEOUT_FLOOR_MS,
      p99Factor: c.UPSTREAM_ADAPTIVE_TIMEOUT_P99_FACTOR,
      initialMs: c.UPSTREAM_ADAPTIVE_TIMEOUT_INITIAL_MS,
      minSamples: 20,
      windowSize: 200,
    },
    metrics: upstreamMetrics(),
  });
  const api = new PosApi(overrides.transport ?? client);
  const abandonedAfterMs = c.ORDER_ABANDONED_AFTER_SECONDS * 1000;
  const catalogue = new Catalogue(api, { ttlMs: c.CATALOGUE_TTL_SECONDS * 1000, maxStaleMs: c.CATALOGUE_MAX_STALE_SECONDS * 1000 });
  const { orders, baskets, idempotency, upstreamOrders, payments } = wrapPorts({
    orders: new PostgresOrderRepository(sql, { clock, lateEffectMs: effectMayLandWithinMs(c) }),
    baskets: new PostgresBasketRepository(sql, clock),
    idempotency: new IdempotencyStore(sql, { ttlMs: c.IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000, clock }),
    upstreamOrders: api,
    payments: api,
  });
  const vault = new TokenVault(parseSealingKeys(c.TOKEN_ENCRYPTION_KEYS));
  const settlement = new Settlement(
    { orders, upstreamOrders, payments, clock },
    { retryAfterSeconds: client.retryAfterSeconds, abandonedAfterMs, completionLeaseMs: c.REQUEST_DEADLINE_MS },
  );
  const checkout = new Checkout(
    { orders, baskets, upstreamOrders, payments, vault, settlement, clock },
    {
      retryAfterSeconds: client.retryAfterSeconds,
      paymentTimeoutMs: c.PAYMENT_TIMEOUT_MS,
      paymentMinWindowMs: c.PAYMENT_MIN_WINDOW_MS,
    },
  );
  const completion = new Completion(
    { orders, settlement, vault, clock, handOff: 'completionHandOff' in overrides ? overrides.completionHandOff : completionHandOffFor(c) },
    { deadlineMs: c.REQUEST_DEADLINE_MS },
  );
  const refunds = new Refunds(
    { orders, payments, settlement, vault },
    { retryAfterSeconds: client.retryAfterSeconds, abandonedAfterMs, lateEffectMs: effectMayLandWithinMs(c), clock },
  );
  const reconciler = new Reconciler(orders, upstreamOrders, settlement, refunds, idempotency, vault, {
    batchSize: c.RECONCILER_BATCH_SIZE,
    abandonedAfterMs,
    declinedExpiryMs: c.ORDER_DECLINED_EXPIRY_MINUTES * 60_000,
    stuckAfterMs: c.STUCK_ORDER_MINUTES * 60_000,
    // A run that dies keeps its rows no longer than it could have run.
    leaseMs: RECONCILER_RUN_BUDGET_MS + c.REQUEST_DEADLINE_MS,
    perOrderDeadlineMs: c.REQUEST_DEADLINE_MS,
    runBudgetMs: RECONCILER_RUN_BUDGET_MS,
    clock,
  });
  return {
    api,
    catalogue,
    baskets: new BasketService(baskets, catalogue),
    orderQueries: new OrderQueries(orders),
    health: new HealthCheck(sql),
    orders,
    idempotency,
    vault,
    checkout,
    settlement,
    completion,
    refunds,
    resolutions: new Resolutions(orders, payments, settlement, vault, {
      stuckAfterMs: c.OPERATOR_STUCK_AFTER_MINUTES * 60_000,
      lateEffectMs: effectMayLandWithinMs(c),
      retryAfterSeconds: client.retryAfterSeconds,
      clock,
    }),
    reconciler,
    close: () => client.close(),
  };
}

/** The completeOrder function when COMPLETION_FUNCTION_NAME names it (serverless.yml does on every stage); else none. */
function completionHandOffFor(c: Config): CompletionHandOff | undefined {
  if (!c.COMPLETION_FUNCTION_NAME) return undefined;
  return new LambdaCompletionHandOff({
    functionName: c.COMPLETION_FUNCTION_NAME,
    endpoint: c.COMPLETION_INVOKE_ENDPOINT,
    region: c.AWS_REGION,
    timeoutMs: c.COMPLETION_HANDOFF_TIMEOUT_MS,
  });
}

let containerServices: Services | undefined;

/**
 * The container's services, built on first use and kept while it is warm:
 * the upstream connection pool and breaker, the catalogue cache and the
 * use-cases wired to their repositories.
 */
export function services(): Services {
  containerServices ??= createServices(config(), db());
  return containerServices;
}

let containerVerifier: TokenVerifier | undefined;

/** The container's token verifier, as AUTH_MODE says (upstream mode asks the container's upstream client). */
export function tokenVerifier(): TokenVerifier {
  containerVerifier ??= tokenVerifierFor(config(), services().api);
  return containerVerifier;
}
