import { UpstreamCallError } from '../../lib/upstream/outcome';
import { upstreamTestBed } from '../support/upstream-bed';

describe('the resilient upstream client against the simulator', () => {
  const { client, options, admin, url } = upstreamTestBed({ secret: 'client-test-secret-0123456789', seed: 7, user: 'client@example.com' });
  const calls = async () =>
    ((await (await fetch(`${url()}/__ledger`)).json()) as { calls: { method: string; path: string; status: number }[] }).calls;

  beforeEach(() => admin('/__reset'));

  /** Sends a hung order creation, then a hung payment with its own attempt timeout: how each failed, and how long it took. */
  async function hungCreateThenPayment(upstream: ReturnType<typeof client>, paymentTimeoutMs: number) {
    await admin('/__faults', { method: 'POST', path: '/orders/', kind: 'hang_after' });
    await admin('/__faults', { method: 'POST', path: '/payments/', kind: 'hang_after' });
    let started = Date.now();
    const create = await upstream.call('POST', '/orders/', { total: 1 }, { ...options(), kind: 'create-order' }).catch((error) => error);
    const createMs = Date.now() - started;
    started = Date.now();
    const pay = await upstream
      .call('POST', '/payments/', { order_id: 'x', amount: 1 }, { ...options(), kind: 'create-payment', timeoutMs: paymentTimeoutMs })
      .catch((error) => error);
    return { create, createMs, pay, payMs: Date.now() - started };
  }

  it('retries a read through 503s and returns the answer', async () => {
    await admin('/__faults', { method: 'GET', path: '/products/', kind: '503', times: 2 });

    const response = await client().get('/products/', options());

    expect(response.status).toBe(200);
    expect((await calls()).map((c) => c.status)).toEqual([503, 503, 200]);
  });

  it('never repeats a payment after a 500: one call, and the error says the outcome is unknown', async () => {
    const orderId = 'c0ffee00-0000-4000-8000-000000000001';
    await client().call('POST', '/orders/', { order_id: orderId, total: 10 }, { ...options(), kind: 'create-order' });
    await admin('/__faults', { method: 'POST', path: '/payments/', kind: '500_after' });

    const failure = await client()
      .call('POST', '/payments/', { order_id: orderId, amount: 10 }, { ...options(), kind: 'create-payment' })
      .catch((error) => error);

    expect(failure).toBeInstanceOf(UpstreamCallError);
    expect(failure.outcome).toEqual({ type: 'status', status: 500 });
    expect((await calls()).filter((c) => c.path === '/payments/')).toHaveLength(1);
  });

  it('retries a payment after a 503, which proves nothing was charged', async () => {
    const orderId = 'c0ffee00-0000-4000-8000-000000000002';
    await client().call('POST', '/orders/', { order_id: orderId, total: 10 }, { ...options(), kind: 'create-order' });
    await admin('/__faults', { method: 'POST', path: '/payments/', kind: '503' });

    const response = await client().call('POST', '/payments/', { order_id: orderId, amount: 10 }, { ...options(), kind: 'create-payment' });

    expect(response.status).toBe(201);
    expect((await calls()).filter((c) => c.path === '/payments/').map((c) => c.status)).toEqual([503, 201]);
  });

  it('with UPSTREAM_503_MEANS_NO_EFFECT off, sends a payment once after a 503 and reports it as ambiguous as a 500', async () => {
    const orderId = 'c0ffee00-0000-4000-8000-000000000004';
    await client().call('POST', '/orders/', { order_id: orderId, total: 10 }, { ...options(), kind: 'create-order' });
    await admin('/__faults', { method: 'POST', path: '/payments/', kind: '503' });

    const failure = await client({ unavailableMeansNoEffect: false })
      .call('POST', '/payments/', { order_id: orderId, amount: 10 }, { ...options(), kind: 'create-payment' })
      .catch((error) => error);

    expect(failure.outcome).toEqual({ type: 'status', status: 503 });
    expect((await calls()).filter((c) => c.path === '/payments/').map((c) => c.status)).toEqual([503]);
  });

  it('still retries a read after a 503 with UPSTREAM_503_MEANS_NO_EFFECT off (a read has no effect to repeat)', async () => {
    await admin('/__faults', { method: 'GET', path: '/products/', kind: '503' });

    const response = await client({ unavailableMeansNoEffect: false }).get('/products/', options());

    expect(response.status).toBe(200);
    expect((await calls()).map((c) => c.status)).toEqual([503, 200]);
  });

  it('gives a payment its own attempt timeout instead of the client-wide one', async () => {
    await admin('/__faults', { method: 'POST', path: '/payments/', kind: 'hang_after' });

    const started = Date.now();
    const failure = await client({ callTimeoutMs: 5000 })
      .call('POST', '/payments/', { order_id: 'nope', amount: 1 }, { ...options(), kind: 'create-payment', timeoutMs: 300 })
      .catch((error) => error);

    expect(failure.outcome).toEqual({ type: 'timeout' });
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('times a hung order creation out at about the observed p99 (within the floor), while a payment keeps its own long timeout', async () => {
    const adaptive = client({ callTimeoutMs: 5000, adaptiveTimeout: { floorMs: 150, p99Factor: 1.5, minSamples: 5, windowSize: 50 } });
    for (let i = 0; i < 5; i++) await adaptive.call('POST', '/orders/', { total: 1 }, { ...options(), kind: 'create-order' });

    const { create, createMs, pay, payMs } = await hungCreateThenPayment(adaptive, 600);

    expect(create.outcome).toEqual({ type: 'timeout' });
    expect(createMs).toBeLessThan(500);
    expect(pay.outcome).toEqual({ type: 'timeout' });
    expect(payMs).toBeGreaterThanOrEqual(550);
  });

  it("times a cold client's first hung order creation out at the initial estimate, not the cap, while a payment keeps its own timeout", async () => {
    // Nothing observed yet: a new container. The cap is 5 s and the simulator drops a hang after 1 s.
    const cold = client({
      callTimeoutMs: 5000,
      adaptiveTimeout: { floorMs: 100, p99Factor: 1.5, minSamples: 20, windowSize: 200, initialMs: 300 },
    });

    const { create, createMs, pay, payMs } = await hungCreateThenPayment(cold, 700);

    expect(create.outcome).toEqual({ type: 'timeout' });
    expect(createMs).toBeGreaterThanOrEqual(290);
    expect(createMs).toBeLessThan(800);
    expect(pay.outcome).toEqual({ type: 'timeout' });
    expect(payMs).toBeGreaterThanOrEqual(650);
    expect((await calls()).filter((c) => c.method === 'POST' && c.path === '/orders/')).toHaveLength(1); // a timed-out create is not repeated
  });

  it('times out an attempt that hangs and reports a timeout, not a refusal', async () => {
    await admin('/__faults', { method: 'POST', path: '/orders/', kind: 'hang_after' });

    const started = Date.now();
    const failure = await client()
      .call('POST', '/orders/', { order_id: 'c0ffee00-0000-4000-8000-000000000003', total: 1 }, { ...options(), kind: 'create-order' })
      .catch((error) => error);

    expect(failure.outcome).toEqual({ type: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('keeps every attempt inside the request deadline', async () => {
    await admin('/__faults', { method: 'GET', path: '/products/', kind: 'hang_after', times: 5 });

    const started = Date.now();
    await expect(client({ callTimeoutMs: 5000 }).get('/products/', options(600))).rejects.toBeInstanceOf(UpstreamCallError);

    expect(Date.now() - started).toBeLessThan(900);
  });

  it('reports a refused connection as proof that nothing was sent', async () => {
    const dead = client({
      baseUrl: 'http://127.0.0.1:9',
      maxAttempts: 1,
      backoffBaseMs: 1,
      backoffCapMs: 1,
      breakerFailureThreshold: 10,
      breakerHalfOpenAfterMs: 100,
    });

    const failure = await dead.call('POST', '/payments/', {}, { ...options(), kind: 'create-payment' }).catch((error) => error);

    expect(failure.outcome).toEqual({ type: 'connect_failed' });
  });

  it('opens the breaker after consecutive failures, fails fast, and closes again once the upstream recovers', async () => {
    const guarded = client({ breakerFailureThreshold: 3, maxAttempts: 1 });
    await admin('/__config', { faults: { rate503: 1, rate500After: 0, rateHangAfter: 0, rateReset: 0 } }, 'PUT');
    for (let i = 0; i < 3; i++) await guarded.get('/products/', options()).catch(() => undefined);
    const before = (await calls()).length;

    const shortCircuited = await guarded.get('/products/', options()).catch((error) => error);

    expect(shortCircuited.outcome).toEqual({ type: 'circuit_open' });
    expect((await calls()).length).toBe(before); // no call reached the upstream
    await admin('/__reset');
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await guarded.get('/products/', options())).status).toBe(200);
  });
});
