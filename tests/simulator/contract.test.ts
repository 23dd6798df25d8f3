import {
  DEFAULT_PROFILE,
  signDevToken,
  UPSTREAM_READINGS,
  type FaultKind,
  type Order,
  type Payment,
  type Product,
  type UpstreamProfile,
} from '../../dev/simulator';
import { startHarness, type CallOptions, type Harness, type RawResult } from './harness';
import { UpstreamDocument } from './openapi';

/**
 * The simulator against the upstream's own OpenAPI document, under every reading the service is tested
 * with: each route's success body matches the documented schema, every error body is a string.
 */
const document = new UpstreamDocument();
const STRANGER = 'stranger@readings.example.com';
/** A late effect is a fault (nothing answers), not a way of answering: the replies are checked with none drawn. */
const READINGS = (Object.entries(UPSTREAM_READINGS) as [string, Partial<UpstreamProfile>][]).map(
  ([name, reading]): [string, Partial<UpstreamProfile>] => [name, { ...reading, lateEffects: 0 }],
);

let h: Harness;
let strangersOrder: Order;

beforeAll(async () => {
  h = await startHarness({ seed: 21 });
  strangersOrder = (await h.call('POST', '/orders/', { body: { total: 1 }, as: STRANGER })).body as Order;
});
afterAll(() => h.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const JSON_TYPE = /^application\/json/;
const TEXT_TYPE = /^text\/plain/;

describe.each(READINGS)('under the %s reading', (name, reading) => {
  const user = `${name}@readings.example.com`;
  const profile: UpstreamProfile = { ...DEFAULT_PROFILE, ...reading };

  beforeAll(() => h.setProfile(user, reading));

  /** Calls a route as `user`; checks a documented status (any 2xx under varied replies) and the body's schema. */
  async function succeed(method: string, route: string, path: string, options: CallOptions = {}): Promise<unknown> {
    const result = await h.callRaw(method, path, { as: user, ...options });
    const documented = document.success(method, route);
    if (profile.replies === 'varied') expect(String(result.status)).toMatch(/^2\d\d$/);
    else expect(result.status).toBe(documented.status);
    expect(result.contentType).toMatch(JSON_TYPE);
    documented.validate(result.body);
    expect({ route: `${method} ${route}`, errors: documented.validate.errors }).toEqual({
      route: `${method} ${route}`,
      errors: null,
    });
    return result.body;
  }

  /** Follows a payment up with GET /payments/{id} until it is no longer pending. */
  async function settled(payment: Payment): Promise<Payment> {
    const giveUpAt = Date.now() + 5000;
    let current = payment;
    while (current.status === 'pending' && Date.now() < giveUpAt) {
      await sleep(50);
      current = (await succeed('GET', '/payments/{id}', `/payments/${payment.id}`)) as Payment;
    }
    return current;
  }

  it('every route answers its documented success body', async () => {
    const products = (await succeed('GET', '/products/', '/products/')) as Product[];
    await succeed('GET', '/products/{id}', `/products/${products[0].id}`);
    const body = { total: 12.35, order_id: `${name}-order`, basket_id: `${name}-basket` };
    const order = (await succeed('POST', '/orders/', '/orders/', { body })) as Order;
    await succeed('GET', '/orders/', '/orders/');
    await succeed('GET', '/orders/{id}', `/orders/${order.id}`);
    const paymentBody = { order_id: order.id, amount: order.amount_total };
    const created = (await succeed('POST', '/payments/', '/payments/', { body: paymentBody })) as Payment;
    const payment = await settled(created);
    expect(payment.status).toBe('completed');
    await succeed('PATCH', '/orders/{id}', `/orders/${order.id}`, { body: { status: 'completed' } });
    const refunded = (await succeed('DELETE', '/payments/{id}', `/payments/${payment.id}`)) as Payment;
    expect(refunded.status).toBe('refunded');
  });

  /** Checks an error reply: a string (JSON, or text/plain under varied replies) matching any documented schema. */
  function expectStringError(method: string, route: string, result: RawResult, status: number): void {
    expect({ route: `${method} ${route}`, status: result.status }).toEqual({ route: `${method} ${route}`, status });
    expect(typeof result.body).toBe('string');
    expect(result.contentType).toMatch(profile.replies === 'varied' ? TEXT_TYPE : JSON_TYPE);
    const validate = document.error(method, route, status);
    if (validate) expect(validate(result.body)).toBe(true);
  }

  const fault = (method: string, path: string, kind: FaultKind) => h.queueFault({ method, path, kind, user });

  it('every error body is a string, except the 422 report', async () => {
    const order = (await h.call('POST', '/orders/', { body: { total: 2 }, as: user })).body as Order;
    const call = (method: string, path: string, options: CallOptions = {}) => h.callRaw(method, path, { as: user, ...options });

    expectStringError('GET', '/products/{id}', await call('GET', '/products/missing'), 404);
    expectStringError('GET', '/orders/{id}', await call('GET', '/orders/missing'), 404);
    expectStringError('GET', '/orders/{id}', await call('GET', `/orders/${strangersOrder.id}`), 403);
    const patchMissing = await call('PATCH', '/orders/missing', { body: { status: 'failed' } });
    expectStringError('PATCH', '/orders/{id}', patchMissing, 404);
    expectStringError('GET', '/payments/{id}', await call('GET', '/payments/missing'), 404);
    expectStringError('DELETE', '/payments/{id}', await call('DELETE', '/payments/missing'), 404);
    await fault('GET', '/products/', '503');
    expectStringError('GET', '/products/', await call('GET', '/products/'), 503);
    await fault('POST', '/orders/', '503');
    expectStringError('POST', '/orders/', await call('POST', '/orders/', { body: { total: 1 } }), 503);
    await fault('POST', '/orders/', '500_after');
    expectStringError('POST', '/orders/', await call('POST', '/orders/', { body: { total: 1 } }), 500);
    const payment = { body: { order_id: order.id, amount: 2 } };
    await fault('POST', '/payments/', '503');
    expectStringError('POST', '/payments/', await call('POST', '/payments/', payment), 503);
    await fault('POST', '/payments/', '500_after');
    expectStringError('POST', '/payments/', await call('POST', '/payments/', payment), 500);
    const forged = await signDevToken('not-the-secret', user);
    expectStringError('GET', '/orders/', await call('GET', '/orders/', { token: forged }), 401);

    const report = await call('POST', '/orders/', { body: { order_id: 'no-total' } });
    expect(report.status).toBe(422);
    expect(report.contentType).toMatch(JSON_TYPE);
    expect(report.body).toEqual(expect.any(Object));
  });

  it('a declined payment answers a string 402, or a pending payment that fails', async () => {
    const order = (await h.call('POST', '/orders/', { body: { total: 3 }, as: user })).body as Order;
    await fault('POST', '/payments/', 'decline');
    const body = { order_id: order.id, amount: 3 };
    if (profile.payments === 'pending') {
      const payment = (await succeed('POST', '/payments/', '/payments/', { body })) as Payment;
      expect((await settled(payment)).status).toBe('failed');
    } else {
      expectStringError('POST', '/payments/', await h.callRaw('POST', '/payments/', { body, as: user }), 402);
    }
  });
});
