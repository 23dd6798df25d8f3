import { randomUUID } from 'node:crypto';
import { basketStatus, basketWithPizza, expectNoMoneyProblems, newCashier, placeOrder, type Cashier } from '../support/checkout';
import { api, runReconciler, simulator } from '../support/http';
import { suiteDb } from '../support/ledger';
import { handlerOutput } from '../support/output';
import { waitFor } from '../support/wait';

/**
 * A paid checkout hands its completion to the completeOrder function before it
 * replies (an asynchronous Lambda invoke, served locally by serverless-offline's
 * Lambda API): the upstream order is completed without any reconciler run (the
 * test stack's schedule is off), by that function, acting with the owner's own
 * token. A completion that fails upstream leaves the order paid, and the
 * reconciler, still the net, completes it.
 */

const sql = suiteDb();

type Entry = Record<string, any>;

/** completeOrder's log lines about the order, once one says `message` (output reaches the file a little after the fact). */
async function completionLog(orderId: string, message: RegExp): Promise<Entry> {
  let found: Entry | undefined;
  await waitFor(`completeOrder to log "${message.source}" for order ${orderId}`, async () => {
    found = handlerOutput().find((entry) => entry.function === 'completeOrder' && entry.orderId === orderId && message.test(entry.message));
    return found !== undefined;
  });
  return found!;
}

async function orderRow(orderId: string): Promise<{ state: string; owner_token_sealed: string | null }> {
  const [row] = await sql<{ state: string; owner_token_sealed: string | null }[]>`
    select state, owner_token_sealed from orders where id = ${orderId}`;
  return row!;
}

/** Polls the simulator's ledger, a bounded while, until the user's upstream order has this status. */
async function upstreamOrderBecomes(cashier: Cashier, orderId: string, status: string): Promise<void> {
  await waitFor(
    `upstream order ${orderId} to be ${status}`,
    async () => (await simulator.ledger(cashier.user)).orders.some((o) => o.id === orderId && o.status === status),
    10_000,
  );
}

const patchesOf = async (cashier: Cashier) => (await simulator.ledger(cashier.user)).calls.filter((c) => c.method === 'PATCH');

describe('completion handed off to the completeOrder function', () => {
  it("completes a paid checkout's upstream order without the reconciler, as the owner, with the request's id in its logs", async () => {
    const cashier = await newCashier('completion');
    const basketId = await basketWithPizza(cashier);
    const requestId = `completion-${randomUUID()}`;

    const ordered = await placeOrder(cashier, basketId, randomUUID(), { headers: { 'x-request-id': requestId } });

    expect(ordered.status).toBe(201);
    expect(['paid', 'completed']).toContain(ordered.body.status);
    const orderId = ordered.body.id as string;
    await upstreamOrderBecomes(cashier, orderId, 'completed');
    await waitFor('the order to be completed here', async () => (await orderRow(orderId)).state === 'completed');
    expect(await basketStatus(sql, basketId)).toBe('closed');
    expect((await orderRow(orderId)).owner_token_sealed).toBeNull();
    // By completeOrder, under the paying request's id; the checkout's hand-off did not fail over to its own process.
    expect(await completionLog(orderId, /^completion finished$/)).toMatchObject({ outcome: 'completed', requestId });
    expect(handlerOutput().filter((entry) => entry.requestId === requestId && /hand-off failed/.test(entry.message ?? ''))).toEqual([]);
    // With the owner's own token: the simulator records whose token each call carried.
    expect((await patchesOf(cashier)).map((c) => [c.user, c.status])).toEqual([[cashier.user, 200]]);
    await expectNoMoneyProblems(sql, cashier.user);
  });

  it('completes an order paid by POST /orders/{orderId}/payments the same way', async () => {
    const cashier = await newCashier('completion-pay');
    const basketId = await basketWithPizza(cashier);
    const prepared = await placeOrder(cashier, basketId, randomUUID(), { body: { pay: false } });
    expect(prepared.status).toBe(201);
    const orderId = prepared.body.id as string;

    const paid = await api(`/orders/${orderId}/payments`, {
      method: 'POST',
      token: cashier.token,
      headers: { 'idempotency-key': randomUUID() },
    });

    expect(paid.status).toBe(201);
    await upstreamOrderBecomes(cashier, orderId, 'completed');
    await waitFor('the order to be completed here', async () => (await orderRow(orderId)).state === 'completed');
    expect(await basketStatus(sql, basketId)).toBe('closed');
    expect(await completionLog(orderId, /^completion finished$/)).toMatchObject({ outcome: 'completed' });
  });

  it('leaves the order paid when its completion fails upstream on every attempt; the reconciler completes it', async () => {
    const cashier = await newCashier('completion-fails');
    const basketId = await basketWithPizza(cashier);
    // Every attempt of the completion's PATCH (UPSTREAM_MAX_ATTEMPTS is 4 in the test stack) answers 503.
    await simulator.queueFault({ method: 'PATCH', path: '/orders/*', kind: '503', times: 4, user: cashier.user });

    const ordered = await placeOrder(cashier, basketId, randomUUID());

    expect(ordered.status).toBe(201);
    expect(ordered.body.status).toBe('paid');
    const orderId = ordered.body.id as string;
    expect(await completionLog(orderId, /^completion failed/)).toMatchObject({ level: 'WARN' });
    expect((await patchesOf(cashier)).map((c) => c.status)).toEqual([503, 503, 503, 503]);
    expect((await orderRow(orderId)).state).toBe('paid');
    expect(await basketStatus(sql, basketId)).toBe('locked');
    expect((await simulator.ledger(cashier.user)).orders).toEqual([expect.objectContaining({ id: orderId, status: 'pending' })]);
    // The stack took the failed invocation in its stride: the API still answers.
    expect((await api(`/orders/${orderId}`, { token: cashier.token })).body.status).toBe('paid');

    await runReconciler();

    expect((await orderRow(orderId)).state).toBe('completed');
    expect(await basketStatus(sql, basketId)).toBe('closed');
    expect((await simulator.ledger(cashier.user)).orders).toEqual([expect.objectContaining({ id: orderId, status: 'completed' })]);
    await expectNoMoneyProblems(sql, cashier.user);
  });
});
