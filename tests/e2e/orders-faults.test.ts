import { randomUUID } from 'node:crypto';
import type { FaultKind, Ledger, LedgerCall } from '../../dev/simulator';
import type { Sql } from '../../lib/db/sql';
import { PIZZA } from '../support/catalogue';
import { api, call, runReconciler, simulator, simulatorUrl, tokenFor, uniqueUser, type ApiResponse } from '../support/http';
import { ledgerProblems, testDb } from '../support/ledger';

/**
 * The fault matrix of a checkout: every fault the simulator can script, on
 * every upstream call a checkout makes, and what the cashier, our rows, the
 * basket and the upstream ledger show afterwards, before and after the
 * reconciler. Faults are scripted for the test's own user only.
 */

const TOTAL = 1440; // one pizza, gross
const AT_REST = ['completed', 'failed', 'refunded', 'unknown'];

let sql: Sql;

beforeAll(async () => {
  sql = testDb();
  await expectHangsOutlastTheCallTimeout();
});

afterAll(async () => {
  await sql.end();
});

interface Checkout {
  user: string;
  token: string;
  basketId: string;
  key: string;
}

async function basketWithPizza(): Promise<Checkout> {
  const user = uniqueUser('faults');
  const token = await tokenFor(user);
  const basket = await api('/baskets', { method: 'POST', token });
  expect(basket.status).toBe(201);
  const line = await api(`/baskets/${basket.body.id}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 1 } });
  expect(line.status).toBe(200);
  return { user, token, basketId: basket.body.id, key: randomUUID() };
}

function placeOrder(checkout: Checkout): Promise<ApiResponse> {
  return api(`/baskets/${checkout.basketId}/orders`, { method: 'POST', token: checkout.token, headers: { 'idempotency-key': checkout.key } });
}

function scriptFault(checkout: Checkout, method: string, path: string, kind: FaultKind, times = 1) {
  return simulator.queueFault({ method, path, kind, times, user: checkout.user });
}

async function orderState(orderId: string): Promise<{ state: string; payment_attempts: number; last_error: string | null } | undefined> {
  const [row] = await sql<{ state: string; payment_attempts: number; last_error: string | null }[]>`
    select state, payment_attempts, last_error from orders where id = ${orderId}`;
  return row;
}

async function ordersOf(user: string): Promise<{ id: string; state: string }[]> {
  return sql<{ id: string; state: string }[]>`select id, state from orders where owner_id = ${user} order by created_at`;
}

async function basketStatus(basketId: string): Promise<string | undefined> {
  const [row] = await sql<{ status: string }[]>`select status from baskets where id = ${basketId}`;
  return row?.status;
}

async function paymentAttemptOutcomes(orderId: string): Promise<string[]> {
  const rows = await sql<{ outcome: string }[]>`select outcome from payment_attempts where order_id = ${orderId} order by created_at`;
  return rows.map((row) => row.outcome);
}

const isCreateOrder = (c: LedgerCall) => c.method === 'POST' && c.path === '/orders/';
const isGetOrder = (c: LedgerCall) => c.method === 'GET' && /^\/orders\/[^/]+$/.test(c.path);
const isPatchOrder = (c: LedgerCall) => c.method === 'PATCH' && /^\/orders\/[^/]+$/.test(c.path);
const isCreatePayment = (c: LedgerCall) => c.method === 'POST' && c.path === '/payments/';

/** The HTTP statuses the upstream sent for the user's calls of one kind, in order (0: socket destroyed). */
function statuses(ledger: Ledger, which: (c: LedgerCall) => boolean): number[] {
  return ledger.calls.filter(which).map((c) => c.status);
}

async function expectNoMoneyProblems(user: string): Promise<void> {
  expect(await ledgerProblems(await simulator.ledger(user), sql)).toEqual({ doubleCharges: [], chargesUnknownToUs: [], wrongAmounts: [] });
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Makes the user's unfinished orders look abandoned (idle for an hour, past
 * both the abandonment and the declined expiry), runs the reconciler until
 * all of them are at rest, and returns their states by id. A few rounds, as
 * another test's reconciler run may hold a lease for a moment.
 */
async function reconcile(user: string): Promise<Record<string, string>> {
  await sql`update orders set updated_at = now() - interval '1 hour'
            where owner_id = ${user} and state in ('pending', 'placed', 'paying', 'declined')`;
  let rows: { id: string; state: string }[] = [];
  for (let round = 0; round < 5; round++) {
    await runReconciler();
    rows = await ordersOf(user);
    if (rows.every((row) => AT_REST.includes(row.state))) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return Object.fromEntries(rows.map((row) => [row.id, row.state]));
}

/** Global setup runs the simulator with hangs longer than the handlers' 1500 ms call timeout: a hang is a timeout. */
async function expectHangsOutlastTheCallTimeout(): Promise<void> {
  expect((await call(simulatorUrl(), '/__config')).body.hangMs).toBeGreaterThan(1500);
}

function expectPaid(response: ApiResponse, basketId: string): void {
  expect(response.status).toBe(201);
  expect(response.body).toMatchObject({ basketId, total: TOTAL, paymentAttempts: 1 });
  expect(['paid', 'completed']).toContain(response.body.status);
  expect(response.body.paymentId).toEqual(expect.any(String));
}

function expectRetryLater(response: ApiResponse, code: string): void {
  expect(response.status).toBe(code === 'UPSTREAM_TIMEOUT' ? 504 : 503);
  expect(response.body.error.code).toBe(code);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(response.headers.get('idempotent-replayed')).toBeNull();
}

describe('checkout under upstream faults', () => {
  describe('on POST /orders/ (creating the upstream order)', () => {
    it('retries a 503 (nothing was created) and pays the order once', async () => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'POST', '/orders/', '503');

      const response = await placeOrder(checkout);

      expectPaid(response, checkout.basketId);
      const ledger = await simulator.ledger(checkout.user);
      expect(statuses(ledger, isCreateOrder)).toEqual([503, 201]);
      expect(statuses(ledger, isGetOrder)).toEqual([]);
      expect(ledger.orders).toHaveLength(1);
      expect(ledger.payments).toEqual([expect.objectContaining({ order_id: response.body.id, amount: 14.4, status: 'completed' })]);
      expect(await reconcile(checkout.user)).toEqual({ [response.body.id]: 'completed' });
      expect(await basketStatus(checkout.basketId)).toBe('closed');
      await expectNoMoneyProblems(checkout.user);
    });

    it('after a reset it asks GET /orders/{id}, finds nothing, creates the order again and pays it once', async () => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'POST', '/orders/', 'reset');

      const response = await placeOrder(checkout);

      expectPaid(response, checkout.basketId);
      const ledger = await simulator.ledger(checkout.user);
      expect(statuses(ledger, isCreateOrder)).toEqual([0, 201]);
      expect(statuses(ledger, isGetOrder)).toEqual([404]);
      expect(ledger.orders.map((o) => o.id)).toEqual([response.body.id]);
      expect(ledger.payments).toHaveLength(1);
      expect(await reconcile(checkout.user)).toEqual({ [response.body.id]: 'completed' });
      await expectNoMoneyProblems(checkout.user);
    });

    it.each<FaultKind>(['500_after', 'reset_after', 'hang_after'])(
      'after %s (the order was created) it finds the order with GET /orders/{id}, never creates it twice, and pays once',
      async (kind) => {
        const checkout = await basketWithPizza();
        await scriptFault(checkout, 'POST', '/orders/', kind);

        const response = await placeOrder(checkout);

        expectPaid(response, checkout.basketId);
        const ledger = await simulator.ledger(checkout.user);
        expect(statuses(ledger, isCreateOrder)).toEqual([kind === '500_after' ? 500 : 0]);
        expect(statuses(ledger, isGetOrder)).toEqual([200]);
        expect(ledger.orders.map((o) => o.id)).toEqual([response.body.id]);
        expect(ledger.payments).toEqual([expect.objectContaining({ order_id: response.body.id, status: 'completed' })]);
        expect(await reconcile(checkout.user)).toEqual({ [response.body.id]: 'completed' });
        expect(await basketStatus(checkout.basketId)).toBe('closed');
        await expectNoMoneyProblems(checkout.user);
      },
    );

    it('answers 503 with Retry-After when every attempt gets a 503, fails the order and reopens the basket; the same key then pays once', async () => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'POST', '/orders/', '503', 4);

      const refused = await placeOrder(checkout);

      expectRetryLater(refused, 'UPSTREAM_UNAVAILABLE');
      const [failed] = await ordersOf(checkout.user);
      expect(failed.state).toBe('failed');
      expect((await orderState(failed.id))?.last_error).toMatch(/^UPSTREAM_UNAVAILABLE/);
      expect(await basketStatus(checkout.basketId)).toBe('open');
      const before = await simulator.ledger(checkout.user);
      expect(statuses(before, isCreateOrder)).toEqual([503, 503, 503, 503]);
      expect(before.orders).toEqual([]);
      expect(before.payments).toEqual([]);

      const retried = await placeOrder(checkout);

      expectPaid(retried, checkout.basketId);
      expect(retried.headers.get('idempotent-replayed')).toBeNull();
      const after = await simulator.ledger(checkout.user);
      expect(after.orders.map((o) => o.id)).toEqual([retried.body.id]);
      expect(after.payments).toHaveLength(1);
      expect(await reconcile(checkout.user)).toEqual({ [failed.id]: 'failed', [retried.body.id]: 'completed' });
      await expectNoMoneyProblems(checkout.user);
    });

    it('answers 503 with the order id when two creates are cut off and the order is proven absent; the same key resumes that order', async () => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'POST', '/orders/', 'reset', 2);

      const unconfirmed = await placeOrder(checkout);

      expectRetryLater(unconfirmed, 'UPSTREAM_UNAVAILABLE');
      const orderId = unconfirmed.body.error.orderId;
      expect(orderId).toEqual(expect.any(String));
      expect((await orderState(orderId))?.state).toBe('pending');
      expect(await basketStatus(checkout.basketId)).toBe('locked');
      const before = await simulator.ledger(checkout.user);
      expect(statuses(before, isCreateOrder)).toEqual([0, 0]);
      expect(statuses(before, isGetOrder)).toEqual([404, 404]);
      expect(before.orders).toEqual([]);

      const resumed = await placeOrder(checkout);

      expectPaid(resumed, checkout.basketId);
      expect(resumed.body.id).toBe(orderId);
      const after = await simulator.ledger(checkout.user);
      expect(after.orders.map((o) => o.id)).toEqual([orderId]);
      expect(after.payments).toHaveLength(1);
      expect(await reconcile(checkout.user)).toEqual({ [orderId]: 'completed' });
      await expectNoMoneyProblems(checkout.user);
    });

    it('fails an unconfirmed order the cashier gave up on once the reconciler finds it abandoned, and reopens the basket', async () => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'POST', '/orders/', 'reset', 2);
      const unconfirmed = await placeOrder(checkout);
      expect(unconfirmed.status).toBe(503);

      expect(await reconcile(checkout.user)).toEqual({ [unconfirmed.body.error.orderId]: 'failed' });

      expect(await basketStatus(checkout.basketId)).toBe('open');
      const again = await api(`/baskets/${checkout.basketId}/orders`, { method: 'POST', token: checkout.token, headers: { 'idempotency-key': randomUUID() } });
      expectPaid(again, checkout.basketId);
      await expectNoMoneyProblems(checkout.user);
    });
  });

  describe('on GET /orders/{id} (finding out whether an ambiguous create took effect)', () => {
    it.each<FaultKind>(['503', '500_after', 'reset', 'reset_after', 'hang_after'])('retries the lookup after %s and pays the one order', async (kind) => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'POST', '/orders/', '500_after');
      await scriptFault(checkout, 'GET', '/orders/*', kind);

      const response = await placeOrder(checkout);

      expectPaid(response, checkout.basketId);
      const ledger = await simulator.ledger(checkout.user);
      expect(statuses(ledger, isCreateOrder)).toEqual([500]);
      expect(statuses(ledger, isGetOrder)).toEqual([kind === '503' ? 503 : kind === '500_after' ? 500 : 0, 200]);
      expect(ledger.orders).toHaveLength(1);
      expect(ledger.payments).toHaveLength(1);
      expect(await reconcile(checkout.user)).toEqual({ [response.body.id]: 'completed' });
      await expectNoMoneyProblems(checkout.user);
    });

    it.each<FaultKind>(['503', '500_after', 'reset'])(
      'answers 503 with Retry-After and the order id when every lookup fails with %s; the same key resumes without creating the order again',
      async (kind) => {
        const checkout = await basketWithPizza();
        await scriptFault(checkout, 'POST', '/orders/', '500_after');
        await scriptFault(checkout, 'GET', '/orders/*', kind, 4);

        const unconfirmed = await placeOrder(checkout);

        expectRetryLater(unconfirmed, 'UPSTREAM_UNAVAILABLE');
        const orderId = unconfirmed.body.error.orderId;
        expect(orderId).toEqual(expect.any(String));
        expect((await orderState(orderId))?.state).toBe('pending');
        expect(await basketStatus(checkout.basketId)).toBe('locked');
        expect(statuses(await simulator.ledger(checkout.user), isGetOrder)).toHaveLength(4);

        const resumed = await placeOrder(checkout);

        expectPaid(resumed, checkout.basketId);
        expect(resumed.body.id).toBe(orderId);
        const ledger = await simulator.ledger(checkout.user);
        expect(statuses(ledger, isCreateOrder)).toEqual([500]);
        expect(ledger.orders.map((o) => o.id)).toEqual([orderId]);
        expect(ledger.payments).toHaveLength(1);
        expect(await reconcile(checkout.user)).toEqual({ [orderId]: 'completed' });
        await expectNoMoneyProblems(checkout.user);
      },
    );

    it('fails upstream and here an order whose existence was never confirmed once it is abandoned, and reopens the basket', async () => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'POST', '/orders/', '500_after');
      await scriptFault(checkout, 'GET', '/orders/*', '503', 4);
      const unconfirmed = await placeOrder(checkout);
      expect(unconfirmed.status).toBe(503);
      const orderId = unconfirmed.body.error.orderId;

      expect(await reconcile(checkout.user)).toEqual({ [orderId]: 'failed' });

      expect(await basketStatus(checkout.basketId)).toBe('open');
      const ledger = await simulator.ledger(checkout.user);
      expect(ledger.orders).toEqual([expect.objectContaining({ id: orderId, status: 'failed' })]);
      expect(ledger.payments).toEqual([]);
      await expectNoMoneyProblems(checkout.user);
    });
  });

  describe('on POST /payments/', () => {
    it('retries a 503 (proof that nothing was charged) within the same payment attempt', async () => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'POST', '/payments/', '503');

      const response = await placeOrder(checkout);

      expectPaid(response, checkout.basketId);
      const ledger = await simulator.ledger(checkout.user);
      expect(statuses(ledger, isCreatePayment)).toEqual([503, 201]);
      expect(ledger.payments).toEqual([expect.objectContaining({ order_id: response.body.id, amount: 14.4, status: 'completed' })]);
      expect(await paymentAttemptOutcomes(response.body.id)).toEqual(['completed']);
      expect(await reconcile(checkout.user)).toEqual({ [response.body.id]: 'completed' });
      await expectNoMoneyProblems(checkout.user);
    });

    it.each<[FaultKind, number]>([
      ['500_after', 1],
      ['reset_after', 1],
      ['hang_after', 1],
      ['reset', 0],
    ])('answers 502 PAYMENT_STATUS_UNKNOWN after %s, never sends the payment again (same key or a new one), and keeps the order unknown', async (kind, charges) => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'POST', '/payments/', kind);

      const response = await placeOrder(checkout);

      expect(response.status).toBe(502);
      expect(response.body.error.code).toBe('PAYMENT_STATUS_UNKNOWN');
      const orderId = response.body.error.orderId;
      expect(orderId).toEqual(expect.any(String));
      expect((await orderState(orderId))?.state).toBe('unknown');
      expect(await paymentAttemptOutcomes(orderId)).toEqual(['unknown']);
      expect(await basketStatus(checkout.basketId)).toBe('locked');

      const replayed = await placeOrder(checkout);
      expect(replayed.status).toBe(502);
      expect(replayed.text).toBe(response.text);
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      const freshKey = await placeOrder({ ...checkout, key: randomUUID() });
      expect(freshKey.status).toBe(409);
      expect(freshKey.body.error).toMatchObject({ code: 'BASKET_LOCKED', orderId });

      expect(await reconcile(checkout.user)).toEqual({ [orderId]: 'unknown' });
      expect(await basketStatus(checkout.basketId)).toBe('locked');
      const ledger = await simulator.ledger(checkout.user);
      expect(statuses(ledger, isCreatePayment)).toHaveLength(1);
      expect(ledger.payments.filter((p) => p.status === 'completed')).toHaveLength(charges);
      await expectNoMoneyProblems(checkout.user);
    });

    it('answers 503 with the order id when every payment attempt gets a 503; nothing is charged and the same key pays once', async () => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'POST', '/payments/', '503', 4);

      const refused = await placeOrder(checkout);

      expectRetryLater(refused, 'UPSTREAM_UNAVAILABLE');
      const orderId = refused.body.error.orderId;
      expect((await orderState(orderId))?.state).toBe('placed');
      expect(await basketStatus(checkout.basketId)).toBe('locked');
      const before = await simulator.ledger(checkout.user);
      expect(statuses(before, isCreatePayment)).toEqual([503, 503, 503, 503]);
      expect(before.payments).toEqual([]);

      const retried = await placeOrder(checkout);

      expect(retried.status).toBe(201);
      expect(retried.body).toMatchObject({ id: orderId, total: TOTAL, paymentAttempts: 2 });
      expect(await paymentAttemptOutcomes(orderId)).toEqual(['no_charge', 'completed']);
      const after = await simulator.ledger(checkout.user);
      expect(after.orders).toHaveLength(1);
      expect(after.payments).toEqual([expect.objectContaining({ order_id: orderId, status: 'completed' })]);
      expect(await reconcile(checkout.user)).toEqual({ [orderId]: 'completed' });
      expect(await basketStatus(checkout.basketId)).toBe('closed');
      await expectNoMoneyProblems(checkout.user);
    });

    it('fails a placed order nobody paid after the 503s once it is abandoned, upstream too, and reopens the basket', async () => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'POST', '/payments/', '503', 4);
      const refused = await placeOrder(checkout);
      expect(refused.status).toBe(503);
      const orderId = refused.body.error.orderId;

      expect(await reconcile(checkout.user)).toEqual({ [orderId]: 'failed' });

      expect(await basketStatus(checkout.basketId)).toBe('open');
      const ledger = await simulator.ledger(checkout.user);
      expect(ledger.orders).toEqual([expect.objectContaining({ id: orderId, status: 'failed' })]);
      expect(ledger.payments).toEqual([]);
      await expectNoMoneyProblems(checkout.user);
    });

    it('answers 402 PAYMENT_DECLINED with the order id, keeps the order declined and the basket locked; the reconciler fails it after the expiry', async () => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'POST', '/payments/', 'decline');

      const declined = await placeOrder(checkout);

      expect(declined.status).toBe(402);
      expect(declined.body.error.code).toBe('PAYMENT_DECLINED');
      const orderId = declined.body.error.orderId;
      expect((await orderState(orderId))?.state).toBe('declined');
      expect(await paymentAttemptOutcomes(orderId)).toEqual(['declined']);
      expect(await basketStatus(checkout.basketId)).toBe('locked');
      expect((await simulator.ledger(checkout.user)).payments).toEqual([expect.objectContaining({ order_id: orderId, status: 'failed' })]);

      expect(await reconcile(checkout.user)).toEqual({ [orderId]: 'failed' });

      expect(await basketStatus(checkout.basketId)).toBe('open');
      const ledger = await simulator.ledger(checkout.user);
      expect(ledger.orders).toEqual([expect.objectContaining({ id: orderId, status: 'failed' })]);
      expect(statuses(ledger, isCreatePayment)).toHaveLength(1);
      await expectNoMoneyProblems(checkout.user);
    });
  });

  describe('on PATCH /orders/{id} (completion, after the reply)', () => {
    it.each<FaultKind>(['503', '500_after', 'reset', 'reset_after', 'hang_after'])('answers 201 and still completes the order after %s', async (kind) => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'PATCH', '/orders/*', kind);

      const response = await placeOrder(checkout);

      expectPaid(response, checkout.basketId);
      const orderId = response.body.id as string;
      await waitFor('the order to complete', async () => (await orderState(orderId))?.state === 'completed');

      expect(await basketStatus(checkout.basketId)).toBe('closed');
      const ledger = await simulator.ledger(checkout.user);
      expect(statuses(ledger, isPatchOrder).slice(-1)).toEqual([200]);
      expect(ledger.orders).toEqual([expect.objectContaining({ id: orderId, status: 'completed' })]);
      expect(ledger.payments).toHaveLength(1);
      await expectNoMoneyProblems(checkout.user);
    });

    it.each<FaultKind>(['503', '500_after'])('answers 201 when every completion attempt fails with %s; the order stays paid until the reconciler completes it', async (kind) => {
      const checkout = await basketWithPizza();
      await scriptFault(checkout, 'PATCH', '/orders/*', kind, 4);

      const response = await placeOrder(checkout);

      expect(response.status).toBe(201);
      expect(response.body.status).toBe('paid');
      await waitFor('four completion attempts', async () => statuses(await simulator.ledger(checkout.user), isPatchOrder).length >= 4);
      expect((await orderState(response.body.id))?.state).toBe('paid');
      expect(await basketStatus(checkout.basketId)).toBe('locked');

      expect(await reconcile(checkout.user)).toEqual({ [response.body.id]: 'completed' });

      expect(await basketStatus(checkout.basketId)).toBe('closed');
      const ledger = await simulator.ledger(checkout.user);
      expect(ledger.orders).toEqual([expect.objectContaining({ id: response.body.id, status: 'completed' })]);
      expect(ledger.payments).toHaveLength(1);
      await expectNoMoneyProblems(checkout.user);
    });
  });
});
