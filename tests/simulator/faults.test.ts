import type { Order } from '../../dev/simulator';
import { ALICE, BOB, startHarness, type Harness } from './harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
beforeEach(() => h.reset());

const ORDER = { total: 9.99 };

async function createOrder(orderId: string): Promise<Order> {
  const result = await h.call('POST', '/orders/', { body: { total: 9.99, order_id: orderId } });
  expect(result.status).toBe(201);
  return result.body as Order;
}

const payOrder = (orderId: string, as = ALICE) => h.call('POST', '/payments/', { body: { order_id: orderId, amount: 9.99 }, as });

describe('random faults', () => {
  it('rate503 = 1: every route answers 503 and nothing is applied', async () => {
    await h.setConfig({ faults: { rate503: 1, rate500After: 0, rateHangAfter: 0, rateReset: 0 } });
    const results = [
      await h.call('POST', '/orders/', { body: ORDER }),
      await h.call('POST', '/orders/', { body: ORDER }),
      await h.call('GET', '/products/'),
      await h.call('GET', '/orders/'),
    ];
    expect(results.map((result) => result.status)).toEqual([503, 503, 503, 503]);
    const ledger = await h.ledger();
    expect(ledger.orders).toEqual([]);
    expect(ledger.calls.every((call) => call.fault === '503' && !call.effectApplied)).toBe(true);
  });

  it('rate500After = 1: the client gets 500 but the order exists', async () => {
    await h.setConfig({ faults: { rate500After: 1 } });
    const result = await h.call('POST', '/orders/', { body: { ...ORDER, order_id: 'after-500' } });
    expect(result.status).toBe(500);
    const ledger = await h.ledger();
    expect(ledger.orders.map((order) => order.id)).toEqual(['after-500']);
    expect(ledger.calls[0]).toMatchObject({ status: 500, fault: '500_after', effectApplied: true });
  });

  it('rateHangAfter = 1: the socket closes after hangMs with no answer, yet the order exists', async () => {
    await h.setConfig({ faults: { rateHangAfter: 1 }, hangMs: 150 });
    const started = Date.now();
    await expect(h.call('POST', '/orders/', { body: { ...ORDER, order_id: 'hung' } })).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const ledger = await h.ledger();
    expect(ledger.orders.map((order) => order.id)).toEqual(['hung']);
    expect(ledger.calls[0]).toMatchObject({ status: 0, fault: 'hang_after', effectApplied: true, latencyMs: 150 });
  });

  it('a hang outlasts a client timeout; the effect is already applied', async () => {
    await h.setConfig({ faults: { rateHangAfter: 1 }, hangMs: 5000 });
    const attempt = h.call('POST', '/orders/', { body: { ...ORDER, order_id: 'timed-out' }, signal: AbortSignal.timeout(100) });
    await expect(attempt).rejects.toThrow();
    expect((await h.ledger()).orders.map((order) => order.id)).toEqual(['timed-out']);
  });

  it('a late effect: nothing answers, a read right after sees nothing, and the effect lands afterwards', async () => {
    await h.setConfig({ hangMs: 100 });
    await h.setProfile(ALICE, { lateEffects: 1, lateEffectMs: 200 });

    await expect(h.call('POST', '/orders/', { body: { ...ORDER, order_id: 'still-working' } })).rejects.toThrow();
    const readRightAfter = await h.call('GET', '/orders/');
    const read = await h.call('GET', '/orders/');
    await new Promise((resolve) => setTimeout(resolve, 350));
    const readLater = await h.call('GET', '/orders/');

    expect(readRightAfter.body).toEqual([]);
    expect(read.body).toEqual([]);
    expect((readLater.body as Order[]).map((order) => order.id)).toEqual(['still-working']);
    expect((await h.ledger()).calls[0]).toMatchObject({ status: 0, fault: 'late_effect', effectApplied: false });
  });

  it('rateReset = 1: the connection drops and nothing is applied', async () => {
    await h.setConfig({ faults: { rateReset: 1 } });
    await expect(h.call('POST', '/orders/', { body: ORDER })).rejects.toThrow('fetch failed');
    const ledger = await h.ledger();
    expect(ledger.orders).toEqual([]);
    expect(ledger.calls[0]).toMatchObject({ status: 0, fault: 'reset', effectApplied: false });
  });

  it('declineRate = 1: POST /payments/ answers 402 and records a failed payment', async () => {
    await createOrder('to-decline');
    await h.setConfig({ declineRate: 1 });
    expect(await payOrder('to-decline')).toEqual({ status: 402, body: 'Payment declined' });
    const ledger = await h.ledger();
    expect(ledger.payments).toEqual([expect.objectContaining({ order_id: 'to-decline', status: 'failed' })]);
    expect(ledger.calls[1]).toMatchObject({ status: 402, fault: 'decline' });
    expect((await h.call('GET', '/orders/')).status).toBe(200);
  });

  it('the same seed replays the same latencies and faults; another seed does not', async () => {
    const profile = { latency: { medianMs: 2, p99Ms: 20 }, faults: { rate503: 0.3 } };
    const run = async (seed: number) => {
      await h.reset();
      await h.setConfig({ ...profile, seed });
      for (let i = 0; i < 20; i++) await h.call('GET', '/products/');
      return (await h.ledger()).calls.map((call) => [call.latencyMs, call.status]);
    };
    const first = await run(7);
    expect(await run(7)).toEqual(first);
    expect(await run(8)).not.toEqual(first);
    expect(new Set(first.map(([latency]) => latency)).size).toBeGreaterThan(1);
    expect(first.map(([, status]) => status)).toContain(503);
  });
});

describe('scripted faults', () => {
  it('a queued fault hits the next matching request once, then requests behave normally', async () => {
    await h.queueFault({ method: 'POST', path: '/orders/', kind: '503' });
    expect((await h.call('GET', '/orders/')).status).toBe(200);
    expect((await h.call('POST', '/orders', { body: ORDER })).status).toBe(503);
    expect((await h.call('POST', '/orders/', { body: ORDER })).status).toBe(201);
    expect((await h.admin('GET', '/__faults')).body).toEqual([]);
  });

  it('times: n hits n requests', async () => {
    await h.queueFault({ method: 'post', path: '/orders', kind: '503', times: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await h.call('POST', '/orders/', { body: ORDER })).status);
    expect(statuses).toEqual([503, 503, 201]);
  });

  it('a user-scoped fault only hits that user', async () => {
    await h.queueFault({ method: 'POST', path: '/orders/', kind: '503', user: BOB });
    expect((await h.call('POST', '/orders/', { body: ORDER, as: ALICE })).status).toBe(201);
    expect((await h.call('POST', '/orders/', { body: ORDER, as: BOB })).status).toBe(503);
    expect((await h.call('POST', '/orders/', { body: ORDER, as: BOB })).status).toBe(201);
  });

  it('a * segment matches any id but not the collection', async () => {
    await createOrder('o-1');
    await h.queueFault({ method: 'GET', path: '/orders/*', kind: '503' });
    expect((await h.call('GET', '/orders/')).status).toBe(200);
    expect((await h.call('GET', '/orders/o-1')).status).toBe(503);
    expect((await h.call('GET', '/orders/o-1')).status).toBe(200);
  });

  it('reset_after: the connection drops after the payment was made', async () => {
    await createOrder('o-reset');
    await h.queueFault({ method: 'POST', path: '/payments/', kind: 'reset_after' });
    await expect(payOrder('o-reset')).rejects.toThrow('fetch failed');
    const ledger = await h.ledger();
    expect(ledger.payments).toEqual([expect.objectContaining({ order_id: 'o-reset', status: 'completed' })]);
    expect(ledger.calls[1]).toMatchObject({ status: 0, fault: 'reset_after', effectApplied: true });
  });

  it('a scripted decline answers 402 once; the retry is charged', async () => {
    await createOrder('o-decline');
    await h.queueFault({ method: 'POST', path: '/payments/', kind: 'decline' });
    expect((await payOrder('o-decline')).status).toBe(402);
    expect((await payOrder('o-decline')).status).toBe(201);
    expect((await h.ledger()).payments.map((payment) => payment.status)).toEqual(['failed', 'completed']);
  });

  it('a scripted wrong_total makes the upstream record one cent more than the total sent, once', async () => {
    await h.queueFault({ method: 'POST', path: '/orders/', kind: 'wrong_total' });
    const misrecorded = await h.call('POST', '/orders/', { body: { total: 14.4, order_id: 'o-wrong' } });
    const recorded = await h.call('POST', '/orders/', { body: { total: 14.4, order_id: 'o-right' } });
    expect([misrecorded.status, (misrecorded.body as Order).amount_total]).toEqual([201, 14.41]);
    expect((recorded.body as Order).amount_total).toBe(14.4);
  });

  it('scripted faults take precedence over random rates', async () => {
    await h.setConfig({ faults: { rate500After: 1 } });
    await h.queueFault({ method: 'POST', path: '/orders/', kind: '503' });
    expect((await h.call('POST', '/orders/', { body: ORDER })).status).toBe(503);
    expect((await h.call('POST', '/orders/', { body: ORDER })).status).toBe(500);
  });

  it('refuses a decline for anything but POST /payments/, a wrong_total for anything but POST /orders/, and unknown kinds', async () => {
    const decline = await h.admin('POST', '/__faults', { method: 'GET', path: '/orders/', kind: 'decline' });
    expect(decline.status).toBe(422);
    const wrongTotal = await h.admin('POST', '/__faults', { method: 'POST', path: '/payments/', kind: 'wrong_total' });
    expect(wrongTotal.status).toBe(422);
    const unknown = await h.admin('POST', '/__faults', { method: 'GET', path: '/orders/', kind: 'explode' });
    expect(unknown.status).toBe(422);
    expect((await h.admin('GET', '/__faults')).body).toEqual([]);
  });
});
