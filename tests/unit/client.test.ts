import fc from 'fast-check';
import {
  isPosApiError,
  PosApiError,
  PosClient,
  PosTransportError,
  type FetchLike,
  type Order,
  type OrderStatus,
  type Outcome,
} from '../../client/src';
import { mulberry32 as seeded } from '../../dev/simulator/random';

/**
 * The client against a scripted fake of the service: each route answers
 * from a list of steps (an answer, a lost answer, a refused connection, a
 * hang), on a fake clock that only the client's waits move, with seeded
 * randomness. What the client sent, and when, is recorded: every retry of an
 * operation under the same Idempotency-Key, no retry of what is not safe, the
 * waits Retry-After asks for, and the outcome each final answer means.
 */

const BASKET = '7d0c7a3e-3c1b-4a59-9d3c-0e6f4f1d2a11';
const ORDER = '0b6a2d4e-8f5c-4c3a-9e1d-2f7b6a5c4d3e';
const PIZZA = '4a3f004f-4b76-4796-adea-308a7c22a40e';
/** The fake clock moves this much while a request hangs until the client gives up on it. */
const HANG_MS = 50;

type Step =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  /** The service got the request (and may have acted on it); the answer was lost: the connection was reset. */
  | 'lost'
  /** The connection was refused: nothing was sent. */
  | 'refused'
  /** No answer until the client gives up (its attempt timeout). */
  | 'hang';

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  at: number;
}

function order(status: OrderStatus, extra: Partial<Order> = {}): Order {
  return {
    id: ORDER,
    basketId: BASKET,
    status,
    total: 1440,
    paymentId: ['paid', 'completed', 'refunding', 'refunded', 'paying'].includes(status) ? 'pay-1' : null,
    paymentAttempts: status === 'placed' || status === 'pending' ? 0 : 1,
    paymentState: 'not_charged',
    nextActions: [],
    createdAt: '2026-12-01T10:00:00.000Z',
    updatedAt: '2026-12-01T10:00:01.000Z',
    ...extra,
  };
}

const ok = (status: number, body: unknown, headers: Record<string, string> = {}): Step => ({ status, body, headers });
const fail = (status: number, code: string, extra: Record<string, unknown> = {}, retryAfter?: number): Step => ({
  status,
  body: { error: { code, message: `${code} said the service`, ...extra } },
  headers: retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
});

/** A fake of the service, route by route ("POST /baskets/{id}/orders" with the real ids); a route's last step repeats. */
function fakeService(script: Record<string, Step[]>) {
  let now = 0;
  let requestNo = 0;
  const sent: Sent[] = [];
  const fetch: FetchLike = async (url, init) => {
    const { pathname, search } = new URL(url);
    const headers = Object.fromEntries(
      Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]),
    );
    const route = `${init.method} ${pathname}`;
    sent.push({ method: init.method!, path: pathname + search, headers, body: init.body as string | undefined, at: now });
    const steps = script[route];
    if (!steps?.length) throw new Error(`the fake service has no answer for ${route}`);
    const step = steps.length > 1 ? steps.shift()! : steps[0];
    if (step === 'lost') throw new TypeError('fetch failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
    if (step === 'refused')
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    if (step === 'hang')
      return new Promise<Response>((_, reject) =>
        init.signal!.addEventListener('abort', () => {
          now += HANG_MS;
          reject(new DOMException('This operation was aborted', 'AbortError'));
        }),
      );
    return new Response(step.status === 204 ? null : JSON.stringify(step.body), {
      status: step.status,
      headers: { 'content-type': 'application/json', 'x-request-id': `req-${++requestNo}`, ...step.headers },
    });
  };
  let keys = 0;
  const client = (options: { budgetMs?: number; attemptTimeoutMs?: number } = {}) =>
    new PosClient({
      baseUrl: 'http://pos.test/',
      token: 'cashier-token',
      fetch,
      budgetMs: options.budgetMs ?? 20_000,
      attemptTimeoutMs: options.attemptTimeoutMs ?? HANG_MS,
      backoff: { baseMs: 200, maxMs: 2000 },
      random: seeded(42),
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
      newKey: () => `key-${++keys}`,
    });
  return { fetch, sent, client, now: () => now, posts: () => sent.filter((s) => s.method === 'POST') };
}

const checkoutRoute = `POST /baskets/${BASKET}/orders`;
const payRoute = `POST /orders/${ORDER}/payments`;
const orderRoute = `GET /orders/${ORDER}`;

describe('checkout: one key, retried only with that key', () => {
  it('pays at once: one request, an Idempotency-Key, the token, no body', async () => {
    const service = fakeService({ [checkoutRoute]: [ok(201, order('paid'))] });

    const outcome = await service.client().checkout(BASKET);

    expect(outcome).toMatchObject({ kind: 'paid', orderId: ORDER, order: { status: 'paid', total: 1440 }, attempts: 1, retries: [] });
    expect(outcome.resume).toEqual({ operation: 'checkout', id: BASKET, key: 'key-1', ifMatch: undefined });
    expect(service.sent).toEqual([
      { method: 'POST', path: `/baskets/${BASKET}/orders`, headers: { 'idempotency-key': 'key-1', 'x-auth-user': 'cashier-token' }, at: 0 },
    ]);
  });

  it('retries 503 and 504 with the same key after Retry-After, and pays', async () => {
    const service = fakeService({
      [checkoutRoute]: [
        fail(503, 'UPSTREAM_UNAVAILABLE', { orderId: ORDER }, 1),
        fail(504, 'UPSTREAM_TIMEOUT', {}, 2),
        ok(201, order('paid')),
      ],
    });

    const outcome = await service.client().checkout(BASKET);

    expect(outcome).toMatchObject({ kind: 'paid', attempts: 3, retries: ['unavailable', 'unavailable'] });
    const posts = service.posts();
    expect(posts.map((p) => p.headers['idempotency-key'])).toEqual(['key-1', 'key-1', 'key-1']);
    expect(posts[1].at - posts[0].at).toBeGreaterThanOrEqual(1000);
    expect(posts[2].at - posts[1].at).toBeGreaterThanOrEqual(2000);
  });

  it('follows a pending payment (202) up with the same key after Retry-After', async () => {
    const service = fakeService({ [checkoutRoute]: [ok(202, order('paying'), { 'retry-after': '2' }), ok(201, order('paid'))] });

    const outcome = await service.client().checkout(BASKET);

    expect(outcome).toMatchObject({ kind: 'paid', retries: ['payment pending'] });
    const posts = service.posts();
    expect(posts.map((p) => p.headers['idempotency-key'])).toEqual(['key-1', 'key-1']);
    expect(posts[1].at - posts[0].at).toBeGreaterThanOrEqual(2000);
  });

  it('waits a request in progress out (409 REQUEST_IN_PROGRESS) and takes the replayed answer', async () => {
    const service = fakeService({
      [checkoutRoute]: [fail(409, 'REQUEST_IN_PROGRESS', {}, 1), ok(201, order('paid'), { 'idempotent-replayed': 'true' })],
    });

    const outcome = await service.client().checkout(BASKET);

    expect(outcome).toMatchObject({ kind: 'paid', replayed: true, retries: ['in progress'] });
    expect(service.posts().map((p) => p.headers['idempotency-key'])).toEqual(['key-1', 'key-1']);
  });

  it.each<[string, Step]>([
    ['the answer was lost (reset)', 'lost'],
    ['no answer came in time', 'hang'],
    ['the connection was refused', 'refused'],
    ['a 500', fail(500, 'INTERNAL')],
    ['a 502 not from the service', { status: 502, body: 'Bad Gateway' }],
    ['a 429', fail(429, 'THROTTLED', {}, 1)],
  ])('after %s, sends the same request again with the same key, and never another key', async (_, first) => {
    const service = fakeService({ [checkoutRoute]: [first, ok(201, order('paid'), { 'idempotent-replayed': 'true' })] });

    const outcome = await service.client().checkout(BASKET, { ifMatch: 3 });

    expect(outcome.kind).toBe('paid');
    const [a, b] = service.posts();
    expect(b).toEqual({ ...a, at: b.at });
    expect(a.headers).toMatchObject({ 'idempotency-key': 'key-1', 'if-match': '"3"' });
  });

  it('reports a decline and does not pay again; paying again is a new call under a new key', async () => {
    const service = fakeService({
      [checkoutRoute]: [fail(402, 'PAYMENT_DECLINED', { orderId: ORDER })],
      [orderRoute]: [ok(200, order('declined'))],
      [payRoute]: [ok(201, order('paid', { paymentAttempts: 2 }))],
    });
    const pos = service.client();

    const declined = await pos.checkout(BASKET);

    expect(declined).toMatchObject({ kind: 'declined', orderId: ORDER, order: { status: 'declined' }, attempts: 1 });
    expect(service.posts()).toHaveLength(1);
    expect(isPosApiError((declined as any).error, 'PAYMENT_DECLINED')).toBe(true);

    const paid = await pos.pay(declined.kind === 'declined' ? declined.orderId : '');

    expect(paid).toMatchObject({ kind: 'paid', resume: { operation: 'pay', id: ORDER, key: 'key-2' } });
    expect(service.posts().map((p) => `${p.path} ${p.headers['idempotency-key']}`)).toEqual([
      `/baskets/${BASKET}/orders key-1`,
      `/orders/${ORDER}/payments key-2`,
    ]);
  });

  it('reports an unknown payment as unknown, once: never retried, never a failure', async () => {
    const service = fakeService({
      [checkoutRoute]: [fail(502, 'PAYMENT_STATUS_UNKNOWN', { orderId: ORDER }), ok(201, order('paid'))],
      [orderRoute]: [ok(200, order('unknown', { nextActions: ['ask_operator'] }))],
    });

    const outcome = await service.client().checkout(BASKET);

    expect(outcome).toMatchObject({ kind: 'unknown', orderId: ORDER, order: { status: 'unknown' }, attempts: 1 });
    expect(outcome.message).toMatch(/supervisor/);
    expect(service.posts()).toHaveLength(1);
  });

  it('reports an upstream refusal as cancelled (nothing charged), from the order it names', async () => {
    const service = fakeService({
      [checkoutRoute]: [fail(502, 'UPSTREAM_ERROR', { orderId: ORDER })],
      [orderRoute]: [ok(200, order('failing')), ok(200, order('failed'))],
    });

    expect(await service.client().checkout(BASKET)).toMatchObject({ kind: 'cancelled', orderId: ORDER, order: { status: 'failing' } });
    expect(service.posts()).toHaveLength(1);

    const unnamed = fakeService({ [checkoutRoute]: [fail(502, 'UPSTREAM_ERROR')] });
    expect(await unnamed.client().checkout(BASKET)).toMatchObject({ kind: 'cancelled', orderId: undefined });
  });

  it.each([
    ['BASKET_EMPTY', fail(409, 'BASKET_EMPTY')],
    ['VERSION_MISMATCH', fail(412, 'VERSION_MISMATCH', { currentVersion: 4 })],
    ['IDEMPOTENCY_KEY_REUSED', fail(422, 'IDEMPOTENCY_KEY_REUSED')],
    ['BASKET_NOT_FOUND', fail(404, 'BASKET_NOT_FOUND')],
    ['UNAUTHENTICATED', fail(401, 'UNAUTHENTICATED')],
  ])('takes a refusal (%s) as final: refused, with the typed error, sent once', async (code, step) => {
    const service = fakeService({ [checkoutRoute]: [step] });

    const outcome = await service.client().checkout(BASKET, { ifMatch: { version: 3 } });

    expect(outcome.kind).toBe('refused');
    const error = (outcome as any).error as PosApiError;
    expect(error).toBeInstanceOf(PosApiError);
    expect({ code: error.code, status: error.status, requestId: error.requestId }).toEqual({
      code,
      status: (step as any).status,
      requestId: 'req-1',
    });
    if (code === 'VERSION_MISMATCH') expect(error.currentVersion).toBe(4);
    expect(service.posts()).toHaveLength(1);
  });

  it('answers a basket another checkout holds with what that order came to (waiting while it is paying)', async () => {
    const service = fakeService({
      [checkoutRoute]: [fail(409, 'BASKET_LOCKED', { orderId: ORDER })],
      [orderRoute]: [ok(200, order('paying')), ok(200, order('paying')), ok(200, order('paid'))],
    });

    const outcome = await service.client().checkout(BASKET);

    expect(outcome).toMatchObject({ kind: 'paid', orderId: ORDER, error: { code: 'BASKET_LOCKED' } });
    expect(service.posts()).toHaveLength(1);
    expect(service.sent.filter((s) => s.method === 'GET')).toHaveLength(3);
  });

  it('ends retry-later, with the key, when the budget runs out; resuming sends the same key', async () => {
    const service = fakeService({ [checkoutRoute]: [fail(503, 'UPSTREAM_UNAVAILABLE', { orderId: ORDER }, 1)] });
    const pos = service.client({ budgetMs: 3500 });

    const later = await pos.checkout(BASKET);

    expect(later).toMatchObject({ kind: 'retry-later', reason: 'unavailable', key: 'key-1', orderId: ORDER, retryAfterMs: 1000 });
    expect(service.now()).toBeLessThanOrEqual(3500);
    expect((later as any).cause).toBeInstanceOf(PosApiError);
    expect(service.posts().every((p) => p.headers['idempotency-key'] === 'key-1')).toBe(true);
    const sentBefore = service.posts().length;

    const resumed = await pos.resume(later.resume, { budgetMs: 1000 });

    expect(resumed.kind).toBe('retry-later');
    expect(
      service
        .posts()
        .slice(sentBefore)
        .map((p) => p.headers['idempotency-key']),
    ).toEqual(['key-1']);
  });

  it('does not sleep past the budget: a Retry-After longer than what is left ends retry-later at once', async () => {
    const service = fakeService({ [checkoutRoute]: [fail(503, 'SERVICE_UNAVAILABLE', {}, 30)] });

    const outcome = await service.client({ budgetMs: 10_000 }).checkout(BASKET);

    expect(outcome).toMatchObject({ kind: 'retry-later', retryAfterMs: 30_000, attempts: 1 });
    expect(service.now()).toBe(0);
  });

  it('ends retry-later, never failed, when no answer ever comes to a payment', async () => {
    const service = fakeService({ [checkoutRoute]: ['lost'] });

    const outcome = await service.client({ budgetMs: 5000 }).checkout(BASKET);

    expect(outcome).toMatchObject({ kind: 'retry-later', reason: 'no answer', key: 'key-1' });
    expect((outcome as any).cause).toBeInstanceOf(PosTransportError);
    expect(new Set(service.posts().map((p) => p.headers['idempotency-key']))).toEqual(new Set(['key-1']));
  });

  it('takes a success that is not an order (a proxy’s page) as undecided, never as paid', async () => {
    const service = fakeService({ [checkoutRoute]: [{ status: 200, body: '<html>gateway</html>' }] });

    expect(await service.client({ budgetMs: 2000 }).checkout(BASKET)).toMatchObject({ kind: 'retry-later', key: 'key-1' });
  });

  it('stops when the caller aborts, retry-later with the key', async () => {
    const service = fakeService({ [checkoutRoute]: [fail(503, 'UPSTREAM_UNAVAILABLE', {}, 1)] });
    const controller = new AbortController();
    const pos = new PosClient({
      baseUrl: 'http://pos.test',
      token: async () => 'refreshed-token',
      fetch: async (url, init) => {
        controller.abort();
        return service.fetch(url, init);
      },
      newKey: () => 'abort-key',
      sleep: async () => undefined,
    });

    const outcome = await pos.checkout(BASKET, { signal: controller.signal });

    expect(outcome).toMatchObject({ kind: 'retry-later', key: 'abort-key', attempts: 1 });
    expect(service.sent[0].headers['x-auth-user']).toBe('refreshed-token');
  });
});

describe('prepare, pay, cancel, refund', () => {
  it('prepares with {"pay": false}, then pays under a key of its own', async () => {
    const service = fakeService({ [checkoutRoute]: [ok(201, order('placed'))], [payRoute]: [ok(201, order('paid'))] });
    const pos = service.client();

    const prepared = await pos.prepare(BASKET);
    const paid = await pos.pay(ORDER);

    expect(prepared).toMatchObject({ kind: 'prepared', orderId: ORDER });
    expect(paid).toMatchObject({ kind: 'paid' });
    const [prepare, pay] = service.posts();
    expect(prepare.body).toBe('{"pay":false}');
    expect(prepare.headers['content-type']).toBe('application/json');
    expect(pay.body).toBeUndefined();
    expect(pay.headers['idempotency-key']).not.toBe(prepare.headers['idempotency-key']);
  });

  it('pay() of an order paid meanwhile (409 ORDER_STATE_CONFLICT) answers paid, without paying', async () => {
    const service = fakeService({
      [payRoute]: [fail(409, 'ORDER_STATE_CONFLICT', { orderId: ORDER })],
      [orderRoute]: [ok(200, order('completed'))],
    });

    expect(await service.client().pay(ORDER)).toMatchObject({ kind: 'paid', order: { status: 'completed' } });
    expect(service.posts()).toHaveLength(1);
  });

  it('pay() of an order whose earlier payment is unknown answers unknown', async () => {
    const service = fakeService({
      [payRoute]: [fail(409, 'ORDER_STATE_CONFLICT', { orderId: ORDER })],
      [orderRoute]: [ok(200, order('unknown'))],
    });

    expect(await service.client().pay(ORDER)).toMatchObject({ kind: 'unknown', orderId: ORDER });
  });

  it('cancels (200 failed, 202 failing), retrying a 503 without any key', async () => {
    const route = `DELETE /orders/${ORDER}`;
    const service = fakeService({ [route]: [fail(503, 'DATABASE_UNAVAILABLE', {}, 1), ok(200, order('failed'))] });

    expect(await service.client().cancel(ORDER)).toMatchObject({ kind: 'cancelled', orderId: ORDER, attempts: 2 });
    expect(service.sent.every((s) => s.headers['idempotency-key'] === undefined)).toBe(true);

    const failing = fakeService({ [route]: [ok(202, order('failing'))] });
    expect(await failing.client().cancel(ORDER)).toMatchObject({ kind: 'cancelled', attempts: 1 });
  });

  it('a cancel that lost to a payment answers what the order came to: paid', async () => {
    const service = fakeService({
      [`DELETE /orders/${ORDER}`]: [fail(409, 'ORDER_STATE_CONFLICT', { orderId: ORDER })],
      [orderRoute]: [ok(200, order('paid'))],
    });

    expect(await service.client().cancel(ORDER)).toMatchObject({ kind: 'paid', error: { code: 'ORDER_STATE_CONFLICT' } });
  });

  it('refunds, waiting out a refund in progress; an upstream refusal is refused, not cancelled', async () => {
    const route = `POST /orders/${ORDER}/refund`;
    const service = fakeService({ [route]: [fail(409, 'REQUEST_IN_PROGRESS', { orderId: ORDER }, 1), ok(200, order('refunded'))] });

    expect(await service.client().refund(ORDER)).toMatchObject({ kind: 'refunded', retries: ['in progress'] });
    expect(service.sent.every((s) => s.headers['idempotency-key'] === undefined)).toBe(true);

    const refusing = fakeService({ [route]: [fail(502, 'UPSTREAM_ERROR', { orderId: ORDER })] });
    expect(await refusing.client().refund(ORDER)).toMatchObject({ kind: 'refused', error: { code: 'UPSTREAM_ERROR' } });
    expect(refusing.posts()).toHaveLength(1);
  });
});

describe('reads and basket writes', () => {
  const basket = (version: number, quantity: number) => ({
    id: BASKET,
    status: 'open',
    version,
    createdAt: '2026-12-01T10:00:00.000Z',
    updatedAt: '2026-12-01T10:00:00.000Z',
    lines: quantity
      ? [{ productId: PIZZA, name: 'Pizza', quantity, unitNetPrice: 1200, vatRate: 0.2, net: 1200, vat: 240, gross: 1440 }]
      : [],
    vatBreakdown: [],
    totals: { net: 1200 * quantity, vat: 240 * quantity, gross: 1440 * quantity },
  });
  const item = `/baskets/${BASKET}/items/${PIZZA}`;

  it('creates a basket once: a lost answer is not sent again (it is not idempotent), a refused connection or a 429 is', async () => {
    const lost = fakeService({ 'POST /baskets': ['lost', ok(201, basket(1, 0))] });
    await expect(lost.client().createBasket()).rejects.toBeInstanceOf(PosTransportError);
    expect(lost.posts()).toHaveLength(1);

    const unavailable = fakeService({ 'POST /baskets': [fail(503, 'DATABASE_UNAVAILABLE', {}, 1), ok(201, basket(1, 0))] });
    await expect(unavailable.client().createBasket()).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 });
    expect(unavailable.posts()).toHaveLength(1);

    const refused = fakeService({ 'POST /baskets': ['refused', fail(429, 'THROTTLED', {}, 1), ok(201, basket(1, 0))] });
    expect(await refused.client().createBasket()).toMatchObject({ id: BASKET, version: 1 });
    expect(refused.posts()).toHaveLength(3);
  });

  it('sets a line with If-Match, retrying a lost answer; the retry refused as stale finds its own write landed', async () => {
    const service = fakeService({
      [`PUT ${item}`]: ['lost', fail(412, 'VERSION_MISMATCH', { currentVersion: 4 })],
      [`GET /baskets/${BASKET}`]: [ok(200, basket(4, 2))],
    });

    const updated = await service.client().setItem(BASKET, PIZZA, 2, { ifMatch: 3 });

    expect(updated).toMatchObject({ version: 4, lines: [{ quantity: 2 }] });
    const puts = service.sent.filter((s) => s.method === 'PUT');
    expect(puts.map((p) => [p.headers['if-match'], p.body])).toEqual([
      ['"3"', '{"quantity":2}'],
      ['"3"', '{"quantity":2}'],
    ]);
  });

  it('a stale If-Match with no doubt about it throws VERSION_MISMATCH with the current version', async () => {
    const service = fakeService({ [`PUT ${item}`]: [fail(412, 'VERSION_MISMATCH', { currentVersion: 5 })] });

    const error = await service
      .client()
      .setItem(BASKET, PIZZA, 2, { ifMatch: 3 })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PosApiError);
    expect(error).toMatchObject({ code: 'VERSION_MISMATCH', status: 412, currentVersion: 5 });
  });

  it('a stale If-Match after a lost answer, with someone else’s change, still throws', async () => {
    const service = fakeService({
      [`DELETE ${item}`]: ['lost', fail(412, 'VERSION_MISMATCH', { currentVersion: 5 })],
      [`GET /baskets/${BASKET}`]: [ok(200, basket(5, 0))],
    });

    await expect(service.client().removeItem(BASKET, PIZZA, { ifMatch: 3 })).rejects.toMatchObject({ code: 'VERSION_MISMATCH' });
  });

  it('reads retry what is undecided, pass the query, and unwrap the products', async () => {
    const service = fakeService({
      'GET /products': [fail(504, 'UPSTREAM_TIMEOUT', {}, 1), ok(200, { products: [{ id: PIZZA, name: 'Pizza' }] })],
      'GET /orders': [ok(200, { orders: [order('declined')], nextCursor: null })],
    });
    const pos = service.client();

    expect(await pos.products()).toEqual([{ id: PIZZA, name: 'Pizza' }]);
    expect(await pos.listOrders({ state: 'declined,unknown', basketId: BASKET, limit: 5 })).toMatchObject({
      orders: [{ status: 'declined' }],
    });
    expect(service.sent.map((s) => s.path)).toEqual([
      '/products',
      '/products',
      `/orders?state=declined%2Cunknown&basketId=${BASKET}&limit=5`,
    ]);
  });
});

describe('any script of answers to a checkout (seeded property)', () => {
  /** Answers the service may give a checkout, each with what it means when it is the last. */
  const ANSWERS: Array<{ step: Step; final: Outcome['kind'] | 'retry' }> = [
    { step: ok(201, order('paid')), final: 'paid' },
    { step: ok(201, order('paid'), { 'idempotent-replayed': 'true' }), final: 'paid' },
    { step: ok(202, order('paying'), { 'retry-after': '2' }), final: 'retry' },
    { step: fail(402, 'PAYMENT_DECLINED', { orderId: ORDER }), final: 'declined' },
    { step: fail(502, 'PAYMENT_STATUS_UNKNOWN', { orderId: ORDER }), final: 'unknown' },
    { step: fail(502, 'UPSTREAM_ERROR', { orderId: ORDER }), final: 'cancelled' },
    { step: fail(409, 'REQUEST_IN_PROGRESS', {}, 1), final: 'retry' },
    { step: fail(409, 'BASKET_EMPTY'), final: 'refused' },
    { step: fail(412, 'VERSION_MISMATCH', { currentVersion: 2 }), final: 'refused' },
    { step: fail(422, 'IDEMPOTENCY_KEY_REUSED'), final: 'refused' },
    { step: fail(429, 'THROTTLED', {}, 1), final: 'retry' },
    { step: fail(500, 'INTERNAL'), final: 'retry' },
    { step: fail(503, 'UPSTREAM_UNAVAILABLE', { orderId: ORDER }, 1), final: 'retry' },
    { step: fail(504, 'UPSTREAM_TIMEOUT', {}, 3), final: 'retry' },
    { step: 'lost', final: 'retry' },
    { step: 'hang', final: 'retry' },
  ];
  /** What the order reads as after an answer that names it. */
  const READS: Record<string, OrderStatus> = { declined: 'declined', unknown: 'unknown', cancelled: 'failed' };

  it('sends one key, stops at the first answer that decides, honours Retry-After and the budget, and reports that answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: ANSWERS.length - 1 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 500, max: 30_000 }),
        async (picks, budgetMs) => {
          const script = picks.map((i) => ANSWERS[i]);
          // After the scripted answers, the service keeps answering 503 with Retry-After.
          const after: Step = fail(503, 'UPSTREAM_UNAVAILABLE', {}, 1);
          const stepAt = (i: number) => (i < script.length ? script[i].step : after);
          const decidingAt = script.findIndex((a) => a.final !== 'retry');
          const service = fakeService({
            [checkoutRoute]: [...script.map((a) => (typeof a.step === 'string' ? a.step : { ...a.step })), after],
            [orderRoute]: [ok(200, order(READS[script[decidingAt]?.final] ?? 'paid'))],
          });

          // Hangs end (in real time) after the attempt timeout: short here, so 400 runs take little time.
          const outcome = await service.client({ budgetMs, attemptTimeoutMs: 2 }).checkout(BASKET);

          const posts = service.posts();
          // One key, on every request.
          expect(new Set(posts.map((p) => p.headers['idempotency-key']))).toEqual(new Set(['key-1']));
          // Nothing after the answer that decided: a decline, an unknown payment, a refusal are never sent again.
          if (decidingAt >= 0) expect(posts.length).toBeLessThanOrEqual(decidingAt + 1);
          // The waits: at least what Retry-After asked.
          for (let i = 1; i < posts.length; i++) {
            const asked = stepAt(i - 1);
            const retryAfter = typeof asked === 'object' ? Number(asked.headers?.['retry-after'] ?? 0) * 1000 : 0;
            expect(posts[i].at - posts[i - 1].at).toBeGreaterThanOrEqual(retryAfter);
          }
          // Within the budget (a hung request gives up after at most what was left).
          expect(service.now()).toBeLessThanOrEqual(budgetMs + HANG_MS);
          // The outcome is what the deciding answer says; if none decided, retry-later with the key.
          if (posts.length === decidingAt + 1) expect(outcome.kind).toBe(script[decidingAt].final);
          else expect(outcome).toMatchObject({ kind: 'retry-later', key: 'key-1' });
        },
      ),
      { seed: 20261203, numRuns: 400 },
    );
  });
});
