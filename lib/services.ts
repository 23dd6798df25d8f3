import { PostgresBasketRepository } from './baskets/postgres-repository';
import { BasketService } from './baskets/use-cases';
import { Catalogue } from './catalogue/catalogue';
import { config } from './config';
import { parseSealingKeys, TokenVault } from './credentials';
import { db } from './db/sql';
import { IdempotencyStore } from './idempotency/store';
import { Checkout } from './orders/checkout';
import { PostgresOrderRepository } from './orders/postgres-repository';
import { Reconciler } from './orders/reconciler';
import { Refunds } from './orders/refund';
import type { OrderRepository } from './orders/repository';
import { UpstreamClient } from './upstream/client';
import { PosApi } from './upstream/pos-api';

/**
 * Per-container singletons, built on first use and kept while the container
 * is warm: the upstream connection pool and breaker, the catalogue cache and
 * the use-cases wired to their repositories.
 */
let posApi: PosApi | undefined;
let catalogue: Catalogue | undefined;

export function upstream(): PosApi {
  if (!posApi) {
    const c = config();
    posApi = new PosApi(
      new UpstreamClient({
        baseUrl: c.UPSTREAM_BASE_URL,
        callTimeoutMs: c.UPSTREAM_CALL_TIMEOUT_MS,
        maxAttempts: c.UPSTREAM_MAX_ATTEMPTS,
        backoffBaseMs: c.UPSTREAM_BACKOFF_BASE_MS,
        backoffCapMs: c.UPSTREAM_BACKOFF_CAP_MS,
        breakerFailureThreshold: c.BREAKER_FAILURE_THRESHOLD,
        breakerHalfOpenAfterMs: c.BREAKER_HALF_OPEN_AFTER_MS,
        unavailableMeansNoEffect: c.UPSTREAM_503_MEANS_NO_EFFECT,
      }),
    );
  }
  return posApi;
}

export function productCatalogue(): Catalogue {
  const { CATALOGUE_TTL_SECONDS, CATALOGUE_MAX_STALE_SECONDS } = config();
  catalogue ??= new Catalogue(upstream(), { ttlMs: CATALOGUE_TTL_SECONDS * 1000, maxStaleMs: CATALOGUE_MAX_STALE_SECONDS * 1000 });
  return catalogue;
}

let baskets: BasketService | undefined;
let checkoutService: Checkout | undefined;
let refundService: Refunds | undefined;
let idempotency: IdempotencyStore | undefined;
let orderRepository: OrderRepository | undefined;
let vault: TokenVault | undefined;

export function idempotencyStore(): IdempotencyStore {
  idempotency ??= new IdempotencyStore(db(), { ttlMs: config().IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000 });
  return idempotency;
}

export function tokenVault(): TokenVault {
  vault ??= new TokenVault(parseSealingKeys(config().TOKEN_ENCRYPTION_KEYS));
  return vault;
}

export function checkout(): Checkout {
  const c = config();
  checkoutService ??= new Checkout(orders(), upstream(), tokenVault(), {
    retryAfterSeconds: upstream().client.retryAfterSeconds,
    abandonedAfterMs: c.ORDER_ABANDONED_AFTER_SECONDS * 1000,
    paymentTimeoutMs: c.PAYMENT_TIMEOUT_MS,
    paymentMinWindowMs: c.PAYMENT_MIN_WINDOW_MS,
    completionLeaseMs: c.REQUEST_DEADLINE_MS,
  });
  return checkoutService;
}

export function refunds(): Refunds {
  refundService ??= new Refunds(orders(), upstream(), checkout(), tokenVault(), {
    retryAfterSeconds: upstream().client.retryAfterSeconds,
    abandonedAfterMs: config().ORDER_ABANDONED_AFTER_SECONDS * 1000,
  });
  return refundService;
}

export function orders(): OrderRepository {
  orderRepository ??= new PostgresOrderRepository(db());
  return orderRepository;
}

/** Below the reconciler function's 120 s timeout in serverless.yml. */
const RECONCILER_RUN_BUDGET_MS = 90_000;

export function reconciler(): Reconciler {
  const c = config();
  return new Reconciler(orders(), upstream(), checkout(), refunds(), idempotencyStore(), tokenVault(), {
    batchSize: c.RECONCILER_BATCH_SIZE,
    abandonedAfterMs: c.ORDER_ABANDONED_AFTER_SECONDS * 1000,
    declinedExpiryMs: c.ORDER_DECLINED_EXPIRY_MINUTES * 60_000,
    // A run that dies keeps its rows no longer than it could have run.
    leaseMs: RECONCILER_RUN_BUDGET_MS + c.REQUEST_DEADLINE_MS,
    perOrderDeadlineMs: c.REQUEST_DEADLINE_MS,
    runBudgetMs: RECONCILER_RUN_BUDGET_MS,
  });
}

export function basketService(): BasketService {
  baskets ??= new BasketService(new PostgresBasketRepository(db()), productCatalogue());
  return baskets;
}
