import { randomUUID } from 'node:crypto';
import {
  basketStatus,
  basketWithPizza,
  expectNoMoneyProblems,
  isCreateOrder,
  isCreatePayment,
  newCashier,
  payAgain,
  placeOrder,
  type Cashier,
} from '../support/checkout';
import { api, runReconciler, simulator } from '../support/http';
import { suiteDb } from '../support/ledger';

/**
 * The prepared checkout: the order is created when the cashier totals the
 * basket (`pay: false`), paid with one upstream call once the customer has
 * the card out, or cancelled if they change their mind.
 */

const sql = suiteDb();

const prepare = (cashier: Cashier, basketId: string, key = randomUUID()) => placeOrder(cashier, basketId, key, { body: { pay: false } });
const cancel = (cashier: Cashier, orderId: string) => api(`/orders/${orderId}`, { method: 'DELETE', token: cashier.token });

async function stateOf(orderId: string): Promise<string> {
  return (await sql<{ state: string }[]>`select state from orders where id = ${orderId}`)[0].state;
}

describe('a prepared checkout', () => {
  it('prepares the order (created upstream, basket locked, nothing charged), then pays it with one upstream call', async () => {
    const cashier = await newCashier('prepared');
    const basketId = await basketWithPizza(cashier);

    const prepared = await prepare(cashier, basketId);

    expect(prepared.status).toBe(201);
    expect(prepared.body).toMatchObject({ basketId, status: 'placed', total: 1440, paymentId: null, paymentAttempts: 0 });
    expect(await basketStatus(sql, basketId)).toBe('locked');
    const before = await simulator.ledger(cashier.user);
    expect(before.orders).toEqual([expect.objectContaining({ amount_total: 14.4, status: 'pending', basket_id: prepared.body.id })]);
    expect(before.payments).toEqual([]);
    const callsBefore = before.calls.length;

    const paid = await payAgain(cashier, prepared.body.id, randomUUID());

    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ id: prepared.body.id, status: 'paid', paymentAttempts: 1 });
    const during = (await simulator.ledger(cashier.user)).calls.slice(callsBefore).filter((c) => c.method !== 'PATCH');
    expect(during.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /payments/']);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('replays the prepare for its key, and refuses another checkout of the prepared basket', async () => {
    const cashier = await newCashier('prepared');
    const basketId = await basketWithPizza(cashier);
    const key = randomUUID();

    const first = await prepare(cashier, basketId, key);
    const replayed = await prepare(cashier, basketId, key);
    const other = await placeOrder(cashier, basketId, randomUUID());

    expect(replayed.status).toBe(201);
    expect(replayed.text).toBe(first.text);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'BASKET_LOCKED', orderId: first.body.id });
    expect((await simulator.ledger(cashier.user)).calls.filter(isCreateOrder)).toHaveLength(1);
  });

  it('pays a prepared order whose creation was never confirmed by finishing the creation first', async () => {
    const cashier = await newCashier('prepared');
    const basketId = await basketWithPizza(cashier);
    await simulator.queueFault({ method: 'POST', path: '/orders/', kind: 'reset', times: 2, user: cashier.user });
    const unconfirmed = await prepare(cashier, basketId);
    expect(unconfirmed.status).toBe(503);
    const orderId = unconfirmed.body.error.orderId;
    expect(await stateOf(orderId)).toBe('pending');

    const paid = await payAgain(cashier, orderId, randomUUID());

    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ id: orderId, status: 'paid' });
    const ledger = await simulator.ledger(cashier.user);
    expect(ledger.orders).toHaveLength(1);
    expect(ledger.calls.filter(isCreatePayment)).toHaveLength(1);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('cancels a prepared order: failed upstream and here, the basket open again for another checkout; cancelling again answers the same', async () => {
    const cashier = await newCashier('prepared');
    const basketId = await basketWithPizza(cashier);
    const prepared = await prepare(cashier, basketId);

    const cancelled = await cancel(cashier, prepared.body.id);
    const again = await cancel(cashier, prepared.body.id);

    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: prepared.body.id, status: 'failed', lastError: 'CANCELLED' });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('failed');
    expect(await basketStatus(sql, basketId)).toBe('open');
    expect((await simulator.ledger(cashier.user)).orders.map((o) => o.status)).toEqual(['failed']);
    const paying = await payAgain(cashier, prepared.body.id, randomUUID());
    expect(paying.status).toBe(409);
    const reordered = await placeOrder(cashier, basketId, randomUUID());
    expect(reordered.status).toBe(201);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('answers 202 when failing the cancelled order upstream fails: nothing can pay it, and the reconciler finishes', async () => {
    const cashier = await newCashier('prepared');
    const basketId = await basketWithPizza(cashier);
    const prepared = await prepare(cashier, basketId);
    await simulator.queueFault({ method: 'PATCH', path: '/orders/*', kind: '503', times: 4, user: cashier.user });

    const cancelled = await cancel(cashier, prepared.body.id);

    expect(cancelled.status).toBe(202);
    expect(cancelled.body.status).toBe('failing');
    expect((await payAgain(cashier, prepared.body.id, randomUUID())).status).toBe(409);
    for (let round = 0; round < 5 && (await stateOf(prepared.body.id)) !== 'failed'; round++) await runReconciler();
    expect(await stateOf(prepared.body.id)).toBe('failed');
    expect(await basketStatus(sql, basketId)).toBe('open');
    expect((await simulator.ledger(cashier.user)).payments).toEqual([]);
  });

  it('refuses to cancel a paid order (refund it instead) and one that is not the caller’s', async () => {
    const cashier = await newCashier('prepared');
    const basketId = await basketWithPizza(cashier);
    const paid = await placeOrder(cashier, basketId, randomUUID());
    const stranger = await newCashier('prepared-stranger');

    const refused = await cancel(cashier, paid.body.id);
    const hidden = await cancel(stranger, paid.body.id);

    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'ORDER_STATE_CONFLICT', orderId: paid.body.id });
    expect(refused.body.error.message).toMatch(/refund it instead/);
    expect(hidden.status).toBe(404);
    expect(['paid', 'completed']).toContain(await stateOf(paid.body.id));
  });

  it('fails a prepared order nobody paid once the reconciler finds it abandoned, and reopens the basket', async () => {
    const cashier = await newCashier('prepared');
    const basketId = await basketWithPizza(cashier);
    const prepared = await prepare(cashier, basketId);
    await sql`update orders set updated_at = now() - interval '1 hour' where id = ${prepared.body.id}`;

    for (let round = 0; round < 5 && (await stateOf(prepared.body.id)) !== 'failed'; round++) await runReconciler();

    expect(await stateOf(prepared.body.id)).toBe('failed');
    expect(await basketStatus(sql, basketId)).toBe('open');
    expect((await simulator.ledger(cashier.user)).orders.map((o) => o.status)).toEqual(['failed']);
  });

  it('refuses a body other than { pay: boolean }', async () => {
    const cashier = await newCashier('prepared');
    const basketId = await basketWithPizza(cashier);

    const refused = await placeOrder(cashier, basketId, randomUUID(), { body: { pay: 'later' } });

    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('VALIDATION_FAILED');
  });
});
