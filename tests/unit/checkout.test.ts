import { randomUUID } from 'node:crypto';
import type { BasketLine } from '../../lib/baskets/basket';
import { Deadline } from '../../lib/deadline';
import { AppError } from '../../lib/errors';
import type { CallContext } from '../../lib/call';
import { Checkout } from '../../lib/orders/checkout';
import { Settlement } from '../../lib/orders/settlement';
import type { Order } from '../../lib/orders/order';
import { FakeUpstream, InMemoryBaskets, InMemoryOrders, silentLogger, testVault, TIMEOUT, UNAVAILABLE } from '../support/fakes/index';
import { CASHIER, OPTIONS } from '../support/use-cases';

/**
 * The checkout use-case driven through in-memory ports (tests/support/fakes/):
 * what becomes of the order, the basket and the upstream's ledger of charges
 * when every upstream call answers, fails before its effect, or fails after it.
 * The HTTP and Postgres versions of these paths are in tests/e2e and tests/integration.
 */

const PIZZA: BasketLine = { productId: 'pizza', productName: 'Pizza', quantity: 3, netUnitMinor: 7990, vatBasisPoints: 2500 };
const WATER: BasketLine = { productId: 'water', productName: 'Water', quantity: 1, netUnitMinor: 1500, vatBasisPoints: 1500 };
/** 3 × 79.90 + 25 % VAT = 299.625 → 299.63, plus 15.00 + 15 % VAT = 17.25. */
const TOTAL_MINOR = 31_688;

let baskets: InMemoryBaskets;
let orders: InMemoryOrders;
let upstream: FakeUpstream;
let checkout: Checkout;
let settlement: Settlement;
let basketId: string;

beforeEach(async () => {
  baskets = new InMemoryBaskets();
  orders = new InMemoryOrders(baskets);
  upstream = new FakeUpstream();
  settlement = new Settlement({ orders, upstreamOrders: upstream, payments: upstream }, OPTIONS);
  checkout = new Checkout({ orders, baskets, upstreamOrders: upstream, payments: upstream, vault: testVault(), settlement }, OPTIONS);
  basketId = randomUUID();
  await baskets.create(CASHIER.userId, basketId);
  await baskets.putLine(CASHIER.userId, basketId, PIZZA);
  await baskets.putLine(CASHIER.userId, basketId, WATER);
});

/** One request's upstream call options: its deadline is `budgetMs` from now. */
const call = (budgetMs = 2_000): CallContext => ({ token: CASHIER.token, deadline: Deadline.fromNow(budgetMs), log: silentLogger });

const placeOrder = (key: string, options?: { pay: boolean }, budgetMs?: number) =>
  checkout.placeOrder(CASHIER, basketId, key, undefined, call(budgetMs), options);

/** The AppError a step fails with (anything else fails the test). */
async function rejection(step: Promise<unknown>): Promise<AppError> {
  try {
    await step;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the step to fail');
}

async function basketStatus(): Promise<string | undefined> {
  return (await baskets.find(CASHIER.userId, basketId))?.status;
}

/** The basket's one order (a failed one included). */
function theOrder(): Order {
  const all = orders.ordersOfBasket(basketId);
  expect(all).toHaveLength(1);
  return all[0];
}

describe('Checkout (in-memory ports)', () => {
  it('fails its own upstream order when another request adopted another one before its adoption with the payment', async () => {
    const startPayment = orders.startPayment.bind(orders);
    let other: string | undefined;
    jest.spyOn(orders, 'startPayment').mockImplementation(async (orderId, attemptId, sealed, options) => {
      if (options?.adopting && !other) {
        // A pay-again created its own upstream order and adopted it first.
        const created = await upstream.createOrder({ orderId: randomUUID(), correlation: orderId, totalMinor: TOTAL_MINOR }, call());
        if (created.kind !== 'created') throw new Error('the other create failed');
        other = created.order.id;
        await orders.transition(orderId, ['pending'], 'placed', { upstreamOrderId: other, checkDuplicates: true });
      }
      return startPayment(orderId, attemptId, sealed, options);
    });

    const order = await placeOrder('key-1');

    expect(order).toMatchObject({ state: 'paid', upstreamOrderId: other });
    expect(upstream.orders.map((o) => [o.id === other ? 'adopted' : 'own', o.status]).sort()).toEqual([
      ['adopted', 'pending'],
      ['own', 'failed'],
    ]);
    expect(upstream.charges).toHaveLength(1);
  });

  it('pays a one-shot checkout once, for the basket gross total in minor units', async () => {
    const order = await placeOrder('key-1');

    expect(order).toMatchObject({
      state: 'paid',
      totalMinor: TOTAL_MINOR,
      openedByKey: 'key-1',
      paymentAttempts: 1,
      duplicateCheckAt: null,
    });
    expect(upstream.orders).toEqual([{ id: order.upstreamOrderId, correlation: order.id, totalMinor: TOTAL_MINOR, status: 'pending' }]);
    expect(upstream.charges).toEqual([
      { paymentId: order.paymentId, upstreamOrderId: order.upstreamOrderId, amountMinor: TOTAL_MINOR, refunded: false },
    ]);
    expect(upstream.optionsOf('createPayment')?.timeoutMs).toBe(OPTIONS.paymentTimeoutMs);
    expect(orders.attemptsOf(order.id)).toMatchObject([
      { outcome: 'completed', amountMinor: TOTAL_MINOR, upstreamPaymentId: order.paymentId },
    ]);
    expect(order.ownerTokenSealed).not.toContain(CASHIER.token);
    expect(await basketStatus()).toBe('locked');
  });

  it('completes a paid order: completed upstream and here, basket closed, lease released', async () => {
    const paid = await placeOrder('key-1');

    const completed = await settlement.claimAndComplete(paid, call());

    expect(completed.state).toBe('completed');
    expect(upstream.orders[0].status).toBe('completed');
    expect(await basketStatus()).toBe('closed');
    expect(orders.leaseHeld(paid.id)).toBe(false);
    expect(upstream.charges).toHaveLength(1);
  });

  it('releases the completion lease when the order was completed meanwhile, without asking the upstream again', async () => {
    const paid = await placeOrder('key-1');
    await settlement.claimAndComplete(paid, call());
    const patchesBefore = upstream.callsTo('setOrderStatus');

    const again = await settlement.claimAndComplete(paid, call());

    expect(again.state).toBe('completed');
    expect(upstream.callsTo('setOrderStatus')).toBe(patchesBefore);
    expect(orders.leaseHeld(paid.id)).toBe(false);
  });

  it('prepares with pay: false (placed, nothing charged); payOrder then pays once', async () => {
    const prepared = await placeOrder('key-1', { pay: false });

    expect(prepared.state).toBe('placed');
    expect(prepared.upstreamOrderId).toBe(upstream.orders[0].id);
    expect(upstream.callsTo('createPayment')).toBe(0);
    expect(await basketStatus()).toBe('locked');

    const paid = await checkout.payOrder(CASHIER, prepared.id, call());

    expect(paid).toMatchObject({ id: prepared.id, state: 'paid' });
    expect(upstream.charges).toEqual([expect.objectContaining({ upstreamOrderId: prepared.upstreamOrderId, amountMinor: TOTAL_MINOR })]);
    expect(upstream.callsTo('createOrder')).toBe(1);
  });

  it('resumes a paid checkout retried with the same key, without charging again', async () => {
    const first = await placeOrder('key-1');
    const again = await placeOrder('key-1');

    expect(again).toMatchObject({ id: first.id, state: 'paid', paymentId: first.paymentId });
    expect(upstream.callsTo('createOrder')).toBe(1);
    expect(upstream.callsTo('createPayment')).toBe(1);
    expect(upstream.charges).toHaveLength(1);
  });

  it('refuses another key on a locked basket (BASKET_LOCKED), then on the paid one (BASKET_CLOSED)', async () => {
    const prepared = await placeOrder('key-1', { pay: false });

    const locked = await rejection(placeOrder('key-2'));
    expect(locked).toMatchObject({ code: 'BASKET_LOCKED', status: 409, extra: { orderId: prepared.id } });

    await checkout.payOrder(CASHIER, prepared.id, call());
    const closed = await rejection(placeOrder('key-2'));
    expect(closed).toMatchObject({ code: 'BASKET_CLOSED', status: 409 });

    expect(orders.ordersOfBasket(basketId)).toHaveLength(1);
    expect(upstream.orders).toHaveLength(1);
    expect(upstream.charges).toHaveLength(1);
  });

  it('adopts the order an ambiguous create made (found by correlation) and pays it once', async () => {
    upstream.failNext('createOrder', TIMEOUT, { afterEffect: true });

    const order = await placeOrder('key-1');

    expect(order.state).toBe('paid');
    expect(upstream.callsTo('createOrder')).toBe(1);
    expect(upstream.orders).toHaveLength(1);
    expect(order.upstreamOrderId).toBe(upstream.orders[0].id);
    expect(order.duplicateCheckAt).not.toBeNull(); // a lost create may still surface a duplicate later
    expect(upstream.charges).toEqual([expect.objectContaining({ upstreamOrderId: order.upstreamOrderId, amountMinor: TOTAL_MINOR })]);
  });

  it('fails the order and reopens the basket when the create is refused before any effect (503)', async () => {
    upstream.failNext('createOrder', UNAVAILABLE);

    const error = await rejection(placeOrder('key-1'));

    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 503, retryAfterSeconds: OPTIONS.retryAfterSeconds });
    expect(theOrder()).toMatchObject({ state: 'failed', lastError: 'UPSTREAM_UNAVAILABLE: status 503' });
    expect(await basketStatus()).toBe('open');
    expect(upstream.orders).toEqual([]);
    expect(upstream.callsTo('createPayment')).toBe(0);

    // The basket is open again: the same key checks it out afresh.
    const retried = await placeOrder('key-1');
    expect(retried.state).toBe('paid');
    expect(upstream.charges).toHaveLength(1);
  });

  it('keeps the order pending when a create is refused after an earlier one was lost: that one may still land', async () => {
    // The first create's answer is lost and the lookup does not see it yet; the second create is refused.
    upstream.failNext('createOrder', TIMEOUT, { afterEffect: true }).staleNextLookups(1).failNext('createOrder', UNAVAILABLE);

    const error = await rejection(placeOrder('key-1'));

    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 503, retryAfterSeconds: OPTIONS.retryAfterSeconds });
    expect(theOrder().state).toBe('pending');
    expect(await basketStatus()).toBe('locked');

    // The retry finds the order the lost create made, adopts it and pays it once: no upstream order is orphaned.
    const retried = await placeOrder('key-1');
    expect(retried.state).toBe('paid');
    expect(upstream.orders).toHaveLength(1);
    expect(retried.upstreamOrderId).toBe(upstream.orders[0].id);
    expect(upstream.charges).toHaveLength(1);
  });

  it('keeps one of duplicate upstream orders and PATCHes the other failed', async () => {
    // Two creates time out after their effect; the first lookup lags behind and sees neither.
    upstream
      .failNext('createOrder', TIMEOUT, { afterEffect: true })
      .failNext('createOrder', TIMEOUT, { afterEffect: true })
      .staleNextLookups(1);

    const order = await placeOrder('key-1');

    expect(order.state).toBe('paid');
    expect(upstream.callsTo('createOrder')).toBe(2);
    const [adopted, duplicate] = upstream.orders;
    expect(order.upstreamOrderId).toBe(adopted.id);
    expect(adopted.status).toBe('pending');
    expect(duplicate.status).toBe('failed');
    expect(order.duplicateCheckAt).not.toBeNull();
    expect(upstream.charges).toEqual([expect.objectContaining({ upstreamOrderId: adopted.id, amountMinor: TOTAL_MINOR })]);
  });

  it('never pays an upstream order that recorded another total: failed there and here, basket open', async () => {
    upstream.recordNextOrderTotal(TOTAL_MINOR - 1);

    const error = await rejection(placeOrder('key-1'));

    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', status: 502 });
    expect(error.message).toMatch(/different total/);
    const order = theOrder();
    expect(order).toMatchObject({ state: 'failed', lastError: 'UPSTREAM_TOTAL_MISMATCH' });
    expect(orders.leaseHeld(order.id)).toBe(false);
    expect(upstream.orders.map((o) => o.status)).toEqual(['failed']);
    expect(await basketStatus()).toBe('open');
    expect(upstream.callsTo('createPayment')).toBe(0);
  });

  it('never pays an order the upstream failed before it was adopted', async () => {
    // The create's answer is lost and so is the lookup's: the order stays pending, retry later.
    upstream.failNext('createOrder', TIMEOUT, { afterEffect: true }).failNext('findOrdersByCorrelation', TIMEOUT);
    const first = await rejection(placeOrder('key-1'));
    expect(first).toMatchObject({ code: 'UPSTREAM_TIMEOUT', status: 504, retryAfterSeconds: OPTIONS.retryAfterSeconds });
    expect(theOrder().state).toBe('pending');

    upstream.orders[0].status = 'failed'; // the upstream cancels it on its side

    const retried = await rejection(placeOrder('key-1'));
    expect(retried).toMatchObject({ code: 'UPSTREAM_ERROR', status: 502 });
    expect(theOrder()).toMatchObject({ state: 'failed', lastError: expect.stringMatching(/^UPSTREAM_ORDER_FAILED/) });
    expect(await basketStatus()).toBe('open');
    expect(upstream.callsTo('createOrder')).toBe(1);
    expect(upstream.callsTo('createPayment')).toBe(0);
  });

  it('answers a declined payment 402 PAYMENT_DECLINED (order declined); payOrder then pays it once', async () => {
    upstream.answerNextPayments('declined');

    const error = await rejection(placeOrder('key-1'));

    expect(error).toMatchObject({ code: 'PAYMENT_DECLINED', status: 402 });
    const declined = theOrder();
    expect(declined).toMatchObject({ state: 'declined', lastError: 'PAYMENT_DECLINED', paymentId: null });
    expect(upstream.charges).toEqual([]);
    expect(await basketStatus()).toBe('locked');

    const paid = await checkout.payOrder(CASHIER, declined.id, call());

    expect(paid).toMatchObject({ state: 'paid', paymentAttempts: 2, lastError: null });
    expect(upstream.allPayments.map((p) => p.status)).toEqual(['failed', 'completed']);
    expect(upstream.charges).toEqual([expect.objectContaining({ paymentId: paid.paymentId, amountMinor: TOTAL_MINOR })]);
  });

  it('leaves a payment that timed out unknown (PAYMENT_STATUS_UNKNOWN) and never sends it again', async () => {
    upstream.failNext('createPayment', TIMEOUT, { afterEffect: true });

    const error = await rejection(placeOrder('key-1'));

    expect(error).toMatchObject({ code: 'PAYMENT_STATUS_UNKNOWN', status: 502 });
    const order = theOrder();
    expect(order).toMatchObject({ state: 'unknown', lastError: 'PAYMENT_STATUS_UNKNOWN: timeout' });
    expect(orders.attemptsOf(order.id)).toMatchObject([{ outcome: 'unknown', upstreamPaymentId: null }]);

    // Neither a retry with the same key nor paying again sends another payment.
    expect(await rejection(placeOrder('key-1'))).toMatchObject({ code: 'PAYMENT_STATUS_UNKNOWN' });
    expect(await rejection(checkout.payOrder(CASHIER, order.id, call()))).toMatchObject({ code: 'ORDER_STATE_CONFLICT', status: 409 });
    expect(upstream.callsTo('createPayment')).toBe(1);
    expect(upstream.charges).toHaveLength(1); // the upstream did take it: the reason it is never sent blindly again
  });

  it('puts the order back to placed when a payment is refused before any effect (503), and pays on retry', async () => {
    upstream.failNext('createPayment', UNAVAILABLE);

    const error = await rejection(placeOrder('key-1'));

    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 503, retryAfterSeconds: OPTIONS.retryAfterSeconds });
    const order = theOrder();
    expect(order).toMatchObject({ state: 'placed', lastError: 'UPSTREAM_UNAVAILABLE: status 503' });
    expect(orders.attemptsOf(order.id)).toMatchObject([{ outcome: 'no_charge' }]);
    expect(upstream.charges).toEqual([]);

    const paid = await placeOrder('key-1');
    expect(paid.state).toBe('paid');
    expect(upstream.callsTo('createPayment')).toBe(2);
    expect(upstream.charges).toHaveLength(1);
  });

  it('sends no payment with too little of the deadline left, and answers retry later', async () => {
    const error = await rejection(placeOrder('key-1', undefined, 400)); // below paymentMinWindowMs (500)

    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 503, retryAfterSeconds: OPTIONS.retryAfterSeconds });
    const order = theOrder();
    expect(order).toMatchObject({ state: 'placed', paymentAttempts: 0 });
    expect(orders.attemptsOf(order.id)).toEqual([]);
    expect(upstream.callsTo('createPayment')).toBe(0);
  });

  it('measures the payment window after recording the attempt: a write that took the time sends nothing', async () => {
    const record = orders.startPayment.bind(orders);
    orders.startPayment = async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 300)); // a slow database round trip
      return record(...args);
    };

    const error = await rejection(placeOrder('key-1', undefined, 750)); // enough before the write, not after it

    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', status: 503 });
    const order = theOrder();
    expect(order.state).toBe('placed');
    expect(orders.attemptsOf(order.id)).toMatchObject([{ outcome: 'no_charge' }]);
    expect(upstream.callsTo('createPayment')).toBe(0);
  });

  it('never takes a payment for another amount as its charge: the order is unknown, for a person', async () => {
    upstream.recordNextPaymentAmount(100);

    const error = await rejection(placeOrder('key-1'));

    expect(error).toMatchObject({ code: 'PAYMENT_STATUS_UNKNOWN', status: 502 });
    const order = theOrder();
    expect(order).toMatchObject({ state: 'unknown', lastError: expect.stringMatching(/does not match the order \(amount 1/) });
    expect(orders.attemptsOf(order.id)).toMatchObject([{ outcome: 'unknown', upstreamPaymentId: upstream.allPayments[0].id }]);
  });

  it('follows a pending payment up until it settles completed', async () => {
    upstream.answerNextPayments({ settlesAs: 'completed', onRead: 1 });

    const order = await placeOrder('key-1', undefined, 1_000);

    expect(order).toMatchObject({ state: 'paid', paymentId: upstream.charges[0]?.paymentId });
    expect(upstream.callsTo('getPayment')).toBe(1);
    expect(orders.attemptsOf(order.id)).toMatchObject([{ outcome: 'completed', upstreamPaymentId: order.paymentId }]);
    expect(upstream.charges).toHaveLength(1);
  });

  it('answers a payment still pending at the end of the request as paying; a retry follows it up to paid', async () => {
    upstream.answerNextPayments('pending');

    const paying = await placeOrder('key-1', undefined, 700); // room for two short reads, no more

    expect(paying.state).toBe('paying');
    const [payment] = upstream.allPayments;
    expect(paying.paymentId).toBe(payment.id);
    expect(orders.attemptsOf(paying.id)).toMatchObject([{ outcome: 'pending', upstreamPaymentId: payment.id }]);
    expect(upstream.charges).toEqual([]);

    upstream.settlePayment(payment.id, 'completed');
    const paid = await placeOrder('key-1', undefined, 1_000);

    expect(paid).toMatchObject({ id: paying.id, state: 'paid', paymentId: payment.id });
    expect(upstream.callsTo('createPayment')).toBe(1);
    expect(upstream.charges).toHaveLength(1);
  });

  it('cancels a prepared order (failed upstream and here, basket open); a paid one is ORDER_STATE_CONFLICT', async () => {
    const prepared = await placeOrder('key-1', { pay: false });

    const cancelled = await checkout.cancel(CASHIER, prepared.id, call());

    expect(cancelled).toMatchObject({ id: prepared.id, state: 'failed', lastError: 'CANCELLED: by the cashier' });
    expect(upstream.orders.map((o) => o.status)).toEqual(['failed']);
    expect(await basketStatus()).toBe('open');
    expect(orders.leaseHeld(prepared.id)).toBe(false);
    expect(await checkout.cancel(CASHIER, prepared.id, call())).toMatchObject({ state: 'failed' }); // repeating it answers the cancelled order

    const paid = await placeOrder('key-2');
    const error = await rejection(checkout.cancel(CASHIER, paid.id, call()));

    expect(error).toMatchObject({ code: 'ORDER_STATE_CONFLICT', status: 409 });
    expect((await orders.findById(paid.id))?.state).toBe('paid');
    expect(upstream.charges).toHaveLength(1);
    expect(upstream.charges[0].upstreamOrderId).toBe(paid.upstreamOrderId);
  });
});
