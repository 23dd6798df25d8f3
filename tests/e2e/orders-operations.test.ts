import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import {
  basketStatus,
  basketWithPizza,
  expectNoMoneyProblems,
  isCreatePayment,
  newCashier,
  placeOrder,
  refund,
  type Cashier,
} from '../support/checkout';
import { api, simulator, uniqueUser } from '../support/http';
import { suiteDb } from '../support/ledger';

/**
 * Operating the service: a terminal's order history, and the orders a person
 * must resolve because their payment outcome is unknown.
 */

const sql = suiteDb();

async function operator(): Promise<Cashier> {
  const user = uniqueUser('operator');
  const token = await new SignJWT({ roles: ['operator'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setIssuedAt()
    .sign(new TextEncoder().encode(process.env.AUTH_JWT_SECRET!));
  return { user, token };
}

/** A checkout whose payment answer was lost: unknown here; `charged` says whether the upstream took the money. */
async function unknownOrder(charged: boolean): Promise<{ cashier: Cashier; basketId: string; orderId: string }> {
  const cashier = await newCashier('ops-unknown');
  const basketId = await basketWithPizza(cashier);
  await simulator.queueFault({ method: 'POST', path: '/payments/', kind: charged ? '500_after' : 'reset', user: cashier.user });
  const answer = await placeOrder(cashier, basketId, randomUUID());
  expect(answer.body.error.code).toBe('PAYMENT_STATUS_UNKNOWN');
  return { cashier, basketId, orderId: answer.body.error.orderId };
}

/** As if the payment had been sent a minute ago: past the upstream's late-effect window, when a resolution may be taken. */
async function sentAMinuteAgo(orderId: string): Promise<void> {
  await sql`update payment_attempts set created_at = now() - interval '1 minute' where order_id = ${orderId}`;
}

const resolve = (who: Cashier, orderId: string, body: unknown) =>
  api(`/operator/orders/${orderId}/resolution`, { method: 'POST', token: who.token, body });

describe('order history for terminals', () => {
  it('lists the caller’s orders newest first, page by page, filtered by state and basket, each with its payment state and next actions', async () => {
    const cashier = await newCashier('history');
    const paidBasket = await basketWithPizza(cashier);
    const paid = await placeOrder(cashier, paidBasket, randomUUID());
    const declinedBasket = await basketWithPizza(cashier);
    await simulator.queueFault({ method: 'POST', path: '/payments/', kind: 'decline', user: cashier.user });
    const declined = await placeOrder(cashier, declinedBasket, randomUUID());
    const preparedBasket = await basketWithPizza(cashier);
    const prepared = await placeOrder(cashier, preparedBasket, randomUUID(), { body: { pay: false } });
    const stranger = await newCashier('history-stranger');

    const first = await api('/orders?limit=2', { token: cashier.token });
    const second = await api(`/orders?limit=2&after=${first.body.nextCursor}`, { token: cashier.token });
    const onlyDeclined = await api('/orders?state=declined', { token: cashier.token });
    const ofBasket = await api(`/orders?basketId=${paidBasket}`, { token: cashier.token });
    const theirs = await api('/orders', { token: stranger.token });

    expect(first.status).toBe(200);
    expect(first.body.orders.map((o: { id: string }) => o.id)).toEqual([prepared.body.id, declined.body.error.orderId]);
    expect(second.body.orders.map((o: { id: string }) => o.id)).toEqual([paid.body.id]);
    expect(second.body.nextCursor).toBeNull();
    expect(first.body.orders[0]).toMatchObject({ status: 'placed', paymentState: 'not_charged', nextActions: ['pay', 'cancel'] });
    expect(first.body.orders[1]).toMatchObject({ status: 'declined', paymentState: 'declined', nextActions: ['pay', 'cancel'] });
    expect(second.body.orders[0]).toMatchObject({ paymentState: 'charged', nextActions: ['refund'] });
    expect(onlyDeclined.body.orders.map((o: { id: string }) => o.id)).toEqual([declined.body.error.orderId]);
    expect(ofBasket.body.orders.map((o: { id: string }) => o.id)).toEqual([paid.body.id]);
    expect(theirs.body.orders).toEqual([]);
  });

  it('refuses an unknown state and a malformed cursor with 422', async () => {
    const cashier = await newCashier('history');

    const badState = await api('/orders?state=lost', { token: cashier.token });
    const badCursor = await api('/orders?after=nonsense', { token: cashier.token });

    expect(badState.status).toBe(422);
    expect(badCursor.status).toBe(422);
  });
});

describe('orders that need a person', () => {
  it('lists unknown orders across users for operators only; a cashier gets 404', async () => {
    const { orderId, cashier } = await unknownOrder(true);
    const ops = await operator();

    const listed = await api('/operator/orders?limit=100', { token: ops.token });
    const refused = await api('/operator/orders', { token: cashier.token });

    expect(listed.status).toBe(200);
    expect(listed.body.orders).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: orderId,
          status: 'unknown',
          paymentState: 'unknown',
          ownerId: cashier.user,
          nextActions: ['ask_operator'],
        }),
      ]),
    );
    expect(refused.status).toBe(404);
  });

  it('resolves a charged one: paid with the payment found, completed upstream, basket closed, refundable; no payment is sent; recorded once', async () => {
    const { cashier, basketId, orderId } = await unknownOrder(true);
    const ops = await operator();
    const before = await simulator.ledger(cashier.user);
    const [payment] = before.payments;
    await sentAMinuteAgo(orderId);

    const resolved = await resolve(ops, orderId, {
      outcome: 'charged',
      paymentId: payment.id,
      reason: 'Seen as captured in the provider dashboard',
    });
    const repeated = await resolve(ops, orderId, { outcome: 'charged', paymentId: payment.id, reason: 'again' });
    const contradicted = await resolve(ops, orderId, { outcome: 'not_charged', reason: 'changed my mind' });

    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({
      id: orderId,
      status: 'completed',
      paymentId: payment.id,
      resolution: { outcome: 'charged', paymentId: payment.id, resolvedBy: ops.user, reason: 'Seen as captured in the provider dashboard' },
    });
    expect(repeated.status).toBe(200);
    expect(repeated.body.resolution).toEqual(resolved.body.resolution);
    expect(contradicted.status).toBe(409);
    expect(await basketStatus(sql, basketId)).toBe('closed');
    const after = await simulator.ledger(cashier.user);
    expect(after.calls.filter(isCreatePayment)).toHaveLength(before.calls.filter(isCreatePayment).length);
    expect(after.orders.map((o) => o.status)).toEqual(['completed']);
    const [row] = await sql`select outcome, resolved_by, reason from order_resolutions where order_id = ${orderId}`;
    expect(row).toEqual({ outcome: 'charged', resolved_by: ops.user, reason: 'Seen as captured in the provider dashboard' });

    const refunded = await refund(cashier, orderId);
    expect(refunded.body.status).toBe('refunded');
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('resolves a not charged one: failed upstream and here, the basket open again for another checkout; no payment is sent', async () => {
    const { cashier, basketId, orderId } = await unknownOrder(false);
    const ops = await operator();
    await sentAMinuteAgo(orderId);

    const resolved = await resolve(ops, orderId, { outcome: 'not_charged', reason: 'No capture at the provider' });

    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ id: orderId, status: 'failed', resolution: { outcome: 'not_charged', paymentId: null } });
    expect(await basketStatus(sql, basketId)).toBe('open');
    const ledger = await simulator.ledger(cashier.user);
    expect(ledger.orders.map((o) => o.status)).toEqual(['failed']);
    expect(ledger.calls.filter(isCreatePayment)).toHaveLength(1);
    expect(ledger.payments.filter((p) => p.status === 'completed')).toEqual([]);
    const again = await placeOrder(cashier, basketId, randomUUID());
    expect(again.status).toBe(201);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('refuses a resolution from a cashier (404, as for anything not theirs), of an order that is not unknown (409), and a payment id with not_charged (422)', async () => {
    const { cashier, orderId } = await unknownOrder(true);
    const ops = await operator();
    const paidBasket = await basketWithPizza(cashier);
    const paid = await placeOrder(cashier, paidBasket, randomUUID());

    const byCashier = await resolve(cashier, orderId, { outcome: 'not_charged', reason: 'I am sure' });
    const notUnknown = await resolve(ops, paid.body.id, { outcome: 'charged', reason: 'already paid' });
    const malformed = await resolve(ops, orderId, { outcome: 'not_charged', paymentId: 'p-1', reason: 'x' });

    expect(byCashier.status).toBe(404);
    expect(notUnknown.status).toBe(409);
    expect(malformed.status).toBe(422);
    expect((await sql`select state from orders where id = ${orderId}`)[0].state).toBe('unknown');
  });

  it('lists an order stuck paid past the bound, and resolves it as the payment the POS system shows', async () => {
    const cashier = await newCashier('ops-stuck');
    const basketId = await basketWithPizza(cashier);
    await simulator.queueFault({ method: 'PATCH', path: '/orders/*', kind: '503', times: 100, user: cashier.user }); // completion keeps failing
    const paid = await placeOrder(cashier, basketId, randomUUID());
    expect(paid.status).toBe(201);
    const ops = await operator();

    const notYet = await resolve(ops, paid.body.id, { outcome: 'charged', reason: 'too soon' });
    await sql`update orders set updated_at = now() - interval '1 hour' where id = ${paid.body.id}`; // stuck past OPERATOR_STUCK_AFTER_MINUTES
    await sentAMinuteAgo(paid.body.id);
    const listed = await api('/operator/orders?limit=100', { token: ops.token });
    const wrongOutcome = await resolve(ops, paid.body.id, { outcome: 'not_charged', reason: 'no' });
    const resolved = await resolve(ops, paid.body.id, {
      outcome: 'charged',
      reason: 'captured at the provider; completed by hand in the back office',
    });

    expect(notYet.status).toBe(409);
    expect(listed.body.orders).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: paid.body.id, status: 'paid', paymentState: 'charged' })]),
    );
    expect(wrongOutcome.status).toBe(422);
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({
      status: 'completed',
      paymentId: paid.body.paymentId,
      resolution: { resolvedFrom: 'paid', outcome: 'charged' },
    });
    expect(await basketStatus(sql, basketId)).toBe('closed');
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('takes no resolution while the payment may still land, and checks the one it takes with the POS system', async () => {
    const { cashier, orderId } = await unknownOrder(true);
    const ops = await operator();
    const [payment] = (await simulator.ledger(cashier.user)).payments;
    const theirs = await unknownOrder(true);
    const [foreignPayment] = (await simulator.ledger(theirs.cashier.user)).payments;

    const tooEarly = await resolve(ops, orderId, { outcome: 'not_charged', reason: 'nothing seen yet' });
    await sentAMinuteAgo(orderId);
    const mistyped = await resolve(ops, orderId, { outcome: 'charged', paymentId: 'no-such-payment', reason: 'typo' });
    const foreign = await resolve(ops, orderId, { outcome: 'charged', paymentId: foreignPayment.id, reason: 'another customer’s' });
    const right = await resolve(ops, orderId, { outcome: 'charged', paymentId: payment.id, reason: 'seen at the provider' });

    expect(tooEarly.status).toBe(503);
    expect(tooEarly.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(mistyped.status).toBe(422);
    expect(foreign.status).toBe(422);
    expect(right.status).toBe(200);
    expect(right.body).toMatchObject({ status: 'completed', paymentId: payment.id });
  });
});
