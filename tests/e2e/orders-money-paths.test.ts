import { randomUUID } from 'node:crypto';
import { signDevToken } from '../../dev/simulator';
import {
  basketStatus,
  basketWithPizza,
  expectNoMoneyProblems,
  isCreatePayment,
  isRefundCall,
  newCashier,
  paidUncompletedOrder,
  payAgain,
  pizzaCheckout,
  placeOrder,
  refund,
  scriptFault,
  submitCheckout,
} from '../support/checkout';
import { api, apiOf, call, runReconciler, simulator, simulatorUrl, uniqueUser } from '../support/http';
import { suiteDb } from '../support/ledger';
import { waitFor } from '../support/wait';

/**
 * Money paths our own simulator used to hide: each test here failed on the
 * checkout before it learned that the upstream may read its contract
 * differently (and that a request and the reconciler may meet on one order).
 */

const sql = suiteDb();

async function orderRow(orderId: string) {
  const [row] = await sql<
    { state: string; last_error: string | null; owner_token_sealed: string | null; upstream_order_id: string | null }[]
  >`
    select state, last_error, owner_token_sealed, upstream_order_id from orders where id = ${orderId}`;
  return row;
}

/** Reconciler runs until the order is at rest (another test's run may hold its lease for a moment). */
async function reconcileUntilAtRest(orderId: string): Promise<string> {
  for (let round = 0; round < 8; round++) {
    await runReconciler();
    const { state } = await orderRow(orderId);
    if (['completed', 'failed', 'refunded', 'unknown'].includes(state)) return state;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return (await orderRow(orderId)).state;
}

const payments = async (user: string) => (await simulator.ledger(user)).payments;
const charges = async (user: string) => (await payments(user)).filter((p) => p.status === 'completed' || p.status === 'refunded');

describe('an order being failed is never charged', () => {
  it('refuses a pay-again that arrives while the reconciler is failing the expired declined order upstream', async () => {
    const checkout = await pizzaCheckout('money-race', ['POST', '/payments/', 'decline']);
    const declined = await submitCheckout(checkout);
    expect(declined.status).toBe(402);
    const orderId = declined.body.error.orderId;
    await sql`update orders set updated_at = now() - interval '1 hour' where id = ${orderId}`;
    await scriptFault(checkout, 'PATCH', '/orders/*', 'hang_after');

    const reconciling = runReconciler();
    await waitFor('the reconciler to send PATCH failed', async () =>
      (await simulator.ledger(checkout.user)).calls.some((c) => c.method === 'PATCH'),
    );
    const paying = await payAgain(checkout, orderId, randomUUID());
    await reconciling;

    expect(paying.status).toBe(409);
    expect(paying.body.error).toMatchObject({ code: 'ORDER_STATE_CONFLICT', orderId });
    expect(await reconcileUntilAtRest(orderId)).toBe('failed');
    expect(await basketStatus(sql, checkout.basketId)).toBe('open');
    const ledger = await simulator.ledger(checkout.user);
    expect(ledger.calls.filter(isCreatePayment)).toHaveLength(1);
    expect(await charges(checkout.user)).toEqual([]);
    expect(ledger.orders.map((o) => o.status)).toEqual(['failed']);
    await expectNoMoneyProblems(sql, checkout.user);
  });

  it('never pays an upstream order that is already failed when a retry finds it', async () => {
    const checkout = await pizzaCheckout('money-failed', ['POST', '/orders/', '500_after'], ['GET', '/orders/', '503', 4]);
    const unconfirmed = await submitCheckout(checkout);
    expect(unconfirmed.status).toBe(503);
    const orderId = unconfirmed.body.error.orderId;
    const [upstreamOrder] = (await simulator.ledger(checkout.user)).orders;
    const cancelled = await call(simulatorUrl(), `/orders/${upstreamOrder.id}`, {
      method: 'PATCH',
      token: checkout.token,
      body: { status: 'failed' },
    });
    expect(cancelled.status).toBe(200);

    const retried = await submitCheckout(checkout);

    expect(retried.status).toBe(502);
    expect(retried.body.error).toMatchObject({ code: 'UPSTREAM_ERROR', orderId });
    expect(await orderRow(orderId)).toMatchObject({ state: 'failed', last_error: expect.stringMatching(/^UPSTREAM_ORDER_FAILED/) });
    expect(await basketStatus(sql, checkout.basketId)).toBe('open');
    expect((await simulator.ledger(checkout.user)).calls.filter(isCreatePayment)).toEqual([]);
    await expectNoMoneyProblems(sql, checkout.user);
  });

  it('fails an order whose upstream total differs, even when failing it upstream times out: never paid, failed by the reconciler', async () => {
    const checkout = await pizzaCheckout('money-total', ['POST', '/orders/', 'wrong_total'], ['PATCH', '/orders/*', 'hang_after', 4]);

    const mismatched = await submitCheckout(checkout);

    expect(mismatched.status).toBe(502);
    expect(mismatched.body.error.code).toBe('UPSTREAM_ERROR');
    const orderId = mismatched.body.error.orderId;
    expect(await orderRow(orderId)).toMatchObject({ state: 'failing', last_error: 'UPSTREAM_TOTAL_MISMATCH' });
    expect(await basketStatus(sql, checkout.basketId)).toBe('locked');
    const again = await payAgain(checkout, orderId, randomUUID());
    expect(again.status).toBe(409);

    expect(await reconcileUntilAtRest(orderId)).toBe('failed');

    expect(await basketStatus(sql, checkout.basketId)).toBe('open');
    const ledger = await simulator.ledger(checkout.user);
    expect(ledger.orders.map((o) => [o.amount_total, o.status])).toEqual([[14.41, 'failed']]);
    expect(ledger.calls.filter(isCreatePayment)).toEqual([]);
    await expectNoMoneyProblems(sql, checkout.user);
  });
});

describe('a payment is only sent with time to finish', () => {
  it('answers 503 without sending the payment when a slow order creation left less than the payment window; the same key then pays once', async () => {
    // 1.5 s for the create to time out, 2 × 1.5 s for lookups to time out: about 4.6 s of the 6 s deadline.
    const checkout = await pizzaCheckout('money-window', ['POST', '/orders/', 'hang_after'], ['GET', '/orders/', 'hang_after', 2]);

    const late = await submitCheckout(checkout);

    expect(late.status).toBe(503);
    expect(late.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(Number(late.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const orderId = late.body.error.orderId;
    expect((await orderRow(orderId)).state).toBe('placed');
    expect((await simulator.ledger(checkout.user)).calls.filter(isCreatePayment)).toEqual([]);

    const paid = await submitCheckout(checkout);

    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ id: orderId, paymentAttempts: 1 });
    expect(await charges(checkout.user)).toHaveLength(1);
    await expectNoMoneyProblems(sql, checkout.user);
  });
});

describe('refunds are sent once', () => {
  it('under an upstream where each DELETE records another refund, a DELETE that answered 500 is settled by reading the payment: one refund', async () => {
    const cashier = await newCashier('money-refund');
    await simulator.setProfile(cashier.user, { refunds: 'repeat' });
    const basketId = await basketWithPizza(cashier);
    const ordered = await placeOrder(cashier, basketId, randomUUID());
    expect(ordered.status).toBe(201);
    await scriptFault(cashier, 'DELETE', '/payments/*', '500_after');

    const refunded = await refund(cashier, ordered.body.id);

    expect(refunded.status).toBe(200);
    expect(refunded.body.status).toBe('refunded');
    const ledger = await simulator.ledger(cashier.user);
    expect(ledger.calls.filter(isRefundCall)).toHaveLength(1);
    expect(ledger.refunds).toHaveLength(1);
    await expectNoMoneyProblems(sql, cashier.user);
  });
});

describe('If-Match and retries', () => {
  it('lets a retry with the same key and the same If-Match through after a failure that reopened the basket', async () => {
    const checkout = await pizzaCheckout('money-ifmatch');
    const basket = await api(`/baskets/${checkout.basketId}`, { token: checkout.token });
    const ifMatch = basket.headers.get('etag')!;
    await scriptFault(checkout, 'POST', '/orders/', '503', 4);

    const unavailable = await placeOrder(checkout, checkout.basketId, checkout.key, { headers: { 'if-match': ifMatch } });
    expect(unavailable.status).toBe(503);
    expect(await basketStatus(sql, checkout.basketId)).toBe('open');

    const retried = await placeOrder(checkout, checkout.basketId, checkout.key, { headers: { 'if-match': ifMatch } });

    expect(retried.status).toBe(201);
    expect(await charges(checkout.user)).toHaveLength(1);
    await expectNoMoneyProblems(sql, checkout.user);
  });
});

describe("background work acts with the owner's own token", () => {
  it('keeps the token of the cashier who ordered sealed beside the order, completes with it in the background (a token without exp), and erases it once completed', async () => {
    const user = uniqueUser('money-token');
    const token = await simulator.tokenWithoutExpiry(user);

    const { orderId } = await paidUncompletedOrder({ user, token });

    const stored = await orderRow(orderId);
    expect(stored.state).toBe('paid');
    expect(stored.owner_token_sealed).toMatch(/^v1\./);
    expect(stored.owner_token_sealed).not.toContain(token.split('.')[1]);

    expect(await reconcileUntilAtRest(orderId)).toBe('completed');

    expect((await orderRow(orderId)).owner_token_sealed).toBeNull();
    const ledger = await simulator.ledger(user);
    expect(ledger.orders.map((o) => o.status)).toEqual(['completed']);
    expect(
      ledger.calls
        .filter((c) => c.method === 'PATCH')
        .slice(-1)
        .map((c) => c.user),
    ).toEqual([user]);
    await expectNoMoneyProblems(sql, user);
  });
});

describe('pending payments are followed up by their id', () => {
  it('pays a checkout whose payment the upstream answers pending first, by reading it until it completes', async () => {
    const checkout = await pizzaCheckout('money-pending');
    await simulator.setProfile(checkout.user, { payments: 'pending', pendingPaymentMs: 300 });

    const paid = await submitCheckout(checkout);

    expect(paid.status).toBe(201);
    expect(paid.body.status).toMatch(/^(paid|completed)$/);
    const ledger = await simulator.ledger(checkout.user);
    expect(ledger.calls.filter((c) => c.method === 'GET' && c.path.startsWith('/payments/')).length).toBeGreaterThanOrEqual(1);
    expect(await charges(checkout.user)).toHaveLength(1);
    await expectNoMoneyProblems(sql, checkout.user);
  });

  /** Longer than the 6 s request deadline: the first request ends with the payment still pending. */
  const OUTLASTS_A_REQUEST_MS = 6500;

  it('answers 202 with Retry-After while the payment is still pending, never unknown; the same key later answers paid', async () => {
    const checkout = await pizzaCheckout('money-pending-long');
    await simulator.setProfile(checkout.user, { payments: 'pending', pendingPaymentMs: OUTLASTS_A_REQUEST_MS });

    const accepted = await submitCheckout(checkout);

    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ status: 'paying', paymentId: expect.any(String) });
    expect(Number(accepted.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(accepted.headers.get('idempotent-replayed')).toBeNull();

    const paid = await submitCheckout(checkout);

    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ id: accepted.body.id, paymentId: accepted.body.paymentId, paymentAttempts: 1 });
    expect((await simulator.ledger(checkout.user)).calls.filter(isCreatePayment)).toHaveLength(1);
    await expectNoMoneyProblems(sql, checkout.user);
  });

  it('lets the reconciler settle a pending payment nobody came back for, by its id', async () => {
    const checkout = await pizzaCheckout('money-pending-reconcile');
    await simulator.setProfile(checkout.user, { payments: 'pending', pendingPaymentMs: OUTLASTS_A_REQUEST_MS });
    const accepted = await submitCheckout(checkout);
    expect(accepted.status).toBe(202);
    expect((await orderRow(accepted.body.id)).state).toBe('paying');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // until the upstream has settled the payment
    await sql`update orders set updated_at = now() - interval '1 hour' where id = ${accepted.body.id}`;

    expect(await reconcileUntilAtRest(accepted.body.id)).toBe('completed');

    expect(await basketStatus(sql, checkout.basketId)).toBe('closed');
    expect(await charges(checkout.user)).toHaveLength(1);
    await expectNoMoneyProblems(sql, checkout.user);
  });
});

describe('the 503 policy', () => {
  const ambiguous = apiOf('ambiguous-503');

  it('by default retries a payment after a 503 (read as coming before any effect) and pays once', async () => {
    const checkout = await pizzaCheckout('money-503', ['POST', '/payments/', '503']);

    const paid = await submitCheckout(checkout);

    expect(paid.status).toBe(201);
    expect((await simulator.ledger(checkout.user)).calls.filter(isCreatePayment).map((c) => c.status)).toEqual([503, 201]);
    await expectNoMoneyProblems(sql, checkout.user);
  });

  it('with UPSTREAM_503_MEANS_NO_EFFECT=false, treats a 503 on a payment like a 500: sent once, outcome unknown, never charged twice', async () => {
    const checkout = await pizzaCheckout('money-503-after');
    await simulator.setProfile(checkout.user, { unavailable: 'after_effect' });
    const basket = await ambiguous(`/baskets/${checkout.basketId}`, { token: checkout.token });
    expect(basket.status).toBe(200);
    await scriptFault(checkout, 'POST', '/payments/', '503');

    const unknown = await ambiguous(`/baskets/${checkout.basketId}/orders`, {
      method: 'POST',
      token: checkout.token,
      headers: { 'idempotency-key': checkout.key },
    });

    expect(unknown.status).toBe(502);
    expect(unknown.body.error.code).toBe('PAYMENT_STATUS_UNKNOWN');
    const ledger = await simulator.ledger(checkout.user);
    expect(ledger.calls.filter(isCreatePayment).map((c) => c.status)).toEqual([503]);
    expect(await charges(checkout.user)).toHaveLength(1);
    await expectNoMoneyProblems(sql, checkout.user);
  });
});

describe('our own authentication', () => {
  it.each([
    ['longer than our column allows', 'a'.repeat(321)],
    ['holding a NUL', 'cashier\u0000@example.com'],
    ['holding a line break', 'cashier\n@example.com'],
  ])('answers 401 to a token whose sub is %s', async (_what, sub) => {
    const token = await signDevToken(process.env.AUTH_JWT_SECRET!, sub);

    const response = await api('/baskets', { method: 'POST', token });

    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('UNAUTHENTICATED');
  });
});
