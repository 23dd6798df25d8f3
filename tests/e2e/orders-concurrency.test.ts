import { randomUUID } from 'node:crypto';
import { PIZZA, SANDWICH } from '../support/catalogue';
import {
  basketWith,
  basketWithPizza,
  completedOrder,
  declinedOrder,
  expectHangsOutlastTheCallTimeout,
  expectNoMoneyProblems,
  isCreateOrder,
  isCreatePayment,
  isRefundCall,
  newCashier,
  orderStatesOf,
  payAgain,
  placeOrder,
  refund,
  scriptFault,
} from '../support/checkout';
import { api, simulator } from '../support/http';
import { suiteDb } from '../support/ledger';
import { waitFor } from '../support/wait';

/**
 * Checkouts racing each other through serverless-offline: one basket ordered
 * by many terminals, one checkout retried in parallel under its key, pay-again
 * and refund raced, and basket edits racing the lock. Whatever the
 * interleaving, the upstream sees one order and at most one charge.
 */

const sql = suiteDb();

beforeAll(expectHangsOutlastTheCallTimeout);

function parallel<T>(count: number, work: (index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => work(index)));
}

describe('concurrent checkouts', () => {
  it('lets exactly one of 20 terminals ordering the same basket with different keys create and charge the order', async () => {
    const cashier = await newCashier('race');
    const basketId = await basketWithPizza(cashier);

    const responses = await parallel(20, () => placeOrder(cashier, basketId, randomUUID()));

    const winners = responses.filter((r) => r.status === 201);
    expect(winners).toHaveLength(1);
    const orderId = winners[0].body.id;
    for (const loser of responses.filter((r) => r.status !== 201)) {
      expect(loser.status).toBe(409);
      expect(['BASKET_LOCKED', 'BASKET_CLOSED', 'REQUEST_IN_PROGRESS']).toContain(loser.body.error.code);
      if (loser.body.error.orderId !== undefined) expect(loser.body.error.orderId).toBe(orderId);
    }
    const ledger = await simulator.ledger(cashier.user);
    expect(ledger.calls.filter(isCreateOrder)).toHaveLength(1);
    expect(ledger.orders.map((o) => o.id)).toEqual([orderId]);
    expect(ledger.calls.filter(isCreatePayment)).toHaveLength(1);
    expect(ledger.payments).toEqual([expect.objectContaining({ order_id: orderId, amount: 14.4, status: 'completed' })]);
    expect(await orderStatesOf(sql, basketId)).toHaveLength(1);
    await expectNoMoneyProblems(sql, cashier.user);
  }, 90_000); // 20 cold Lambda containers start at once

  it('runs one checkout for 10 parallel requests with the same key: one upstream order, one payment, identical 201 bodies', async () => {
    const cashier = await newCashier('race');
    const basketId = await basketWithPizza(cashier);
    const key = randomUUID();

    const responses = await parallel(10, () => placeOrder(cashier, basketId, key));

    const created = responses.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(created.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    for (const reply of created) expect(reply.text).toBe(created[0].text);
    for (const busy of responses.filter((r) => r.status !== 201)) {
      expect(busy.status).toBe(409);
      expect(busy.body.error.code).toBe('REQUEST_IN_PROGRESS');
      expect(Number(busy.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    const ledger = await simulator.ledger(cashier.user);
    expect(ledger.calls.filter(isCreateOrder)).toHaveLength(1);
    expect(ledger.calls.filter(isCreatePayment)).toHaveLength(1);
    expect(ledger.orders).toHaveLength(1);
    expect(ledger.payments).toHaveLength(1);

    const later = await placeOrder(cashier, basketId, key);

    expect(later.status).toBe(201);
    expect(later.text).toBe(created[0].text);
    expect(later.headers.get('idempotent-replayed')).toBe('true');
    expect((await simulator.ledger(cashier.user)).calls.filter(isCreatePayment)).toHaveLength(1);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('sends one payment when 10 terminals pay a declined order again at once', async () => {
    const cashier = await newCashier('race');
    const { orderId } = await declinedOrder(cashier);

    const responses = await parallel(10, () => payAgain(cashier, orderId, randomUUID()));

    // The one request that sends the payment is told paid, or, should its payment outlast its timeout on a loaded
    // machine, that the payment's outcome is unknown; never a second payment.
    const sent = responses.filter((r) => r.status === 201 || r.body.error?.code === 'PAYMENT_STATUS_UNKNOWN');
    expect(sent).toHaveLength(1);
    if (sent[0].status === 201) expect(sent[0].body).toMatchObject({ id: orderId, paymentAttempts: 2 });
    else expect(sent[0].body.error).toMatchObject({ code: 'PAYMENT_STATUS_UNKNOWN', orderId });
    for (const other of responses.filter((r) => r !== sent[0])) {
      expect(other.status).toBe(409);
      expect(['REQUEST_IN_PROGRESS', 'ORDER_STATE_CONFLICT']).toContain(other.body.error.code);
    }
    const ledger = await simulator.ledger(cashier.user);
    expect(ledger.calls.filter(isCreatePayment)).toHaveLength(2);
    expect(ledger.payments.map((p) => p.status).sort()).toEqual(['completed', 'failed']);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('sends one DELETE and refunds once when 5 refund requests for the same order race; the others are told it is in progress', async () => {
    const cashier = await newCashier('race');
    const { basketId, orderId } = await completedOrder(cashier);

    const responses = await parallel(5, () => refund(cashier, orderId));

    expect(responses.filter((r) => r.status === 200 && r.body.status === 'refunded').length).toBeGreaterThanOrEqual(1);
    for (const response of responses.filter((r) => r.status !== 200)) {
      expect(response.status).toBe(409);
      expect(response.body.error).toMatchObject({ code: 'REQUEST_IN_PROGRESS', orderId });
    }
    const ledger = await simulator.ledger(cashier.user);
    expect(ledger.calls.filter(isRefundCall)).toHaveLength(1);
    expect(ledger.refunds).toEqual([expect.objectContaining({ order_id: orderId, amount: 14.4 })]);
    expect(ledger.payments).toEqual([expect.objectContaining({ status: 'refunded' })]);
    expect(await orderStatesOf(sql, basketId)).toEqual(['refunded']);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('sends one DELETE however many refunds race: a second refund while the first is in flight answers 409 REQUEST_IN_PROGRESS, and the first settles by reading the payment', async () => {
    const cashier = await newCashier('race');
    const { basketId, orderId } = await completedOrder(cashier);
    await scriptFault(cashier, 'DELETE', '/payments/*', 'hang_after');

    const first = refund(cashier, orderId);
    await waitFor('the first refund to reach the upstream', async () => (await simulator.ledger(cashier.user)).calls.some(isRefundCall));
    const fast = await refund(cashier, orderId);
    const slow = await first;
    const later = await refund(cashier, orderId);

    expect(fast.status).toBe(409);
    expect(fast.body.error).toMatchObject({ code: 'REQUEST_IN_PROGRESS', orderId });
    expect(Number(fast.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(slow.status).toBe(200);
    expect(slow.body.status).toBe('refunded');
    expect(later.status).toBe(200);
    expect(later.body.status).toBe('refunded');
    expect(await orderStatesOf(sql, basketId)).toEqual(['refunded']);
    const ledger = await simulator.ledger(cashier.user);
    expect(ledger.calls.filter(isRefundCall)).toHaveLength(1);
    expect(ledger.refunds).toHaveLength(1);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('charges exactly the basket total shown when edits race the checkout, and no edit lands after the basket is locked', async () => {
    const cashier = await newCashier('race');
    const basketId = await basketWithPizza(cashier);

    const [ordered, ...edits] = await Promise.all([
      placeOrder(cashier, basketId, randomUUID()),
      ...Array.from({ length: 10 }, (_, index) =>
        api(`/baskets/${basketId}/items/${index % 2 === 0 ? PIZZA : SANDWICH}`, {
          method: 'PUT',
          token: cashier.token,
          body: { quantity: index + 1 },
        }),
      ),
    ]);

    expect(ordered.status).toBe(201);
    for (const edit of edits) {
      expect([200, 409]).toContain(edit.status);
      if (edit.status === 409) expect(['BASKET_LOCKED', 'BASKET_CLOSED']).toContain(edit.body.error.code);
    }
    const basket = await api(`/baskets/${basketId}`, { token: cashier.token });
    expect(['locked', 'closed']).toContain(basket.body.status);
    expect(ordered.body.total).toBe(basket.body.totals.gross);
    const ledger = await simulator.ledger(cashier.user);
    expect(ledger.payments).toEqual([expect.objectContaining({ order_id: ordered.body.id, status: 'completed' })]);
    expect(Math.round(ledger.payments[0].amount * 100)).toBe(basket.body.totals.gross);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('orders several baskets of one cashier in parallel, each once', async () => {
    const cashier = await newCashier('race');
    const baskets = await parallel(5, () => basketWith(cashier, SANDWICH, 2));

    const responses = await Promise.all(baskets.map((basketId) => placeOrder(cashier, basketId, randomUUID())));

    expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect(responses.map((r) => r.body.total)).toEqual([1632, 1632, 1632, 1632, 1632]);
    const ledger = await simulator.ledger(cashier.user);
    expect(new Set(ledger.orders.map((o) => o.id))).toEqual(new Set(responses.map((r) => r.body.id)));
    expect(ledger.payments).toHaveLength(5);
    await expectNoMoneyProblems(sql, cashier.user);
  });
});
