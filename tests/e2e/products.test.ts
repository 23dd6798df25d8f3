import { DEFAULT_PRODUCTS } from '../../dev/simulator';
import { api, simulator, tokenFor, uniqueUser } from '../support/http';

describe('GET /products through serverless-offline', () => {
  const user = uniqueUser();
  let token: string;

  beforeAll(async () => {
    token = await tokenFor(user);
  });

  it('returns the catalogue with prices in integer minor units, net and gross', async () => {
    const response = await api('/products', { token });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(response.body.products).toHaveLength(DEFAULT_PRODUCTS.length);
    const pizza = response.body.products.find((p: { name: string }) => p.name === 'Pizza');
    expect(pizza).toEqual({ id: '4a3f004f-4b76-4796-adea-308a7c22a40e', name: 'Pizza', vatRate: 0.2, netPrice: 1200, grossPrice: 1440 });
    const sandwich = response.body.products.find((p: { name: string }) => p.name === 'Sandwich');
    expect(sandwich).toMatchObject({ netPrice: 777, grossPrice: 816 }); // 7.77 × 1.05 = 8.1585 → 816
    for (const product of response.body.products) {
      expect(Number.isInteger(product.netPrice)).toBe(true);
      expect(Number.isInteger(product.grossPrice)).toBe(true);
    }
  });

  it('answers 401 UNAUTHENTICATED without a token, with a forged one and with an expired one', async () => {
    const forged = `${token.slice(0, -4)}AAAA`;
    const expired = await tokenFor(user, -60);

    const responses = await Promise.all([api('/products'), api('/products', { token: forged }), api('/products', { token: expired })]);

    for (const response of responses) {
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('UNAUTHENTICATED');
    }
    expect(responses[2].body.error.message).toMatch(/expired/);
  });

  it('answers 503 UPSTREAM_UNAVAILABLE with Retry-After while the upstream is down', async () => {
    await simulator.queueFault({ method: 'GET', path: '/products/', kind: '503', times: 4, user });

    const response = await api('/products', { token });

    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    const refused = (await simulator.ledger(user)).calls.filter((c) => c.path.startsWith('/products') && c.status === 503);
    expect(refused.length).toBe(4); // the first try and three retries
  });

  it('answers unknown routes with a JSON 404, never an HTML page', async () => {
    const response = await api('/no/such/route', { token, method: 'POST' });

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: 'ROUTE_NOT_FOUND', message: 'No such route' } });
  });

  it('reports the database as healthy on /health without a token', async () => {
    const response = await api('/health');

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok', database: 'ok' });
  });
});
