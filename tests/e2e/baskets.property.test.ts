import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { PIZZA } from '../support/catalogue';
import { api, tokenFor, uniqueUser } from '../support/http';

const SEED = 20261125;

describe('basket routes under random input (fast-check, seeded)', () => {
  let victimToken: string;
  let attackerToken: string;
  let victimBasket: string;
  let attackerBasket: string;
  let victimBefore: unknown;

  beforeAll(async () => {
    victimToken = await tokenFor(uniqueUser('victim'));
    attackerToken = await tokenFor(uniqueUser('attacker'));
    victimBasket = (await api('/baskets', { method: 'POST', token: victimToken })).body.id;
    await api(`/baskets/${victimBasket}/items/${PIZZA}`, { method: 'PUT', token: victimToken, body: { quantity: 2 } });
    attackerBasket = (await api('/baskets', { method: 'POST', token: attackerToken })).body.id;
    victimBefore = (await api(`/baskets/${victimBasket}`, { token: victimToken })).body;
  });

  const segment = fc.oneof(fc.string({ maxLength: 40 }), fc.uuid(), fc.constantFrom('', '..', '%', 'null', ' '));
  const basketId = fc.oneof(
    fc.constant(() => victimBasket),
    fc.constant(() => attackerBasket),
    fc.uuid().map((id) => () => id),
    segment.map((s) => () => s),
  );
  const productId = fc.oneof(fc.constant(PIZZA), segment, fc.string({ minLength: 120, maxLength: 140 }));
  const path = fc.oneof(
    fc.constant(() => '/baskets'),
    basketId.map((id) => () => `/baskets/${encodeURIComponent(id())}`),
    fc.tuple(basketId, productId).map(
      ([id, product]) =>
        () =>
          `/baskets/${encodeURIComponent(id())}/items/${encodeURIComponent(product)}`,
    ),
  );
  const body = fc.oneof(
    fc.constant(undefined),
    fc.record(
      { quantity: fc.oneof(fc.integer({ min: -5, max: 1200 }), fc.double(), fc.string(), fc.constant(null)) },
      { requiredKeys: [] },
    ),
    fc.jsonValue(),
  );
  const rawBody = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 60 }), fc.constant('{"quantity": '));
  const headers = fc.record(
    {
      'if-match': fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: 0, max: 20 }).map(String), fc.constant('"1"')),
      'x-request-id': fc.string({ maxLength: 200 }),
    },
    { requiredKeys: [] },
  );
  const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH');

  it('never answers 5xx and never changes another user’s basket', async () => {
    await fc.assert(
      fc.asyncProperty(method, path, body, rawBody, headers, async (m, p, b, raw, h) => {
        const canHaveBody = m !== 'GET';
        const response = await api(p(), {
          method: m,
          token: attackerToken,
          body: canHaveBody && raw === undefined ? b : undefined,
          rawBody: canHaveBody ? raw : undefined,
          headers: Object.fromEntries(Object.entries(h).filter(([, v]) => /^[\x20-\x7e]*$/.test(String(v)))) as Record<string, string>,
        });
        expect(response.status).toBeLessThan(500);
        expect(response.body === undefined || typeof response.body === 'object').toBe(true);
      }),
      { seed: SEED, numRuns: 400 },
    );

    const victimAfter = (await api(`/baskets/${victimBasket}`, { token: victimToken })).body;
    expect(victimAfter).toEqual(victimBefore);
  }, 120_000);

  it('never lets a random id reach another user’s basket', async () => {
    const foreignIds = [victimBasket, randomUUID()];
    for (const id of foreignIds) {
      const response = await api(`/baskets/${id}/items/${PIZZA}`, { method: 'PUT', token: attackerToken, body: { quantity: 1 } });
      expect(response.status).toBe(404);
    }
  });
});
