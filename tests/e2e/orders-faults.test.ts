import { randomUUID } from 'node:crypto';
import type { FaultKind, Ledger, LedgerCall } from '../../dev/simulator';
import {
  basketStatus,
  expectHangsOutlastTheCallTimeout,
  expectNoMoneyProblems,
  isCreateOrder,
  isCreatePayment,
  paymentAttemptOutcomes,
  pizzaCheckout,
  placeOrder,
  submitCheckout,
  type Checkout,
  type FaultScript,
} from '../support/checkout';
import { runReconciler, simulator, type ApiResponse } from '../support/http';
import { suiteDb } from '../support/ledger';
import { waitFor } from '../support/wait';

/**
 * The fault matrix of a checkout: every fault the simulator can script, on
 * every upstream call a checkout makes, and what the cashier, our rows, the
 * basket and the upstream ledger show afterwards, before and after the
 * reconciler. Faults are scripted for the test's own user only.
 */

const TOTAL = 1440; // one pizza, gross
const AT_REST = ['completed', 'failed', 'refunded', 'unknown'];

const sql = suiteDb();

beforeAll(expectHangsOutlastTheCallTimeout);

/** The reconciler failed the abandoned order upstream and here, and reopened the basket; the ledger, for more checks. */
async function expectFailedByReconciler(checkout: Checkout, orderId: string): Promise<Ledger> {
  expect(await reconcile(checkout.user)).toEqual({ [orderId]: 'failed' });
  expect(await basketStatus(sql, checkout.basketId)).toBe('open');
  await expectNoMoneyProblems(sql, checkout.user);
  const ledger = await simulator.ledger(checkout.user);
  expect(ledger.orders).toEqual([expect.objectContaining({ id: orderId, status: 'failed' })]);
  return ledger;
}

async function orderState(orderId: string): Promise<{ state: string; payment_attempts: number; last_error: string | null } | undefined> {
  const [row] = await sql<{ state: string; payment_attempts: number; last_error: string | null }[]>`
    select state, payment_attempts, last_error from orders where id = ${orderId}`;
  return row;
}

async function ordersOf(user: string): Promise<{ id: string; state: string }[]> {
  return sql<{ id: string; state: string }[]>`select id, state from orders where owner_id = ${user} order by created_at`;
}

/** GET /orders/: how an ambiguous create is checked, by the checkout's correlation value, whatever the upstream's id rule. */
const isLookup = (c: LedgerCall) => c.method === 'GET' && c.path === '/orders/';
const isPatchOrder = (c: LedgerCall) => c.method === 'PATCH' && /^\/orders\/[^/]+$/.test(c.path);

/** The HTTP statuses the upstream sent for the user's calls of one kind, in order (0: socket destroyed). */
function statuses(ledger: Ledger, which: (c: LedgerCall) => boolean): number[] {
  return ledger.calls.filter(which).map((c) => c.status);
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

/** The reconciler, run over the user's orders made to look abandoned, leaves them in these states, and the ledger shows no money problem. */
async function expectReconciledTo(checkout: Checkout, states: Record<string, string>): Promise<void> {
  expect(await reconcile(checkout.user)).toEqual(states);
  await expectNoMoneyProblems(sql, checkout.user);
}

/** A pizza checkout under these faults, paid at its first submission: its answer, and the user's ledger after it. */
async function paidDespite(...faults: FaultScript[]): Promise<{ checkout: Checkout; response: ApiResponse; ledger: Ledger }> {
  const checkout = await pizzaCheckout('faults', ...faults);
  const response = await submitCheckout(checkout);
  expectPaid(response, checkout.basketId);
  return { checkout, response, ledger: await simulator.ledger(checkout.user) };
}

/** Submits the checkout, which must answer 503 with its order left pending (the create unconfirmed) and the basket locked; the order id. */
async function unconfirmedOrder(checkout: Checkout): Promise<string> {
  const unconfirmed = await submitCheckout(checkout);
  expectRetryLater(unconfirmed, 'UPSTREAM_UNAVAILABLE');
  const orderId = unconfirmed.body.error.orderId;
  expect(orderId).toEqual(expect.any(String));
  expect((await orderState(orderId))?.state).toBe('pending');
  expect(await basketStatus(sql, checkout.basketId)).toBe('locked');
  return orderId;
}

/** Submits the checkout again, which must resume the unconfirmed order and pay it; the user's ledger after it. */
async function resumedOrder(checkout: Checkout, orderId: string): Promise<Ledger> {
  const resumed = await submitCheckout(checkout);
  expectPaid(resumed, checkout.basketId);
  expect(resumed.body.id).toBe(orderId);
  return simulator.ledger(checkout.user);
}

describe('checkout under upstream faults', () => {
  describe('on POST /orders/ (creating the upstream order)', () => {
    it('retries a 503 (nothing was created) and pays the order once', async () => {
      const { checkout, response, ledger } = await paidDespite(['POST', '/orders/', '503']);

      expect(statuses(ledger, isCreateOrder)).toEqual([503, 201]);
      expect(statuses(ledger, isLookup)).toEqual([]);
      expect(ledger.orders).toHaveLength(1);
      expect(ledger.payments).toEqual([expect.objectContaining({ order_id: response.body.id, amount: 14.4, status: 'completed' })]);
      await expectReconciledTo(checkout, { [response.body.id]: 'completed' });
      expect(await basketStatus(sql, checkout.basketId)).toBe('closed');
    });

    it('after a reset it asks GET /orders/, finds nothing, creates the order again and pays it once', async () => {
      const { checkout, response, ledger } = await paidDespite(['POST', '/orders/', 'reset']);

      expect(statuses(ledger, isCreateOrder)).toEqual([0, 201]);
      expect(statuses(ledger, isLookup)).toEqual([200]);
      expect(ledger.orders.map((o) => o.basket_id)).toEqual([response.body.id]);
      expect(ledger.payments).toHaveLength(1);
      await expectReconciledTo(checkout, { [response.body.id]: 'completed' });
    });

    it.each<FaultKind>(['500_after', 'reset_after', 'hang_after'])(
      'after %s (the order was created) it finds the order with GET /orders/, never creates it twice, and pays once',
      async (kind) => {
        const { checkout, response, ledger } = await paidDespite(['POST', '/orders/', kind]);

        expect(statuses(ledger, isCreateOrder)).toEqual([kind === '500_after' ? 500 : 0]);
        expect(statuses(ledger, isLookup)).toEqual([200]);
        expect(ledger.orders.map((o) => o.id)).toEqual([response.body.id]);
        expect(ledger.payments).toEqual([expect.objectContaining({ order_id: response.body.id, status: 'completed' })]);
        await expectReconciledTo(checkout, { [response.body.id]: 'completed' });
        expect(await basketStatus(sql, checkout.basketId)).toBe('closed');
      },
    );

    it('answers 503 with Retry-After when every attempt gets a 503, fails the order and reopens the basket; the same key then pays once', async () => {
      const checkout = await pizzaCheckout('faults', ['POST', '/orders/', '503', 4]);

      const refused = await submitCheckout(checkout);

      expectRetryLater(refused, 'UPSTREAM_UNAVAILABLE');
      const [failed] = await ordersOf(checkout.user);
      expect(failed.state).toBe('failed');
      expect((await orderState(failed.id))?.last_error).toMatch(/^UPSTREAM_UNAVAILABLE/);
      expect(await basketStatus(sql, checkout.basketId)).toBe('open');
      const before = await simulator.ledger(checkout.user);
      expect(statuses(before, isCreateOrder)).toEqual([503, 503, 503, 503]);
      expect(before.orders).toEqual([]);
      expect(before.payments).toEqual([]);

      const retried = await submitCheckout(checkout);

      expectPaid(retried, checkout.basketId);
      expect(retried.headers.get('idempotent-replayed')).toBeNull();
      const after = await simulator.ledger(checkout.user);
      expect(after.orders.map((o) => o.id)).toEqual([retried.body.id]);
      expect(after.payments).toHaveLength(1);
      await expectReconciledTo(checkout, { [failed.id]: 'failed', [retried.body.id]: 'completed' });
    });

    it('answers 503 with the order id when two creates are cut off and the order is proven absent; the same key resumes that order', async () => {
      const checkout = await pizzaCheckout('faults', ['POST', '/orders/', 'reset', 2]);

      const orderId = await unconfirmedOrder(checkout);

      const before = await simulator.ledger(checkout.user);
      expect(statuses(before, isCreateOrder)).toEqual([0, 0]);
      expect(statuses(before, isLookup)).toEqual([200, 200]);
      expect(before.orders).toEqual([]);

      const after = await resumedOrder(checkout, orderId);

      expect(after.orders.map((o) => o.basket_id)).toEqual([orderId]);
      expect(after.payments).toHaveLength(1);
      await expectReconciledTo(checkout, { [orderId]: 'completed' });
    });

    it('fails an unconfirmed order the cashier gave up on once the reconciler finds it abandoned, and reopens the basket', async () => {
      const checkout = await pizzaCheckout('faults', ['POST', '/orders/', 'reset', 2]);
      const unconfirmed = await submitCheckout(checkout);
      expect(unconfirmed.status).toBe(503);

      expect(await reconcile(checkout.user)).toEqual({ [unconfirmed.body.error.orderId]: 'failed' });

      expect(await basketStatus(sql, checkout.basketId)).toBe('open');
      const again = await placeOrder(checkout, checkout.basketId, randomUUID());
      expectPaid(again, checkout.basketId);
      await expectNoMoneyProblems(sql, checkout.user);
    });
  });

  describe('on GET /orders/ (finding out whether an ambiguous create took effect)', () => {
    it.each<FaultKind>(['503', '500_after', 'reset', 'reset_after', 'hang_after'])(
      'retries the lookup after %s and pays the one order',
      async (kind) => {
        const { checkout, response, ledger } = await paidDespite(['POST', '/orders/', '500_after'], ['GET', '/orders/', kind]);

        expect(statuses(ledger, isCreateOrder)).toEqual([500]);
        expect(statuses(ledger, isLookup)).toEqual([kind === '503' ? 503 : kind === '500_after' ? 500 : 0, 200]);
        expect(ledger.orders).toHaveLength(1);
        expect(ledger.payments).toHaveLength(1);
        await expectReconciledTo(checkout, { [response.body.id]: 'completed' });
      },
    );

    it.each<FaultKind>(['503', '500_after', 'reset'])(
      'answers 503 with Retry-After and the order id when every lookup fails with %s; the same key resumes without creating the order again',
      async (kind) => {
        const checkout = await pizzaCheckout('faults', ['POST', '/orders/', '500_after'], ['GET', '/orders/', kind, 4]);

        const orderId = await unconfirmedOrder(checkout);

        expect(statuses(await simulator.ledger(checkout.user), isLookup)).toHaveLength(4);

        const ledger = await resumedOrder(checkout, orderId);

        expect(statuses(ledger, isCreateOrder)).toEqual([500]);
        expect(ledger.orders.map((o) => o.id)).toEqual([orderId]);
        expect(ledger.payments).toHaveLength(1);
        await expectReconciledTo(checkout, { [orderId]: 'completed' });
      },
    );

    it('fails upstream and here an order whose existence was never confirmed once it is abandoned, and reopens the basket', async () => {
      const checkout = await pizzaCheckout('faults', ['POST', '/orders/', '500_after'], ['GET', '/orders/', '503', 4]);
      const unconfirmed = await submitCheckout(checkout);
      expect(unconfirmed.status).toBe(503);
      const orderId = unconfirmed.body.error.orderId;

      const ledger = await expectFailedByReconciler(checkout, orderId);
      expect(ledger.payments).toEqual([]);
    });
  });

  describe('on POST /payments/', () => {
    it('retries a 503 (proof that nothing was charged) within the same payment attempt', async () => {
      const { checkout, response, ledger } = await paidDespite(['POST', '/payments/', '503']);

      expect(statuses(ledger, isCreatePayment)).toEqual([503, 201]);
      expect(ledger.payments).toEqual([expect.objectContaining({ order_id: response.body.id, amount: 14.4, status: 'completed' })]);
      expect(await paymentAttemptOutcomes(sql, response.body.id)).toEqual(['completed']);
      await expectReconciledTo(checkout, { [response.body.id]: 'completed' });
    });

    it.each<[FaultKind, number]>([
      ['500_after', 1],
      ['reset_after', 1],
      ['hang_after', 1],
      ['reset', 0],
    ])(
      'answers 502 PAYMENT_STATUS_UNKNOWN after %s, never sends the payment again (same key or a new one), and keeps the order unknown',
      async (kind, charges) => {
        const checkout = await pizzaCheckout('faults', ['POST', '/payments/', kind]);

        const response = await submitCheckout(checkout);

        expect(response.status).toBe(502);
        expect(response.body.error.code).toBe('PAYMENT_STATUS_UNKNOWN');
        const orderId = response.body.error.orderId;
        expect(orderId).toEqual(expect.any(String));
        expect((await orderState(orderId))?.state).toBe('unknown');
        expect(await paymentAttemptOutcomes(sql, orderId)).toEqual(['unknown']);
        expect(await basketStatus(sql, checkout.basketId)).toBe('locked');

        const replayed = await submitCheckout(checkout);
        expect(replayed.status).toBe(502);
        expect(replayed.text).toBe(response.text);
        expect(replayed.headers.get('idempotent-replayed')).toBe('true');
        const freshKey = await submitCheckout({ ...checkout, key: randomUUID() });
        expect(freshKey.status).toBe(409);
        expect(freshKey.body.error).toMatchObject({ code: 'BASKET_LOCKED', orderId });

        expect(await reconcile(checkout.user)).toEqual({ [orderId]: 'unknown' });
        expect(await basketStatus(sql, checkout.basketId)).toBe('locked');
        const ledger = await simulator.ledger(checkout.user);
        expect(statuses(ledger, isCreatePayment)).toHaveLength(1);
        expect(ledger.payments.filter((p) => p.status === 'completed')).toHaveLength(charges);
        await expectNoMoneyProblems(sql, checkout.user);
      },
    );

    it('answers 503 with the order id when every payment attempt gets a 503; nothing is charged and the same key pays once', async () => {
      const checkout = await pizzaCheckout('faults', ['POST', '/payments/', '503', 4]);

      const refused = await submitCheckout(checkout);

      expectRetryLater(refused, 'UPSTREAM_UNAVAILABLE');
      const orderId = refused.body.error.orderId;
      expect((await orderState(orderId))?.state).toBe('placed');
      expect(await basketStatus(sql, checkout.basketId)).toBe('locked');
      const before = await simulator.ledger(checkout.user);
      expect(statuses(before, isCreatePayment)).toEqual([503, 503, 503, 503]);
      expect(before.payments).toEqual([]);

      const retried = await submitCheckout(checkout);

      expect(retried.status).toBe(201);
      expect(retried.body).toMatchObject({ id: orderId, total: TOTAL, paymentAttempts: 2 });
      expect(await paymentAttemptOutcomes(sql, orderId)).toEqual(['no_charge', 'completed']);
      const after = await simulator.ledger(checkout.user);
      expect(after.orders).toHaveLength(1);
      expect(after.payments).toEqual([expect.objectContaining({ order_id: orderId, status: 'completed' })]);
      await expectReconciledTo(checkout, { [orderId]: 'completed' });
      expect(await basketStatus(sql, checkout.basketId)).toBe('closed');
    });

    it('fails a placed order nobody paid after the 503s once it is abandoned, upstream too, and reopens the basket', async () => {
      const checkout = await pizzaCheckout('faults', ['POST', '/payments/', '503', 4]);
      const refused = await submitCheckout(checkout);
      expect(refused.status).toBe(503);
      const orderId = refused.body.error.orderId;

      const ledger = await expectFailedByReconciler(checkout, orderId);
      expect(ledger.payments).toEqual([]);
    });

    it('answers 402 PAYMENT_DECLINED with the order id, keeps the order declined and the basket locked; the reconciler fails it after the expiry', async () => {
      const checkout = await pizzaCheckout('faults', ['POST', '/payments/', 'decline']);

      const declined = await submitCheckout(checkout);

      expect(declined.status).toBe(402);
      expect(declined.body.error.code).toBe('PAYMENT_DECLINED');
      const orderId = declined.body.error.orderId;
      expect((await orderState(orderId))?.state).toBe('declined');
      expect(await paymentAttemptOutcomes(sql, orderId)).toEqual(['declined']);
      expect(await basketStatus(sql, checkout.basketId)).toBe('locked');
      expect((await simulator.ledger(checkout.user)).payments).toEqual([expect.objectContaining({ order_id: orderId, status: 'failed' })]);

      const ledger = await expectFailedByReconciler(checkout, orderId);
      expect(statuses(ledger, isCreatePayment)).toHaveLength(1);
    });
  });

  describe('on PATCH /orders/{id} (completion, after the reply)', () => {
    it.each<FaultKind>(['503', '500_after', 'reset', 'reset_after', 'hang_after'])(
      'answers 201 and still completes the order after %s',
      async (kind) => {
        const checkout = await pizzaCheckout('faults', ['PATCH', '/orders/*', kind]);

        const response = await submitCheckout(checkout);

        expectPaid(response, checkout.basketId);
        const orderId = response.body.id as string;
        await waitFor('the order to complete', async () => (await orderState(orderId))?.state === 'completed', 8000);

        expect(await basketStatus(sql, checkout.basketId)).toBe('closed');
        const ledger = await simulator.ledger(checkout.user);
        expect(statuses(ledger, isPatchOrder).slice(-1)).toEqual([200]);
        expect(ledger.orders).toEqual([expect.objectContaining({ id: orderId, status: 'completed' })]);
        expect(ledger.payments).toHaveLength(1);
        await expectNoMoneyProblems(sql, checkout.user);
      },
    );

    it.each<FaultKind>(['503', '500_after'])(
      'answers 201 when every completion attempt fails with %s; the order stays paid until the reconciler completes it',
      async (kind) => {
        const checkout = await pizzaCheckout('faults', ['PATCH', '/orders/*', kind, 4]);

        const response = await submitCheckout(checkout);

        expect(response.status).toBe(201);
        expect(response.body.status).toBe('paid');
        await waitFor(
          'four completion attempts',
          async () => statuses(await simulator.ledger(checkout.user), isPatchOrder).length >= 4,
          8000,
        );
        expect((await orderState(response.body.id))?.state).toBe('paid');
        expect(await basketStatus(sql, checkout.basketId)).toBe('locked');

        expect(await reconcile(checkout.user)).toEqual({ [response.body.id]: 'completed' });

        expect(await basketStatus(sql, checkout.basketId)).toBe('closed');
        const ledger = await simulator.ledger(checkout.user);
        expect(ledger.orders).toEqual([expect.objectContaining({ id: response.body.id, status: 'completed' })]);
        expect(ledger.payments).toHaveLength(1);
        await expectNoMoneyProblems(sql, checkout.user);
      },
    );
  });
});
