import { randomUUID } from 'node:crypto';
import { PIZZA } from '../support/catalogue';
import { api, runReconciler, simulator, tokenFor, uniqueUser } from '../support/http';

describe('ordering smoke', () => {
  it('orders and pays a basket, then completes it in the background', async () => {
    const user = uniqueUser();
    const token = await tokenFor(user);
    const basket = (await api('/baskets', { method: 'POST', token })).body;
    await api(`/baskets/${basket.id}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 2 } });

    const ordered = await api(`/baskets/${basket.id}/orders`, { method: 'POST', token, headers: { 'idempotency-key': randomUUID() } });

    expect(ordered.status).toBe(201);
    expect(ordered.body).toMatchObject({ basketId: basket.id, total: 2880, paymentAttempts: 1 });
    expect(['paid', 'completed']).toContain(ordered.body.status);
    await runReconciler();
    const order = await api(`/orders/${ordered.body.id}`, { token });
    expect(order.body.status).toBe('completed');
    expect((await api(`/baskets/${basket.id}`, { token })).body.status).toBe('closed');
    const ledger = await simulator.ledger(user);
    expect(ledger.orders).toEqual([expect.objectContaining({ id: ordered.body.id, amount_total: 28.8, status: 'completed' })]);
    expect(ledger.payments).toEqual([expect.objectContaining({ order_id: ordered.body.id, amount: 28.8, status: 'completed' })]);
  });
});
