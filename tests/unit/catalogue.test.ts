import { Catalogue } from '../../lib/catalogue/catalogue';
import { Deadline } from '../../lib/deadline';
import { AppError } from '../../lib/errors';
import { createLogger } from '../../lib/logger';
import type { PosApi, UpstreamProduct } from '../../lib/upstream/pos-api';

const products: UpstreamProduct[] = [
  { id: 'pizza', name: 'Pizza', vat_rate: 0.2, price_unit: 12 },
  { id: 'tea', name: 'Tea', vat_rate: 0.12, price_unit: 2.5 },
];

class FakePosApi {
  listCalls = 0;
  productCalls = 0;
  failing = false;
  async listProducts(): Promise<UpstreamProduct[]> {
    this.listCalls++;
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.failing) throw new AppError('UPSTREAM_UNAVAILABLE', 'down');
    return products;
  }
  async getProduct(id: string): Promise<UpstreamProduct | undefined> {
    this.productCalls++;
    return id === 'late-addition' ? { id, name: 'Late', vat_rate: 0.25, price_unit: 1 } : undefined;
  }
}

const options = { token: 't', deadline: Deadline.fromNow(5000), log: createLogger({}, 'error') };

describe('the catalogue cache', () => {
  let now: number;
  let api: FakePosApi;
  let catalogue: Catalogue;

  beforeEach(() => {
    now = 1_000_000;
    api = new FakePosApi();
    catalogue = new Catalogue(api as unknown as PosApi, { ttlMs: 60_000, maxStaleMs: 300_000 }, () => now);
  });

  it('converts prices to minor units and VAT to basis points', async () => {
    expect(await catalogue.find('tea', options)).toEqual({ id: 'tea', name: 'Tea', vatBasisPoints: 1200, netUnitMinor: 250 });
  });

  it('serves repeated look-ups within the TTL from one upstream call', async () => {
    await catalogue.find('pizza', options);
    now += 59_000;
    await catalogue.find('tea', options);
    await catalogue.list(options);

    expect(api.listCalls).toBe(1);
  });

  it('refreshes after the TTL', async () => {
    await catalogue.list(options);
    now += 60_001;
    await catalogue.list(options);

    expect(api.listCalls).toBe(2);
  });

  it('coalesces concurrent misses into one upstream call', async () => {
    await Promise.all(Array.from({ length: 25 }, () => catalogue.find('pizza', options)));

    expect(api.listCalls).toBe(1);
  });

  it('serves the stale copy when a refresh fails, until it is too old', async () => {
    await catalogue.list(options);
    api.failing = true;

    now += 200_000;
    expect(await catalogue.find('pizza', options)).toMatchObject({ netUnitMinor: 1200 });
    now += 200_000; // 400 s old: past TTL (60 s) + max staleness (300 s)
    await expect(catalogue.find('pizza', options)).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('fails when the upstream is down and nothing is cached', async () => {
    api.failing = true;

    await expect(catalogue.list(options)).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('asks for one product the list lacks, and 404s an unknown one', async () => {
    expect(await catalogue.find('late-addition', options)).toMatchObject({ id: 'late-addition', netUnitMinor: 100 });
    await expect(catalogue.find('nope', options)).rejects.toMatchObject({ code: 'PRODUCT_NOT_FOUND' });
    expect(api.listCalls).toBe(1);
  });
});
