import { randomUUID } from 'node:crypto';
import {
  basketStatus,
  basketWithPizza,
  declinedOrder,
  expectHangsOutlastTheCallTimeout,
  expectNoMoneyProblems,
  isCreateOrder,
  isCreatePayment,
  isOrderOrPaymentCall,
  newCashier,
  orderStatesOf,
  payAgain,
  pizzaCheckout,
  placeOrder,
  type Cashier,
  type FaultScript,
} from '../support/checkout';
import { runReconciler, simulator, type ApiResponse } from '../support/http';
import { suiteDb } from '../support/ledger';
import { waitFor } from '../support/wait';

/**
 * The Idempotency-Key of the paying routes end to end: a repeated request
 * replays the first final answer byte for byte and never reaches the upstream
 * again; another request under the same key is refused; answers that say
 * "retry later" are not stored, so the same key resumes.
 */

const sql = suiteDb();

beforeAll(expectHangsOutlastTheCallTimeout);

/** A new cashier with a basket of one pizza, a fresh Idempotency-Key, and these faults scripted for the cashier. */
async function freshCheckout(...faults: FaultScript[]): Promise<{ cashier: Cashier; basketId: string; key: string }> {
  const { basketId, key, ...cashier } = await pizzaCheckout('idem', ...faults);
  return { cashier, basketId, key };
}

/** The upstream holds one order of the cashier and one payment: nothing ran twice. */
async function expectOneOrderOnePayment(cashier: Cashier): Promise<void> {
  const ledger = await simulator.ledger(cashier.user);
  expect(ledger.orders).toHaveLength(1);
  expect(ledger.payments).toHaveLength(1);
}

function expectReplayOf(replay: ApiResponse, first: ApiResponse): void {
  expect(replay.status).toBe(first.status);
  expect(replay.text).toBe(first.text);
  expect(replay.headers.get('idempotent-replayed')).toBe('true');
  expect(first.headers.get('idempotent-replayed')).toBeNull();
}

describe('Idempotency-Key on the paying routes', () => {
  it('replays the first 201 for a repeated key, byte for byte with its Location, without calling the upstream again, even after the order completed', async () => {
    const { cashier, basketId, key } = await freshCheckout();
    const first = await placeOrder(cashier, basketId, key);
    expect(first.status).toBe(201);
    await runReconciler();
    const callsBefore = (await simulator.ledger(cashier.user)).calls.filter(isOrderOrPaymentCall).length;

    const replay = await placeOrder(cashier, basketId, key);

    expectReplayOf(replay, first);
    expect(replay.headers.get('location')).toBe(`/orders/${first.body.id}`);
    expect(first.headers.get('location')).toBe(`/orders/${first.body.id}`);
    expect((await simulator.ledger(cashier.user)).calls.filter(isOrderOrPaymentCall)).toHaveLength(callsBefore);
    await expectOneOrderOnePayment(cashier);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('refuses the same key for another basket with 422 IDEMPOTENCY_KEY_REUSED and leaves that basket alone', async () => {
    const cashier = await newCashier('idem');
    const first = await basketWithPizza(cashier);
    const other = await basketWithPizza(cashier);
    const key = randomUUID();
    expect((await placeOrder(cashier, first, key)).status).toBe(201);
    const callsBefore = (await simulator.ledger(cashier.user)).calls.filter(isCreateOrder).length;

    const reused = await placeOrder(cashier, other, key);

    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await basketStatus(sql, other)).toBe('open');
    expect(await orderStatesOf(sql, other)).toEqual([]);
    expect((await simulator.ledger(cashier.user)).calls.filter(isCreateOrder)).toHaveLength(callsBefore);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('refuses the same key for the same basket with another body (an empty object where there was none)', async () => {
    const { cashier, basketId, key } = await freshCheckout();
    expect((await placeOrder(cashier, basketId, key)).status).toBe(201);

    const reused = await placeOrder(cashier, basketId, key, { body: {} });

    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await simulator.ledger(cashier.user)).payments).toHaveLength(1);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('refuses a checkout key reused to pay an order again', async () => {
    const { cashier, basketId, key } = await freshCheckout(['POST', '/payments/', 'decline']);
    const declined = await placeOrder(cashier, basketId, key);
    expect(declined.status).toBe(402);

    const reused = await payAgain(cashier, declined.body.error.orderId, key);

    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await simulator.ledger(cashier.user)).calls.filter(isCreatePayment)).toHaveLength(1);
    expect(await orderStatesOf(sql, basketId)).toEqual(['declined']);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('scopes keys to the cashier: another cashier may use the same key for its own checkout', async () => {
    const alice = await newCashier('idem');
    const bob = await newCashier('idem');
    const key = randomUUID();
    const aliceOrder = await placeOrder(alice, await basketWithPizza(alice), key);

    const bobOrder = await placeOrder(bob, await basketWithPizza(bob), key);

    expect(aliceOrder.status).toBe(201);
    expect(bobOrder.status).toBe(201);
    expect(bobOrder.headers.get('idempotent-replayed')).toBeNull();
    expect(bobOrder.body.id).not.toBe(aliceOrder.body.id);
    expect((await simulator.ledger(bob.user)).payments).toEqual([
      expect.objectContaining({ order_id: bobOrder.body.id, status: 'completed' }),
    ]);
    await expectNoMoneyProblems(sql, alice.user);
    await expectNoMoneyProblems(sql, bob.user);
  });

  it('answers 400 IDEMPOTENCY_KEY_MISSING without a key, on both paying routes, and opens nothing', async () => {
    const cashier = await newCashier('idem');
    const basketId = await basketWithPizza(cashier);

    const checkout = await placeOrder(cashier, basketId, undefined);
    const pay = await payAgain(cashier, randomUUID(), undefined);

    expect(checkout.status).toBe(400);
    expect(checkout.body.error.code).toBe('IDEMPOTENCY_KEY_MISSING');
    expect(pay.status).toBe(400);
    expect(pay.body.error.code).toBe('IDEMPOTENCY_KEY_MISSING');
    expect(await basketStatus(sql, basketId)).toBe('open');
    expect(await orderStatesOf(sql, basketId)).toEqual([]);
    expect((await simulator.ledger(cashier.user)).calls.filter(isOrderOrPaymentCall)).toEqual([]);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it.each([
    ['300 characters', 'k'.repeat(300)],
    ['256 characters', 'k'.repeat(256)],
    ['a space', 'two words'],
  ])('answers 422 VALIDATION_FAILED for a key with %s and opens nothing', async (_what, key) => {
    const cashier = await newCashier('idem');
    const basketId = await basketWithPizza(cashier);

    const response = await placeOrder(cashier, basketId, key);

    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details).toEqual([expect.objectContaining({ path: 'headers.idempotency-key' })]);
    expect(await basketStatus(sql, basketId)).toBe('open');
    expect(await orderStatesOf(sql, basketId)).toEqual([]);
    expect((await simulator.ledger(cashier.user)).calls.filter(isOrderOrPaymentCall)).toEqual([]);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('accepts a key of 255 printable characters', async () => {
    const cashier = await newCashier('idem');
    const basketId = await basketWithPizza(cashier);
    const key = `${'k'.repeat(250)}!~#$%`;

    const first = await placeOrder(cashier, basketId, key);
    const replay = await placeOrder(cashier, basketId, key);

    expect(first.status).toBe(201);
    expectReplayOf(replay, first);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('does not store a request refused by validation: the same key then runs the checkout', async () => {
    const { cashier, basketId, key } = await freshCheckout();
    const invalid = await placeOrder(cashier, basketId, key, { headers: { 'if-match': 'not-a-version' } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.code).toBe('VALIDATION_FAILED');

    const valid = await placeOrder(cashier, basketId, key);

    expect(valid.status).toBe(201);
    expect(valid.headers.get('idempotent-replayed')).toBeNull();
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('replays a 402 decline for the same key instead of paying again', async () => {
    const { cashier, basketId, key } = await freshCheckout(['POST', '/payments/', 'decline']);
    const declined = await placeOrder(cashier, basketId, key);
    expect(declined.status).toBe(402);
    expect(declined.body.error).toMatchObject({ code: 'PAYMENT_DECLINED', orderId: expect.any(String) });

    const replay = await placeOrder(cashier, basketId, key);

    expectReplayOf(replay, declined);
    const ledger = await simulator.ledger(cashier.user);
    expect(ledger.calls.filter(isCreatePayment)).toHaveLength(1);
    expect(ledger.payments).toEqual([expect.objectContaining({ status: 'failed' })]);
    expect(await orderStatesOf(sql, basketId)).toEqual(['declined']);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('does not store a 503: the same key runs again and pays, and only that answer is replayed', async () => {
    const { cashier, basketId, key } = await freshCheckout(['POST', '/orders/', '503', 4]);
    const unavailable = await placeOrder(cashier, basketId, key);
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(unavailable.headers.get('retry-after')).not.toBeNull();

    const retried = await placeOrder(cashier, basketId, key);
    const replay = await placeOrder(cashier, basketId, key);

    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    expectReplayOf(replay, retried);
    await expectOneOrderOnePayment(cashier);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('answers 409 REQUEST_IN_PROGRESS with Retry-After while the first request with the key still runs, then replays its answer', async () => {
    const { cashier, basketId, key } = await freshCheckout(['POST', '/orders/', 'hang_after']);

    const running = placeOrder(cashier, basketId, key);
    await waitFor('the first request to reach the upstream', async () => (await simulator.ledger(cashier.user)).calls.some(isCreateOrder));
    const meanwhile = await placeOrder(cashier, basketId, key);
    const first = await running;

    expect(meanwhile.status).toBe(409);
    expect(meanwhile.body.error.code).toBe('REQUEST_IN_PROGRESS');
    expect(Number(meanwhile.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(first.status).toBe(201);
    expectReplayOf(await placeOrder(cashier, basketId, key), first);
    await expectOneOrderOnePayment(cashier);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('replays a pay-again answer for its key without sending a second payment', async () => {
    const cashier = await newCashier('idem');
    const { orderId } = await declinedOrder(cashier);
    const key = randomUUID();

    const paid = await payAgain(cashier, orderId, key);
    const replay = await payAgain(cashier, orderId, key);

    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ id: orderId, status: 'paid', paymentAttempts: 2 });
    expectReplayOf(replay, paid);
    const ledger = await simulator.ledger(cashier.user);
    expect(ledger.calls.filter(isCreatePayment)).toHaveLength(2);
    expect(ledger.payments.map((p) => p.status)).toEqual(['failed', 'completed']);
    await expectNoMoneyProblems(sql, cashier.user);
  });
});
