import { AppError } from '../errors';
import type { CallOptions } from '../upstream/client';
import type { PosApi } from '../upstream/pos-api';
import { productFromUpstream, type Product } from './product';

interface Snapshot {
  products: Map<string, Product>;
  fetchedAt: number;
}

/**
 * The upstream catalogue, cached per warm container: fresh for `ttlMs`,
 * concurrent misses share one upstream call, and when a refresh fails the
 * last good copy is served (stale-if-error, up to `maxStaleMs` past its TTL)
 * rather than failing the caller.
 */
export class Catalogue {
  private snapshot?: Snapshot;
  private refreshing?: Promise<Snapshot>;

  constructor(
    private readonly api: PosApi,
    private readonly freshness: { ttlMs: number; maxStaleMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  async list(options: CallOptions): Promise<Product[]> {
    return [...(await this.current(options)).products.values()];
  }

  /** A product by id; asks the upstream for that one product when the cached list lacks it. */
  async find(productId: string, options: CallOptions): Promise<Product> {
    const cached = (await this.current(options)).products.get(productId);
    if (cached) return cached;
    const upstream = await this.api.getProduct(productId, options);
    if (!upstream) throw new AppError('PRODUCT_NOT_FOUND', `Product ${productId} does not exist`);
    const product = productFromUpstream(upstream);
    this.snapshot?.products.set(product.id, product);
    return product;
  }

  private async current(options: CallOptions): Promise<Snapshot> {
    const snapshot = this.snapshot;
    if (snapshot && this.now() - snapshot.fetchedAt < this.freshness.ttlMs) return snapshot;
    try {
      return await this.refresh(options);
    } catch (error) {
      if (!snapshot || this.now() - snapshot.fetchedAt > this.freshness.ttlMs + this.freshness.maxStaleMs) throw error;
      options.log.warn('catalogue refresh failed; serving the cached copy', { ageMs: this.now() - snapshot.fetchedAt, error });
      return snapshot;
    }
  }

  private refresh(options: CallOptions): Promise<Snapshot> {
    this.refreshing ??= this.api
      .listProducts(options)
      .then((products) => {
        this.snapshot = { products: new Map(products.map((p) => [p.id, productFromUpstream(p)])), fetchedAt: this.now() };
        return this.snapshot;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }
}
