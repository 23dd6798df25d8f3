import { PostgresBasketRepository } from './baskets/postgres-repository';
import { BasketService } from './baskets/use-cases';
import { Catalogue } from './catalogue/catalogue';
import { config } from './config';
import { db } from './db/sql';
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

export function basketService(): BasketService {
  baskets ??= new BasketService(new PostgresBasketRepository(db()), productCatalogue());
  return baskets;
}
