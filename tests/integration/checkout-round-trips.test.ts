import { randomUUID } from 'node:crypto';
import { PostgresBasketRepository } from '../../lib/baskets/postgres-repository';
import type { CallContext } from '../../lib/call';
import type { DataApiOptions } from '../../lib/db/data-api';
import { Deadline } from '../../lib/deadline';
import type { Sql } from '../../lib/db/sql';
import { KeyNotTakenError, type KeyClaim } from '../../lib/idempotency/claim';
import { answerForUntakenKey, claimRequest, finishClaim } from '../../lib/idempotency/lifecycle';
import { IdempotencyStore } from '../../lib/idempotency/store';
import { replayedResponse } from '../../lib/http/idempotency';
import { toLambdaResult } from '../../lib/http/reply';
import { Checkout } from '../../lib/orders/checkout';
import { paymentReply, storedPaymentAnswer } from '../../lib/orders/http';
import type { Order } from '../../lib/orders/order';
import { PostgresOrderRepository } from '../../lib/orders/postgres-repository';
import { Settlement } from '../../lib/orders/settlement';
import { UNSETTLED_STATES } from '../../lib/orders/state-machine';
import { FakeUpstream, silentLogger, testVault } from '../support/fakes/index';
import { adminDb, drivers } from '../support/drivers';
import { CASHIER, OPTIONS } from '../support/use-cases';

/**
 * The writes a checkout makes before its answer, counted as RDS Data API calls
 * (each an HTTPS round trip) with the Postgres adapters and an in-memory
 * upstream: the limits docs/checkout-protocol.md ("Writes before the reply")
 * and docs/configuration.md state. The steps a request takes off the common
 * path are the use-case tests' (tests/unit/checkout.test.ts, the simulation).
 */
const dataApi = drivers.find((driver) => driver.name === 'Data API')!;
const RUN = `checkout-round-trips-${randomUUID().slice(0, 8)}`;
const PIZZA = { productId: 'pizza', productName: 'Pizza', quantity: 2, netUnitMinor: 1200, vatBasisPoints: 2000 };

describe('the round trips of a checkout on the Data API', () => {
  let calls: string[] = [];
  let sql: Sql;
  let store: IdempotencyStore;
  let orders: PostgresOrderRepository;
  let baskets: PostgresBasketRepository;
  let upstream: FakeUpstream;
  let checkout: Checkout;
  let settlement: Settlement;
  const cashier = { ...CASHIER, userId: `${RUN}-${randomUUID()}` };

  beforeAll(() => {
    sql = dataApi.connect({ onCall: (command: Parameters<NonNullable<DataApiOptions['onCall']>>[0]) => calls.push(command) });
    store = new IdempotencyStore(sql, { ttlMs: 3_600_000 });
    orders = new PostgresOrderRepository(sql);
    baskets = new PostgresBasketRepository(sql);
    upstream = new FakeUpstream();
    settlement = new Settlement({ orders, upstreamOrders: upstream, payments: upstream }, OPTIONS);
    checkout = new Checkout({ orders, baskets, upstreamOrders: upstream, payments: upstream, vault: testVault(), settlement }, OPTIONS);
  });

  afterAll(async () => {
    await sql.end();
    const admin = adminDb(1);
    await admin`update orders set state = 'failed', lease_until = null where owner_id like ${`${RUN}-%`} and state in ${admin([...UNSETTLED_STATES])}`;
    await admin.end();
  });

  const call = (): CallContext => ({ token: cashier.token, deadline: Deadline.fromNow(10_000), log: silentLogger });

  async function newBasket(): Promise<string> {
    const basketId = randomUUID();
    await baskets.create(cashier.userId, basketId);
    await baskets.putLine(cashier.userId, basketId, PIZZA);
    return basketId;
  }

  const claim = (key: string, route: string, params: unknown, body: unknown): KeyClaim =>
    claimRequest(store, { ownerId: cashier.userId, key, method: 'POST', route, params, body, lockMs: 30_000 });

  /** The Data API calls `step` makes, with the statements of the first run of each shape learnt beforehand. */
  async function counted<T>(step: () => Promise<T>): Promise<{ result: T; calls: number }> {
    calls = [];
    const result = await step();
    return { result, calls: calls.length };
  }

  /** One paid one-shot checkout, the way the route runs it; its answer stored for the key by the outcome's write. */
  async function oneShot(key: string, basketId: string) {
    const held = claim(key, 'POST /baskets/{basketId}/orders', { basketId }, { pay: true });
    const { result: order, calls: writes } = await counted(() =>
      checkout.placeOrder(cashier, basketId, key, undefined, call(), { pay: true, key: held }),
    );
    await finishClaim(store, held, undefined); // the route's `after`: nothing left to store
    return { order, writes, held };
  }

  it('a paid one-shot checkout writes 3 times before its answer, and stores that answer with the outcome', async () => {
    await oneShot(randomUUID(), await newBasket()); // the statements' parameter types are learnt once per container

    const { order, writes, held } = await oneShot(randomUUID(), await newBasket());

    expect(order).toMatchObject({ state: 'paid', totalMinor: 2880, paymentAttempts: 1 });
    expect(writes).toBe(3);
    expect(held.isHeld).toBe(false); // answered by the outcome's write: the middleware stores nothing more
  });

  it('a retry with the same key is answered from the stored order, exactly as the first answer', async () => {
    const key = randomUUID();
    const basketId = await newBasket();
    const { order } = await oneShot(key, basketId);
    const retry = claim(key, 'POST /baskets/{basketId}/orders', { basketId }, { pay: true });
    const paymentsSent = upstream.callsTo('createPayment');

    const replayed = await checkout.placeOrder(cashier, basketId, key, undefined, call(), { pay: true, key: retry }).then(
      () => undefined,
      (error: unknown) => (error instanceof KeyNotTakenError ? answerForUntakenKey(store, retry) : Promise.reject(error)),
    );

    const first = toLambdaResult(paymentReply(order));
    expect(replayedResponse(replayed!, storedPaymentAnswer)).toEqual({
      status: 201,
      body: first.body,
      headers: { location: `/orders/${order.id}` },
    });
    expect(upstream.callsTo('createPayment')).toBe(paymentsSent);
  });

  it('paying a prepared order writes 2 times before its answer; completing a paid order writes 2 times', async () => {
    const basketId = await newBasket();
    const prepared = await checkout.placeOrder(cashier, basketId, randomUUID(), undefined, call(), {
      pay: false,
      key: claim(randomUUID(), 'POST /baskets/{basketId}/orders', { basketId }, { pay: false }),
    });
    expect(prepared.state).toBe('placed');
    // The shapes learnt on a first order.
    const learn = await checkout.payOrder(cashier, prepared.id, call(), claim(randomUUID(), 'POST /orders/{orderId}/payments', {}, null));
    await settlement.claimAndComplete({ id: learn.id }, call());
    const second = await checkout.placeOrder(cashier, await newBasket(), randomUUID(), undefined, call(), { pay: false });

    const paid = await counted(() =>
      checkout.payOrder(cashier, second.id, call(), claim(randomUUID(), 'POST /orders/{orderId}/payments', { orderId: second.id }, null)),
    );
    const completed = await counted(() => settlement.claimAndComplete({ id: second.id }, call()));

    expect(paid.result.state).toBe('paid');
    expect(paid.calls).toBe(2);
    expect((completed.result as Order).state).toBe('completed');
    expect(completed.calls).toBe(2);
  });
});
