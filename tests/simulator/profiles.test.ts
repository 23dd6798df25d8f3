import { decodeJwt } from 'jose';
import { DEFAULT_PROFILE, signDevToken, type Order, type Payment } from '../../dev/simulator';
import { ALICE, BOB, SECRET, startHarness, type Harness, type RawResult } from './harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ seed: 11 });
});
afterAll(() => h.close());
beforeEach(() => h.reset());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const profilePath = (user: string) => `/__profiles/${encodeURIComponent(user)}`;

async function createOrder(body: Record<string, unknown>, as = ALICE): Promise<Order> {
  const result = await h.call('POST', '/orders/', { body, as });
  expect([200, 201]).toContain(result.status);
  return result.body as Order;
}

const payFor = (order: Order, as = ALICE) => h.call('POST', '/payments/', { body: { order_id: order.id, amount: order.amount_total }, as });

async function pay(order: Order, as = ALICE): Promise<Payment> {
  const result = await payFor(order, as);
  expect([200, 201]).toContain(result.status);
  return result.body as Payment;
}

describe("order ids 'ignored'", () => {
  it('gives every order a fresh id: a repeated order_id makes a second order', async () => {
    await h.setProfile(ALICE, { orderIds: 'ignored' });
    const first = await createOrder({ total: 4, order_id: 'chosen', basket_id: 'b-1' });
    const second = await createOrder({ total: 4, order_id: 'chosen', basket_id: 'b-1' });
    expect(first.id).not.toBe('chosen');
    expect(second.id).not.toBe('chosen');
    expect(second.id).not.toBe(first.id);
    expect([first.basket_id, second.basket_id]).toEqual(['b-1', 'b-1']);
    expect((await h.ledger()).orders.map((order) => order.id)).toEqual([first.id, second.id]);
    expect((await h.call('GET', '/orders/chosen')).status).toBe(404);
    expect((await h.call('GET', `/orders/${second.id}`)).body).toEqual(second);
  });
});

describe("payments 'pending'", () => {
  const PENDING_MS = 500;

  beforeEach(() => h.setProfile(ALICE, { payments: 'pending', pendingPaymentMs: PENDING_MS }));

  it('answers 201 pending; after pendingPaymentMs GET, the ledger and DELETE see it completed', async () => {
    const payment = await pay(await createOrder({ total: 3 }));
    expect(payment.status).toBe('pending');
    expect((await h.call('GET', `/payments/${payment.id}`)).body).toMatchObject({ status: 'pending' });
    expect((await h.ledger()).payments).toEqual([expect.objectContaining({ id: payment.id, status: 'pending' })]);
    expect((await h.call('DELETE', `/payments/${payment.id}`)).status).toBe(409);

    await sleep(PENDING_MS + 100);
    expect((await h.call('GET', `/payments/${payment.id}`)).body).toEqual({ ...payment, status: 'completed' });
    expect((await h.ledger()).payments[0].status).toBe('completed');
    expect((await h.call('DELETE', `/payments/${payment.id}`)).body).toMatchObject({ status: 'refunded' });
    expect((await h.ledger()).refunds).toHaveLength(1);
  });

  it('a declined payment answers 201 pending, then turns failed and cannot be refunded', async () => {
    const order = await createOrder({ total: 3 });
    await h.queueFault({ method: 'POST', path: '/payments/', kind: 'decline' });
    const result = await payFor(order);
    expect(result).toEqual({ status: 201, body: expect.objectContaining({ status: 'pending' }) });
    const payment = result.body as Payment;
    expect((await h.ledger()).calls[1]).toMatchObject({ status: 201, fault: 'decline', effectApplied: true });

    await sleep(PENDING_MS + 100);
    expect((await h.call('GET', `/payments/${payment.id}`)).body).toMatchObject({ status: 'failed' });
    expect((await h.ledger()).payments[0].status).toBe('failed');
    expect((await h.call('DELETE', `/payments/${payment.id}`)).status).toBe(409);
    expect((await h.ledger()).refunds).toEqual([]);
  });

  it("another user under 'completed' is charged at once by the same simulator", async () => {
    const payment = await pay(await createOrder({ total: 3 }, BOB), BOB);
    expect(payment.status).toBe('completed');
  });
});

describe('refunds', () => {
  it.each([
    ['idempotent', [200, 200, 200], 1],
    ['once', [200, 404, 404], 1],
    ['repeat', [200, 200, 200], 3],
  ] as const)("'%s': three DELETEs answer %j and record %i refund(s)", async (refunds, statuses, recorded) => {
    await h.setProfile(ALICE, { refunds });
    const payment = await pay(await createOrder({ total: 7.5 }));
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await h.call('DELETE', `/payments/${payment.id}`));
    expect(answers.map((answer) => answer.status)).toEqual(statuses);
    const ledger = await h.ledger();
    expect(ledger.refunds).toHaveLength(recorded);
    expect(ledger.refunds.every((refund) => refund.payment_id === payment.id && refund.amount === 7.5)).toBe(true);
    expect(ledger.payments[0].status).toBe('refunded');
    const deletes = ledger.calls.filter((call) => call.method === 'DELETE');
    expect(deletes.filter((call) => call.effectApplied)).toHaveLength(recorded);
  });
});

describe("replies 'varied'", () => {
  beforeEach(() => h.setProfile(ALICE, { replies: 'varied' }));

  it('POST /orders/ and POST /payments/ answer 200, PATCH /orders/{id} answers 201', async () => {
    const created = await h.call('POST', '/orders/', { body: { total: 2 } });
    expect(created.status).toBe(200);
    const order = created.body as Order;
    expect((await h.call('PATCH', `/orders/${order.id}`, { body: { status: 'completed' } })).status).toBe(201);
    expect((await payFor(order)).status).toBe(200);
    expect((await h.call('GET', `/orders/${order.id}`)).status).toBe(200);
  });

  it('an order_id repeat answers 200 when deduplicated and a text/plain 409 when rejected', async () => {
    await h.setProfile(ALICE, { replies: 'varied', orderIds: 'deduplicated' });
    await createOrder({ total: 1, order_id: 'twice' });
    expect((await h.call('POST', '/orders/', { body: { total: 1, order_id: 'twice' } })).status).toBe(200);
    await h.setProfile(ALICE, { replies: 'varied', orderIds: 'rejected' });
    const rejected = await h.callRaw('POST', '/orders/', { body: { total: 1, order_id: 'twice' } });
    expect(rejected).toEqual({
      status: 409,
      body: 'Order already exists',
      contentType: expect.stringMatching(/^text\/plain/),
    });
  });

  it('every error body is text/plain', async () => {
    const bobs = await createOrder({ total: 5 }, BOB);
    await h.queueFault({ method: 'POST', path: '/orders/', kind: '500_after', user: ALICE });
    const failed = await h.callRaw('POST', '/orders/', { body: { total: 1 } });
    const [own] = (await h.ledger(ALICE)).orders;
    await h.queueFault({ method: 'GET', path: '/orders/', kind: '503', user: ALICE });
    await h.queueFault({ method: 'POST', path: '/payments/', kind: 'decline', user: ALICE });
    const expired = await signDevToken(SECRET, ALICE, -60);
    const errors: [RawResult, number, string][] = [
      [failed, 500, 'Internal Server Error'],
      [await h.callRaw('GET', '/orders/'), 503, 'Service Unavailable'],
      [await h.callRaw('POST', '/payments/', { body: { order_id: own.id, amount: 1 } }), 402, 'Payment declined'],
      [await h.callRaw('GET', '/products/nope'), 404, 'Product not found'],
      [await h.callRaw('GET', `/orders/${bobs.id}`), 403, 'Not allowed to access this order'],
      [await h.callRaw('DELETE', '/payments/nope'), 404, 'Payment not found'],
      [await h.callRaw('GET', '/nowhere'), 404, 'Not Found'],
      [await h.callRaw('GET', '/orders/', { token: expired }), 401, 'Invalid or expired token'],
    ];
    for (const [result, status, body] of errors) {
      expect(result).toEqual({ status, body, contentType: expect.stringMatching(/^text\/plain/) });
    }
  });

  it('a user under plain replies still gets JSON strings', async () => {
    const result = await h.callRaw('GET', '/products/nope', { as: BOB });
    expect(result).toEqual({ status: 404, body: 'Product not found', contentType: 'application/json' });
  });

  it('422 bodies are shaped like an Elysia/TypeBox validation report', async () => {
    const missing = await h.call('POST', '/orders/', { body: { order_id: 'x' } });
    expect(missing).toEqual({
      status: 422,
      body: {
        type: 'validation',
        on: 'body',
        property: '/total',
        message: 'Expected required property',
        expected: { total: 0 },
        found: { order_id: 'x' },
        errors: [{ type: 45, schema: { type: 'number', minimum: 0 }, path: '/total', message: 'Expected required property' }],
      },
    });
  });

  it.each([
    ['POST', '/orders/', { body: { total: '3' } }, '/total', 'Expected number'],
    ['POST', '/orders/', { body: { total: -1 } }, '/total', 'Expected number to be greater or equal to 0'],
    ['POST', '/orders/', { rawBody: '{total' }, '', 'Expected object'],
    ['POST', '/payments/', { body: { amount: 1 } }, '/order_id', 'Expected required property'],
    ['PATCH', '/orders/any', { body: { status: 'shipped' } }, '/status', 'Expected union value'],
  ])('%s %s with %j reports %s: %s', async (method, path, options, property, message) => {
    const result = await h.call(method, path, options);
    expect(result.status).toBe(422);
    const errors = [{ path: property, message }];
    expect(result.body).toMatchObject({ type: 'validation', on: 'body', property, message, errors });
  });

  it('a payment of the wrong amount answers 422 in the same shape', async () => {
    const order = await createOrder({ total: 5 });
    const result = await h.call('POST', '/payments/', { body: { order_id: order.id, amount: 4 } });
    expect(result.status).toBe(422);
    expect(result.body).toMatchObject({ type: 'validation', property: '/amount', found: { amount: 4 } });
    expect((await h.ledger()).payments).toEqual([]);
  });
});

describe('503 after the effect', () => {
  it("'after_effect': a scripted 503 on POST /orders/ answers 503, yet the order exists", async () => {
    await h.setProfile(ALICE, { unavailable: 'after_effect' });
    await h.queueFault({ method: 'POST', path: '/orders/', kind: '503' });
    const result = await h.call('POST', '/orders/', { body: { total: 8, order_id: 'behind-503' } });
    expect(result).toEqual({ status: 503, body: 'Service Unavailable' });
    const ledger = await h.ledger();
    expect(ledger.orders.map((order) => order.id)).toEqual(['behind-503']);
    expect(ledger.calls[0]).toMatchObject({ status: 503, fault: '503', effectApplied: true });
  });

  it("'after_effect': a random 503 on POST /payments/ charges the order", async () => {
    await h.setProfile(ALICE, { unavailable: 'after_effect' });
    const order = await createOrder({ total: 8 });
    await h.setConfig({ faults: { rate503: 1 } });
    expect((await payFor(order)).status).toBe(503);
    expect((await h.ledger()).payments).toEqual([expect.objectContaining({ order_id: order.id, status: 'completed' })]);
  });

  it("the '503_after' kind applies the effect whatever the profile", async () => {
    expect((await h.admin('GET', profilePath(ALICE))).body).toMatchObject({ unavailable: 'before_effect' });
    await h.queueFault({ method: 'POST', path: '/orders/', kind: '503_after' });
    expect((await h.call('POST', '/orders/', { body: { total: 8, order_id: 'after' } })).status).toBe(503);
    const ledger = await h.ledger();
    expect(ledger.orders.map((order) => order.id)).toEqual(['after']);
    expect(ledger.calls[0]).toMatchObject({ status: 503, fault: '503_after', effectApplied: true });
  });

  it("'before_effect' (default): a 503 applies nothing", async () => {
    await h.queueFault({ method: 'POST', path: '/orders/', kind: '503' });
    expect((await h.call('POST', '/orders/', { body: { total: 8 } })).status).toBe(503);
    expect((await h.ledger()).orders).toEqual([]);
  });
});

describe('per-user profiles', () => {
  it('two users play two readings against the same simulator', async () => {
    await h.setProfile(ALICE, { orderIds: 'rejected', replies: 'varied' });
    await h.setProfile(BOB, { orderIds: 'ignored' });
    await createOrder({ total: 1, order_id: 'alice-1' });
    const aliceAgain = await h.callRaw('POST', '/orders/', { body: { total: 1, order_id: 'alice-1' } });
    expect(aliceAgain).toMatchObject({ status: 409, contentType: expect.stringMatching(/^text\/plain/) });
    const bobFirst = await h.call('POST', '/orders/', { body: { total: 1, order_id: 'bob-1' }, as: BOB });
    const bobAgain = await h.call('POST', '/orders/', { body: { total: 1, order_id: 'bob-1' }, as: BOB });
    expect([bobFirst.status, bobAgain.status]).toEqual([201, 201]);
    expect((await h.ledger(BOB)).orders).toHaveLength(2);
    expect((await h.ledger(ALICE)).orders.map((order) => order.id)).toEqual(['alice-1']);
    expect((await h.admin('GET', '/__config')).body).toMatchObject({ profile: DEFAULT_PROFILE });
  });

  it('an override is merged over the global profile, which it follows for the keys it does not set', async () => {
    await h.setConfig({ profile: { payments: 'pending' } });
    const put = await h.admin('PUT', profilePath(ALICE), { refunds: 'once' });
    expect(put).toEqual({ status: 200, body: { ...DEFAULT_PROFILE, payments: 'pending', refunds: 'once' } });
    await h.setConfig({ profile: { replies: 'varied' } });
    expect((await h.admin('GET', profilePath(ALICE))).body).toMatchObject({ refunds: 'once', replies: 'varied' });
    expect((await h.admin('GET', profilePath(BOB))).body).toMatchObject({ refunds: 'idempotent', replies: 'varied' });
  });

  it('PUT replaces the previous override; DELETE falls back to the global profile', async () => {
    await h.setProfile(ALICE, { orderIds: 'rejected' });
    await h.setProfile(ALICE, { payments: 'pending' });
    expect((await h.admin('GET', profilePath(ALICE))).body).toEqual({ ...DEFAULT_PROFILE, payments: 'pending' });
    expect(await h.admin('DELETE', profilePath(ALICE))).toEqual({ status: 200, body: DEFAULT_PROFILE });
    expect((await pay(await createOrder({ total: 2 }))).status).toBe('completed');
  });

  it('the user id in the path is URL-decoded', async () => {
    await h.admin('PUT', `/__profiles/${ALICE}`, { refunds: 'repeat' });
    expect((await h.admin('GET', '/__profiles/alice%40example.com')).body).toMatchObject({ refunds: 'repeat' });
    const payment = await pay(await createOrder({ total: 1 }));
    await h.call('DELETE', `/payments/${payment.id}`);
    await h.call('DELETE', `/payments/${payment.id}`);
    expect((await h.ledger()).refunds).toHaveLength(2);
  });

  it.each([
    [{ orderIds: 'duplicate' }, ['body', 'orderIds']],
    [{ pendingPaymentMs: 'soon' }, ['body', 'pendingPaymentMs']],
    [{ pendingPaymentMs: -1 }, ['body', 'pendingPaymentMs']],
    [{ colour: 'red' }, ['body', 'colour']],
    [{ seed: 3 }, ['body', 'seed']],
    [[], ['body']],
  ])('PUT %j answers 422 and changes nothing', async (body, loc) => {
    await h.setProfile(ALICE, { refunds: 'once' });
    const result = await h.admin('PUT', profilePath(ALICE), body);
    expect(result.status).toBe(422);
    expect(result.body).toEqual({ detail: [expect.objectContaining({ loc })] });
    expect((await h.admin('GET', profilePath(ALICE))).body).toEqual({ ...DEFAULT_PROFILE, refunds: 'once' });
  });

  it('PUT with a body that is not JSON answers 422', async () => {
    const result = await fetch(`${h.url}${profilePath(ALICE)}`, { method: 'PUT', body: '{nope' });
    expect(result.status).toBe(422);
  });
});

describe('tokens without exp', () => {
  it('POST /__token with expires false issues a token without exp that the upstream routes accept', async () => {
    const issued = await h.admin('POST', '/__token', { sub: ALICE, expires: false });
    const { token } = issued.body as { token: string };
    const claims = decodeJwt(token);
    expect(claims.sub).toBe(ALICE);
    expect(claims).not.toHaveProperty('exp');
    expect((await h.call('GET', '/orders/', { token })).status).toBe(200);
    expect((await h.ledger()).calls).toEqual([expect.objectContaining({ status: 200, user: ALICE })]);
  });

  it('signDevToken with a null lifetime signs such a token', async () => {
    const token = await signDevToken(SECRET, BOB, null);
    expect(decodeJwt(token)).not.toHaveProperty('exp');
    expect((await h.call('GET', '/orders/', { token })).status).toBe(200);
  });

  it('refuses expires false together with expiresIn, and a non-boolean expires', async () => {
    expect((await h.admin('POST', '/__token', { sub: ALICE, expires: false, expiresIn: 60 })).status).toBe(422);
    expect((await h.admin('POST', '/__token', { sub: ALICE, expires: 'no' })).status).toBe(422);
  });
});
