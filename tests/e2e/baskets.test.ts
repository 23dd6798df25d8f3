import { randomUUID } from 'node:crypto';
import { PIZZA, SANDWICH, TEA } from '../support/catalogue';
import { api, simulator, tokenFor, uniqueUser } from '../support/http';

describe('basket routes through serverless-offline', () => {
  let token: string;
  let otherToken: string;

  beforeAll(async () => {
    token = await tokenFor(uniqueUser());
    otherToken = await tokenFor(uniqueUser('other'));
  });

  async function newBasket(): Promise<string> {
    const response = await api('/baskets', { method: 'POST', token });
    expect(response.status).toBe(201);
    return response.body.id;
  }

  it('runs a full basket session: create, add, change, remove, read, discard', async () => {
    const created = await api('/baskets', { method: 'POST', token });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/baskets/${created.body.id}`);
    expect(created.body).toMatchObject({ status: 'open', version: 1, lines: [], totals: { net: 0, vat: 0, gross: 0 } });
    const id = created.body.id;

    expect((await api(`/baskets/${id}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 2 } })).status).toBe(200);
    expect((await api(`/baskets/${id}/items/${SANDWICH}`, { method: 'PUT', token, body: { quantity: 3 } })).status).toBe(200);
    expect((await api(`/baskets/${id}/items/${TEA}`, { method: 'PUT', token, body: { quantity: 1 } })).status).toBe(200);
    const changed = await api(`/baskets/${id}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 1 } });
    const removed = await api(`/baskets/${id}/items/${TEA}`, { method: 'DELETE', token });
    const read = await api(`/baskets/${id}`, { token });

    expect(changed.body.lines.find((l: { productId: string }) => l.productId === PIZZA).quantity).toBe(1);
    expect(removed.status).toBe(200);
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe('"6"');
    expect(read.body).toMatchObject({
      version: 6,
      lines: [
        { productId: PIZZA, name: 'Pizza', quantity: 1, unitNetPrice: 1200, vatRate: 0.2, net: 1200, vat: 240, gross: 1440 },
        { productId: SANDWICH, name: 'Sandwich', quantity: 3, unitNetPrice: 777, vatRate: 0.05, net: 2331, vat: 117, gross: 2448 },
      ],
      vatBreakdown: [
        { vatRate: 0.2, net: 1200, vat: 240, gross: 1440 },
        { vatRate: 0.05, net: 2331, vat: 117, gross: 2448 },
      ],
      totals: { net: 3531, vat: 357, gross: 3888 },
    });

    const discarded = await api(`/baskets/${id}`, { method: 'DELETE', token });
    expect(discarded.status).toBe(204);
    expect((await api(`/baskets/${id}`, { token })).status).toBe(404);
  });

  it('removes a line when its quantity is set to 0, and PUT is idempotent', async () => {
    const id = await newBasket();
    const first = await api(`/baskets/${id}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 4 } });
    const again = await api(`/baskets/${id}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 4 } });
    const zero = await api(`/baskets/${id}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 0 } });

    expect(first.body.lines).toEqual(again.body.lines);
    expect(zero.body.lines).toEqual([]);
  });

  it('answers 404 BASKET_NOT_FOUND for another user’s basket and leaves it untouched', async () => {
    const id = await newBasket();
    await api(`/baskets/${id}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 1 } });

    const responses = await Promise.all([
      api(`/baskets/${id}`, { token: otherToken }),
      api(`/baskets/${id}/items/${PIZZA}`, { method: 'PUT', token: otherToken, body: { quantity: 9 } }),
      api(`/baskets/${id}/items/${PIZZA}`, { method: 'DELETE', token: otherToken }),
      api(`/baskets/${id}`, { method: 'DELETE', token: otherToken }),
    ]);

    for (const response of responses) expect(response.body.error.code).toBe('BASKET_NOT_FOUND');
    expect(responses.map((r) => r.status)).toEqual([404, 404, 404, 404]);
    const mine = await api(`/baskets/${id}`, { token });
    expect(mine.body).toMatchObject({ status: 'open', version: 2, lines: [{ quantity: 1 }] });
  });

  it('answers 412 VERSION_MISMATCH for a stale If-Match and accepts the current one', async () => {
    const id = await newBasket();

    const stale = await api(`/baskets/${id}/items/${PIZZA}`, {
      method: 'PUT',
      token,
      body: { quantity: 1 },
      headers: { 'if-match': '"7"' },
    });
    const current = await api(`/baskets/${id}/items/${PIZZA}`, {
      method: 'PUT',
      token,
      body: { quantity: 1 },
      headers: { 'if-match': '"1"' },
    });

    expect(stale.status).toBe(412);
    expect(stale.body.error).toMatchObject({ code: 'VERSION_MISMATCH', currentVersion: 1 });
    expect(current.status).toBe(200);
    expect(current.headers.get('etag')).toBe('"2"');
  });

  it('answers 422 VALIDATION_FAILED with the failing field paths', async () => {
    const id = await newBasket();

    const cases = await Promise.all([
      api(`/baskets/${id}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 1.5 } }),
      api(`/baskets/${id}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 1000 } }),
      api(`/baskets/${id}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 1, price: 1 } }),
      api(`/baskets/not-a-uuid`, { token }),
      api(`/baskets/${id}/items/${'x'.repeat(129)}`, { method: 'PUT', token, body: { quantity: 1 } }),
      api(`/baskets/${id}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 1 }, headers: { 'if-match': 'yesterday' } }),
    ]);

    expect(cases.map((c) => c.status)).toEqual([422, 422, 422, 422, 422, 422]);
    expect(cases.map((c) => c.body.error.details[0].path)).toEqual([
      'body.quantity',
      'body.quantity',
      'body',
      'params.basketId',
      'params.productId',
      'headers.if-match',
    ]);
  });

  it('answers 400 VALIDATION_FAILED for a body that is not JSON', async () => {
    const id = await newBasket();

    const response = await api(`/baskets/${id}/items/${PIZZA}`, {
      method: 'PUT',
      token,
      rawBody: '{"quantity": ',
      headers: { 'content-type': 'application/json' },
    });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('answers 404 PRODUCT_NOT_FOUND for a product the catalogue lacks', async () => {
    const id = await newBasket();

    const response = await api(`/baskets/${id}/items/no-such-product`, { method: 'PUT', token, body: { quantity: 1 } });

    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('PRODUCT_NOT_FOUND');
    expect((await api(`/baskets/${id}`, { token })).body.lines).toEqual([]);
  });

  it('answers 404 for a basket that does not exist', async () => {
    const response = await api(`/baskets/${randomUUID()}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 1 } });

    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('BASKET_NOT_FOUND');
  });

  it('answers 503 with Retry-After when the catalogue cannot be reached, and changes nothing', async () => {
    const user = uniqueUser('offline');
    const offlineToken = await tokenFor(user);
    const id = (await api('/baskets', { method: 'POST', token: offlineToken })).body.id;
    await simulator.queueFault({ method: 'GET', path: '/products/', kind: '503', times: 4, user });

    const response = await api(`/baskets/${id}/items/${PIZZA}`, { method: 'PUT', token: offlineToken, body: { quantity: 1 } });

    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await api(`/baskets/${id}`, { token: offlineToken })).body).toMatchObject({ version: 1, lines: [] });
  });

  it('lists the caller’s open baskets newest first, paginated', async () => {
    const lister = await tokenFor(uniqueUser('lister'));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await api('/baskets', { method: 'POST', token: lister })).body.id);

    const first = await api('/baskets?limit=2', { token: lister });
    const second = await api(`/baskets?limit=2&after=${first.body.nextCursor}`, { token: lister });

    expect(first.body.baskets.map((b: { id: string }) => b.id)).toEqual([ids[2], ids[1]]);
    expect(second.body.baskets.map((b: { id: string }) => b.id)).toEqual([ids[0]]);
    expect(second.body.nextCursor).toBeNull();
  });
});
