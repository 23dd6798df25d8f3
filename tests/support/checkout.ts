import { randomUUID } from 'node:crypto';
import type { FaultKind, LedgerCall } from '../../dev/simulator';
import type { Sql } from '../../lib/db/sql';
import { PIZZA } from './catalogue';
import { api, call, runReconciler, simulator, simulatorUrl, tokenFor, uniqueUser, type ApiResponse } from './http';
import { ledgerProblems, NO_MONEY_PROBLEMS } from './ledger';
import { waitFor } from './wait';

/** A user of its own with a token, so a test never sees another test's baskets, orders, ledger or scripted faults. */
export interface Cashier {
  user: string;
  token: string;
}

/** A basket ready to order, and the Idempotency-Key its checkout and every retry of it is sent with. */
export interface Checkout extends Cashier {
  basketId: string;
  key: string;
}

/** The label starts the user id, to tell whose requests are whose in the handler logs and the ledger. */
export async function newCashier(label: string): Promise<Cashier> {
  const user = uniqueUser(label);
  return { user, token: await tokenFor(user) };
}

export async function emptyBasket(cashier: Cashier): Promise<string> {
  const basket = await api('/baskets', { method: 'POST', token: cashier.token });
  expect(basket.status).toBe(201);
  return basket.body.id;
}

export async function basketWith(cashier: Cashier, productId: string, quantity: number): Promise<string> {
  const basketId = await emptyBasket(cashier);
  const line = await api(`/baskets/${basketId}/items/${productId}`, { method: 'PUT', token: cashier.token, body: { quantity } });
  expect(line.status).toBe(200);
  return basketId;
}

export function basketWithPizza(cashier: Cashier): Promise<string> {
  return basketWith(cashier, PIZZA, 1);
}

/** A fault for the cashier's next `times` (1 unless given) upstream calls of `method path`; a `*` segment of the path matches any one. */
export type FaultScript = [method: string, path: string, kind: FaultKind, times?: number];

export function scriptFault(cashier: Cashier, ...[method, path, kind, times = 1]: FaultScript) {
  return simulator.queueFault({ method, path, kind, times, user: cashier.user });
}

/** A new cashier (the label starts the user id) with a basket of one pizza, a fresh Idempotency-Key, and these faults scripted. */
export async function pizzaCheckout(label: string, ...faults: FaultScript[]): Promise<Checkout> {
  const cashier = await newCashier(label);
  const checkout = { ...cashier, basketId: await basketWithPizza(cashier), key: randomUUID() };
  for (const fault of faults) await scriptFault(checkout, ...fault);
  return checkout;
}

/** Checks the basket out; with the key undefined the request goes without an Idempotency-Key header. */
export function placeOrder(
  cashier: Cashier,
  basketId: string,
  key: string | undefined,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers = { ...options.headers, ...(key === undefined ? {} : { 'idempotency-key': key }) };
  return api(`/baskets/${basketId}/orders`, { method: 'POST', token: cashier.token, headers, body: options.body });
}

/** Checks the basket out under the checkout's own key: the first attempt, or a retry of it. */
export function submitCheckout(checkout: Checkout): Promise<ApiResponse> {
  return placeOrder(checkout, checkout.basketId, checkout.key);
}

/** Pays an order again; with the key undefined the request goes without an Idempotency-Key header. */
export function payAgain(cashier: Cashier, orderId: string, key: string | undefined): Promise<ApiResponse> {
  return api(`/orders/${orderId}/payments`, {
    method: 'POST',
    token: cashier.token,
    headers: key === undefined ? {} : { 'idempotency-key': key },
  });
}

export function refund(cashier: Cashier, orderId: string): Promise<ApiResponse> {
  return api(`/orders/${orderId}/refund`, { method: 'POST', token: cashier.token });
}

/** A basket of the cashier ordered, its payment declined: the order stays declined, the basket locked. */
export async function declinedOrder(cashier: Cashier): Promise<{ basketId: string; orderId: string }> {
  const basketId = await basketWithPizza(cashier);
  await scriptFault(cashier, 'POST', '/payments/', 'decline');
  const declined = await placeOrder(cashier, basketId, randomUUID());
  expect(declined.status).toBe(402);
  return { basketId, orderId: declined.body.error.orderId };
}

/**
 * A basket of the cashier ordered, paid and completed: through the reconciler
 * if the background completion has not finished (another run may hold the
 * order's lease for a moment).
 */
export async function completedOrder(cashier: Cashier): Promise<{ basketId: string; orderId: string }> {
  const basketId = await basketWithPizza(cashier);
  const ordered = await placeOrder(cashier, basketId, randomUUID());
  expect(ordered.status).toBe(201);
  const orderId: string = ordered.body.id;
  const status = async () => (await api(`/orders/${orderId}`, { token: cashier.token })).body.status;
  for (let round = 0; round < 5; round++) {
    if ((await status()) === 'completed') return { basketId, orderId };
    await runReconciler();
    if ((await status()) === 'completed') return { basketId, orderId };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`order ${orderId} did not complete (it is ${await status()})`);
}

/**
 * A basket of the cashier ordered and paid whose completion after the reply
 * (PATCH /orders/{id}) failed four times with 503, so the background gave
 * up: the order stays paid until the reconciler completes it.
 */
export async function paidUncompletedOrder(cashier: Cashier): Promise<{ basketId: string; orderId: string }> {
  const basketId = await basketWithPizza(cashier);
  await scriptFault(cashier, 'PATCH', '/orders/*', '503', 4);
  const ordered = await placeOrder(cashier, basketId, randomUUID());
  expect(ordered.status).toBe(201);
  await waitFor(
    'the completion attempts after the reply',
    async () => (await simulator.ledger(cashier.user)).calls.filter(isPatchOrder).length >= 4,
  );
  return { basketId, orderId: ordered.body.id };
}

/** The response is an error of this status and code. */
export function expectError(response: ApiResponse, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
}

export const isCreateOrder = (c: LedgerCall) => c.method === 'POST' && c.path === '/orders/';
export const isCreatePayment = (c: LedgerCall) => c.method === 'POST' && c.path === '/payments/';
export const isPatchOrder = (c: LedgerCall) => c.method === 'PATCH' && c.path.startsWith('/orders/');
export const isRefundCall = (c: LedgerCall) => c.method === 'DELETE' && c.path.startsWith('/payments/');
export const isOrderOrPaymentCall = (c: LedgerCall) => c.path.startsWith('/orders') || c.path.startsWith('/payments');

export async function basketStatus(sql: Sql, basketId: string): Promise<string | undefined> {
  const [row] = await sql<{ status: string }[]>`select status from baskets where id = ${basketId}`;
  return row?.status;
}

/** The states of the basket's orders, oldest first. */
export async function orderStatesOf(sql: Sql, basketId: string): Promise<string[]> {
  const rows = await sql<{ state: string }[]>`select state from orders where basket_id = ${basketId} order by created_at`;
  return rows.map((row) => row.state);
}

export async function paymentAttemptOutcomes(sql: Sql, orderId: string): Promise<string[]> {
  const rows = await sql<{ outcome: string }[]>`select outcome from payment_attempts where order_id = ${orderId} order by created_at`;
  return rows.map((row) => row.outcome);
}

export async function expectNoMoneyProblems(sql: Sql, user: string): Promise<void> {
  expect(await ledgerProblems(await simulator.ledger(user), sql)).toEqual(NO_MONEY_PROBLEMS);
}

/** Global setup runs the simulator with hangs longer than the handlers' 1500 ms call timeout: a hang is a timeout. */
export async function expectHangsOutlastTheCallTimeout(): Promise<void> {
  expect((await call(simulatorUrl(), '/__config')).body.hangMs).toBeGreaterThan(1500);
}
