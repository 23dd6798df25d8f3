import { DEFAULT_PRODUCTS, signDevToken, type Order, type Payment } from '../../dev/simulator';
import { ALICE, BOB, SECRET, startHarness, type Harness } from './harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
beforeEach(() => h.reset());

async function createOrder(body: Record<string, unknown>, as = ALICE): Promise<Order> {
  const result = await h.call('POST', '/orders/', { body, as });
  expect(result.status).toBe(201);
  return result.body as Order;
}

async function pay(order: Order, as = ALICE): Promise<Payment> {
  const result = await h.call('POST', '/payments/', { body: { order_id: order.id, amount: order.amount_total }, as });
  expect(result.status).toBe(201);
  return result.body as Payment;
}

describe('products', () => {
  it.each(['/products', '/products/'])('GET %s lists the hosted catalogue', async (path) => {
    const result = await h.call('GET', path);
    expect(result).toEqual({ status: 200, body: DEFAULT_PRODUCTS });
    expect(DEFAULT_PRODUCTS).toHaveLength(11);
  });

  it('GET /products/{id} answers one product, or 404 with a string body', async () => {
    const salt = DEFAULT_PRODUCTS[10];
    expect(await h.call('GET', `/products/${salt.id}`)).toEqual({ status: 200, body: salt });
    expect(await h.call('GET', `/products/${salt.id}/`)).toEqual({ status: 200, body: salt });
    expect(await h.call('GET', '/products/nope')).toEqual({ status: 404, body: 'Product not found' });
  });
});

describe('orders', () => {
  it('POST /orders/ creates a pending order with a generated id and the amount as given', async () => {
    const order = await createOrder({ total: 12.35 });
    expect(order).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      amount_total: 12.35,
      basket_id: null,
      user_id: ALICE,
      created_at: expect.any(String),
      status: 'pending',
    });
    expect((await h.ledger()).orders).toEqual([order]);
  });

  it('POST /orders (no slash) uses the caller-chosen order_id and basket_id', async () => {
    const result = await h.call('POST', '/orders', { body: { total: 3, order_id: 'ord-1', basket_id: 'b-1' } });
    expect(result.status).toBe(201);
    expect(result.body).toMatchObject({ id: 'ord-1', basket_id: 'b-1', amount_total: 3 });
  });

  it("GET /orders/ lists only the caller's orders, oldest first", async () => {
    const first = await createOrder({ total: 1, order_id: 'a1' });
    await createOrder({ total: 2, order_id: 'b1' }, BOB);
    const second = await createOrder({ total: 3, order_id: 'a2' });
    expect(await h.call('GET', '/orders/')).toEqual({ status: 200, body: [first, second] });
    expect((await h.call('GET', '/orders')).body).toEqual([first, second]);
  });

  it("GET /orders/{id}: own order 200, another user's 403, unknown 404", async () => {
    const order = await createOrder({ total: 5, order_id: 'mine' });
    expect(await h.call('GET', '/orders/mine')).toEqual({ status: 200, body: order });
    expect(await h.call('GET', '/orders/mine/')).toEqual({ status: 200, body: order });
    expect((await h.call('GET', '/orders/mine', { as: BOB })).status).toBe(403);
    expect(await h.call('GET', '/orders/missing')).toEqual({ status: 404, body: 'Order not found' });
  });

  it('PATCH /orders/{id} sets the status; validates it; refuses other users', async () => {
    await createOrder({ total: 5, order_id: 'o' });
    const patched = await h.call('PATCH', '/orders/o', { body: { status: 'completed' } });
    expect(patched).toEqual({ status: 200, body: expect.objectContaining({ id: 'o', status: 'completed' }) });
    expect((await h.call('PATCH', '/orders/o', { body: { status: 'shipped' } })).status).toBe(422);
    expect((await h.call('PATCH', '/orders/o', { body: { status: 'failed' }, as: BOB })).status).toBe(403);
    expect((await h.call('PATCH', '/orders/none', { body: { status: 'failed' } })).status).toBe(404);
    expect((await h.ledger()).orders[0].status).toBe('completed');
  });
});

describe('order ids', () => {
  it("'kept' stores a second record with the same id; GET answers the first", async () => {
    await h.setConfig({ profile: { orderIds: 'kept' } });
    const first = await createOrder({ total: 10, order_id: 'same' });
    const second = await createOrder({ total: 20, order_id: 'same' });
    expect(second).toMatchObject({ id: 'same', amount_total: 20 });
    expect((await h.ledger()).orders.map((order) => order.amount_total)).toEqual([10, 20]);
    expect((await h.call('GET', '/orders/same')).body).toEqual(first);
  });

  it("'deduplicated' answers the existing order with 201 and stores nothing new", async () => {
    await h.setConfig({ profile: { orderIds: 'deduplicated' } });
    const first = await createOrder({ total: 10, order_id: 'same' });
    const again = await createOrder({ total: 20, order_id: 'same' });
    expect(again).toEqual(first);
    expect((await h.ledger()).orders).toHaveLength(1);
    expect((await h.call('POST', '/orders/', { body: { total: 10, order_id: 'same' }, as: BOB })).status).toBe(403);
  });

  it("'rejected' answers 409 and stores nothing new", async () => {
    await h.setConfig({ profile: { orderIds: 'rejected' } });
    await createOrder({ total: 10, order_id: 'same' });
    expect(await h.call('POST', '/orders/', { body: { total: 10, order_id: 'same' } })).toEqual({
      status: 409,
      body: 'Order already exists',
    });
    expect((await h.ledger()).orders).toHaveLength(1);
  });
});

describe('payments and refunds', () => {
  it('POST /payments/ charges the order total: 201 completed card payment', async () => {
    const order = await createOrder({ total: 12.35, order_id: 'o' });
    const payment = await pay(order);
    expect(payment).toEqual({
      id: expect.any(String),
      amount: 12.35,
      user_id: ALICE,
      created_at: expect.any(String),
      status: 'completed',
      type: 'card',
      order_id: 'o',
    });
    expect((await h.ledger()).payments).toEqual([payment]);
    expect((await h.call('GET', '/orders/o')).body).toMatchObject({ status: 'pending' });
  });

  it('POST /payments/ refuses unknown orders (404), other users (403) and a wrong amount (422)', async () => {
    const order = await createOrder({ total: 12.35, order_id: 'o' });
    expect((await h.call('POST', '/payments', { body: { order_id: 'x', amount: 1 } })).status).toBe(404);
    expect((await h.call('POST', '/payments/', { body: { order_id: 'o', amount: 12.35 }, as: BOB })).status).toBe(403);
    const wrongAmount = await h.call('POST', '/payments/', { body: { order_id: order.id, amount: 12.34 } });
    expect(wrongAmount.status).toBe(422);
    expect(wrongAmount.body).toMatchObject({ detail: [{ loc: ['body', 'amount'] }] });
    expect((await h.ledger()).payments).toEqual([]);
  });

  it("GET /payments/{id}: own 200, another user's 403, unknown 404", async () => {
    const payment = await pay(await createOrder({ total: 4 }));
    expect(await h.call('GET', `/payments/${payment.id}`)).toEqual({ status: 200, body: payment });
    expect((await h.call('GET', `/payments/${payment.id}`, { as: BOB })).status).toBe(403);
    expect(await h.call('GET', '/payments/missing')).toEqual({ status: 404, body: 'Payment not found' });
  });

  it('DELETE /payments/{id} refunds once; repeating answers the refunded payment unchanged', async () => {
    const payment = await pay(await createOrder({ total: 4 }));
    const refunded = await h.call('DELETE', `/payments/${payment.id}`);
    expect(refunded).toEqual({ status: 200, body: { ...payment, status: 'refunded' } });
    expect(await h.call('DELETE', `/payments/${payment.id}/`)).toEqual(refunded);
    const ledger = await h.ledger();
    expect(ledger.refunds).toEqual([{ payment_id: payment.id, order_id: payment.order_id, amount: 4, at: expect.any(String) }]);
    expect(ledger.payments[0].status).toBe('refunded');
  });

  it("DELETE /payments/{id}: another user's 403, unknown 404, failed payment 409", async () => {
    const payment = await pay(await createOrder({ total: 4 }));
    expect((await h.call('DELETE', `/payments/${payment.id}`, { as: BOB })).status).toBe(403);
    expect((await h.call('DELETE', '/payments/missing')).status).toBe(404);

    await h.setConfig({ declineRate: 1 });
    const order = await createOrder({ total: 6 });
    expect((await h.call('POST', '/payments/', { body: { order_id: order.id, amount: 6 } })).status).toBe(402);
    const failed = (await h.ledger()).payments.find((candidate) => candidate.status === 'failed') as Payment;
    expect((await h.call('DELETE', `/payments/${failed.id}`)).status).toBe(409);
    expect((await h.ledger()).refunds).toEqual([]);
  });
});

describe('validation (422)', () => {
  it.each([
    ['a missing field', { body: {} }, [{ loc: ['body', 'total'], type: 'missing' }]],
    ['a wrong type', { body: { total: '12.35' } }, [{ loc: ['body', 'total'], type: 'float_type' }]],
    ['a negative total', { body: { total: -1 } }, [{ loc: ['body', 'total'], type: 'greater_than_equal' }]],
    ['a non-string order_id', { body: { total: 1, order_id: 7 } }, [{ loc: ['body', 'order_id'], type: 'string_type' }]],
    ['a body that is not JSON', { rawBody: '{total: 1' }, [{ loc: ['body'], type: 'json_invalid' }]],
    ['a JSON array', { rawBody: '[1]' }, [{ loc: ['body'], type: 'dict_type' }]],
    ['no body at all', {}, [{ loc: ['body'], type: 'json_invalid' }]],
  ])('POST /orders/ with %s answers a validation report', async (_case, options, detail) => {
    const result = await h.call('POST', '/orders/', options);
    expect(result.status).toBe(422);
    expect(result.body).toEqual({ detail: detail.map((issue) => expect.objectContaining({ ...issue, msg: expect.any(String) })) });
    expect((await h.ledger()).orders).toEqual([]);
  });

  it('POST /payments/ reports every missing field', async () => {
    const result = await h.call('POST', '/payments/', { body: {} });
    expect(result.status).toBe(422);
    expect(result.body).toMatchObject({ detail: [{ loc: ['body', 'order_id'] }, { loc: ['body', 'amount'] }] });
  });
});

describe('authentication (401)', () => {
  it.each([
    ['no token', async () => null],
    ['a malformed token', async () => 'not-a-jwt'],
    ['a token signed with another secret', () => signDevToken('other-secret', ALICE)],
    ['an expired token', () => signDevToken(SECRET, ALICE, -60)],
    ['a token without sub', () => signDevToken(SECRET, '')],
  ])('%s answers 401 with a string body', async (_case, makeToken) => {
    const result = await h.call('GET', '/orders/', { token: await makeToken() });
    expect(result.status).toBe(401);
    expect(typeof result.body).toBe('string');
    const calls = (await h.ledger()).calls;
    expect(calls).toEqual([expect.objectContaining({ status: 401, user: null, effectApplied: false })]);
  });
});

describe('routing and ledger', () => {
  it('answers 404 for unknown paths and 405 for unknown methods', async () => {
    expect(await h.call('GET', '/nothing')).toEqual({ status: 404, body: 'Not Found' });
    expect(await h.call('PUT', '/orders/')).toEqual({ status: 405, body: 'Method Not Allowed' });
  });

  it('GET /__ledger?user= filters orders, payments, refunds and calls to that user', async () => {
    const payment = await pay(await createOrder({ total: 1 }));
    await h.call('DELETE', `/payments/${payment.id}`);
    await pay(await createOrder({ total: 2 }, BOB), BOB);
    const ledger = await h.ledger(BOB);
    expect(ledger.orders.map((order) => order.user_id)).toEqual([BOB]);
    expect(ledger.payments.map((p) => p.user_id)).toEqual([BOB]);
    expect(ledger.refunds).toEqual([]);
    expect(ledger.calls.map((call) => call.user)).toEqual([BOB, BOB]);
    expect((await h.ledger()).calls.map((call) => call.seq)).toEqual([1, 2, 3, 4, 5]);
  });
});
