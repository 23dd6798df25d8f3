import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BasketLine } from '../../lib/baskets/basket';
import { PostgresBasketRepository } from '../../lib/baskets/postgres-repository';
import type { DataApiOptions } from '../../lib/db/data-api';
import { migrate } from '../../lib/db/migrate';
import type { Sql } from '../../lib/db/sql';
import type { KeyClaim } from '../../lib/idempotency/claim';
import { claimRequest } from '../../lib/idempotency/lifecycle';
import { IdempotencyStore } from '../../lib/idempotency/store';
import type { Order } from '../../lib/orders/order';
import { PostgresOrderRepository } from '../../lib/orders/postgres-repository';
import { UNSETTLED_STATES } from '../../lib/orders/state-machine';
import { adminDb, drivers } from '../support/drivers';

/**
 * What each repository method costs on the RDS Data API, in calls (each an
 * HTTPS round trip): B = BeginTransaction, S = ExecuteStatement,
 * C = CommitTransaction, R = RollbackTransaction. The table of docs/configuration.md,
 * "What a request costs", says the same, row by row: checked below.
 */
const dataApi = drivers.find((driver) => driver.name === 'Data API')!;
const LETTER: Record<Parameters<NonNullable<DataApiOptions['onCall']>>[0], string> = {
  BeginTransaction: 'B',
  ExecuteStatement: 'S',
  CommitTransaction: 'C',
  RollbackTransaction: 'R',
};
const line = (quantity: number): BasketLine => ({
  productId: 'pizza',
  productName: 'Pizza',
  quantity,
  netUnitMinor: 1200,
  vatBasisPoints: 2000,
});
const RUN = `round-trips-${randomUUID().slice(0, 8)}`;
const owner = () => `${RUN}-${randomUUID()}`;

/** The "What a request costs" table of docs/configuration.md: each row's method (backticks dropped) and its number of calls. */
function documentedCalls(): Record<string, number> {
  const page = readFileSync(path.join(__dirname, '../../docs/configuration.md'), 'utf8').split('\n');
  const header = page.findIndex((text) => text.startsWith('| method | Data API calls |'));
  if (header < 0) throw new Error('docs/configuration.md has no table headed "| method | Data API calls |"');
  const rows: string[] = [];
  for (const text of page.slice(header + 2)) {
    if (!text.startsWith('|')) break;
    rows.push(text);
  }
  return Object.fromEntries(
    rows
      .map((row) =>
        row
          .split('|')
          .slice(1, 3)
          .map((cell) => cell.trim().replace(/`/g, '')),
      )
      .map(([method, calls]) => [method, Number(calls)]),
  );
}

describe('Data API round trips per repository method', () => {
  let calls: string[] = [];
  let sql: Sql;
  let baskets: PostgresBasketRepository;
  let orders: PostgresOrderRepository;
  let keys: IdempotencyStore;

  beforeEach(() => {
    calls = [];
    sql = dataApi.connect({ onCall: (command) => calls.push(LETTER[command]) });
    baskets = new PostgresBasketRepository(sql);
    orders = new PostgresOrderRepository(sql);
    keys = new IdempotencyStore(sql, { ttlMs: 3_600_000 });
  });
  afterEach(() => sql.end());

  // Leaves nothing for a reconciler of another test to pick up: none of these orders exist upstream.
  afterAll(async () => {
    const admin = adminDb(1);
    await admin`update orders set state = 'failed', lease_until = null where owner_id like ${`${RUN}-%`} and state in ${admin([...UNSETTLED_STATES])}`;
    await admin.end();
  });

  /** The calls `step` made, e.g. 'B S S S C'. */
  async function callsOf(step: () => Promise<unknown>): Promise<string> {
    calls = [];
    await step();
    return calls.join(' ');
  }

  /** Runs `step` once to learn its statements' parameter types, then reports the calls of a second, warm run. */
  async function warmCallsOf(arrange: () => Promise<() => Promise<unknown>>): Promise<string> {
    await (
      await arrange()
    )();
    return callsOf(await arrange());
  }

  it('a warm container: single-statement reads and guarded updates cost one call, transactions two more', async () => {
    const user = owner();
    const basket = async () => {
      const { id } = await baskets.create(user, randomUUID());
      await baskets.putLine(user, id, line(2));
      return id;
    };
    /** The request open() gets from the checkout. */
    const openRequest = async (basketId: string, key?: KeyClaim) => ({
      ownerId: user,
      basketId,
      orderId: randomUUID(),
      idempotencyKey: randomUUID(),
      ownerTokenSealed: 'v1.test.sealed',
      key,
    });
    const openOrder = async () => (await orders.open(await openRequest(await basket())))!;
    const paidOrder = async () => {
      const order = await openOrder();
      await orders.transition(order.id, ['pending'], 'placed');
      const { attempt } = (await orders.startPayment(order.id, randomUUID(), 'v1.test.sealed'))!;
      return { order, attempt };
    };
    const claimed: Order[] = [];
    const scope = () => ({ ownerId: user, key: randomUUID(), route: 'POST /baskets/{basketId}/orders', requestHash: 'a'.repeat(64) });
    const claim = () =>
      claimRequest(keys, {
        ownerId: user,
        key: randomUUID(),
        method: 'POST',
        route: 'POST /orders/{orderId}/payments',
        params: {},
        body: null,
        lockMs: 30_000,
      });
    const take = async (taken: ReturnType<typeof scope>) => {
      const begun = await keys.begin(taken, 30_000);
      if (begun.kind !== 'started') throw new Error(`could not take the key: ${begun.kind}`);
      return { ...taken, holder: begun.holder };
    };
    const RUN_HOLDER = randomUUID();

    const table: Record<string, string> = {
      'baskets.create': await warmCallsOf(async () => () => baskets.create(user, randomUUID())),
      'baskets.find': await warmCallsOf(async () => {
        const id = await basket();
        return () => baskets.find(user, id);
      }),
      'baskets.listOpen': await warmCallsOf(async () => {
        await basket();
        return () => baskets.listOpen(user, { limit: 20 });
      }),
      'baskets.putLine': await warmCallsOf(async () => {
        const id = await basket();
        return () => baskets.putLine(user, id, line(3));
      }),
      'baskets.putLine, refused (stale If-Match)': await warmCallsOf(async () => {
        const id = await basket();
        return () => baskets.putLine(user, id, line(3), 1).catch(() => undefined);
      }),
      'baskets.removeLine': await warmCallsOf(async () => {
        const id = await basket();
        return () => baskets.removeLine(user, id, 'pizza');
      }),
      'baskets.discard': await warmCallsOf(async () => {
        const id = await basket();
        return () => baskets.discard(user, id);
      }),
      'orders.open': await warmCallsOf(async () => {
        const request = await openRequest(await basket());
        return () => orders.open(request);
      }),
      'orders.open, taking the Idempotency-Key': await warmCallsOf(async () => {
        const request = await openRequest(await basket(), claim());
        return () => orders.open(request);
      }),
      'orders.find / findById / findLiveForBasket': await warmCallsOf(async () => {
        const { order } = await paidOrder();
        return () => orders.find(user, order.id);
      }),
      'orders.transition': await warmCallsOf(async () => {
        const { order } = await paidOrder();
        return () => orders.transition(order.id, ['paying'], 'unknown');
      }),
      'orders.startPayment': await warmCallsOf(async () => {
        const order = await openOrder();
        await orders.transition(order.id, ['pending'], 'placed');
        return () => orders.startPayment(order.id, randomUUID(), 'v1.test.sealed');
      }),
      'orders.startPayment, adopting the upstream order': await warmCallsOf(async () => {
        const order = await openOrder();
        return () =>
          orders.startPayment(order.id, randomUUID(), 'v1.test.sealed', {
            adopting: { upstreamOrderId: `up-${order.id}`, checkDuplicates: false },
          });
      }),
      'orders.startPayment, taking the Idempotency-Key': await warmCallsOf(async () => {
        const order = await openOrder();
        await orders.transition(order.id, ['pending'], 'placed');
        return () => orders.startPayment(order.id, randomUUID(), 'v1.test.sealed', { key: claim(), ownerId: user });
      }),
      'orders.finishPayment': await warmCallsOf(async () => {
        const { attempt } = await paidOrder();
        return () => orders.finishPayment(attempt, 'completed', `pay-${attempt.id}`);
      }),
      'orders.finishPayment, storing the answer': await warmCallsOf(async () => {
        const { attempt } = await paidOrder();
        const held = claim();
        await held.take();
        return () => orders.finishPayment(attempt, 'completed', `pay-${attempt.id}`, undefined, held);
      }),
      'orders.markPaymentUnknown': await warmCallsOf(async () => {
        const { attempt } = await paidOrder();
        return () => orders.markPaymentUnknown(attempt, 'lost');
      }),
      'orders.completeAndCloseBasket': await warmCallsOf(async () => {
        const { attempt } = await paidOrder();
        await orders.finishPayment(attempt, 'completed', `pay-${attempt.id}`);
        return () => orders.completeAndCloseBasket(attempt.orderId);
      }),
      'orders.claimLease': await warmCallsOf(async () => {
        const { order } = await paidOrder();
        return () => orders.claimLease(order.id, { holder: randomUUID(), ms: 1_000 });
      }),
      'orders.failAndReopenBasket': await warmCallsOf(async () => {
        const order = await openOrder();
        return () => orders.failAndReopenBasket(order.id, ['pending'], 'ABANDONED');
      }),
      'orders.claimForReconcile': await warmCallsOf(async () => async () => {
        claimed.push(
          ...(await orders.claimForReconcile({
            abandonedAfterMs: 3_600_000,
            declinedExpiryMs: 3_600_000,
            lease: { holder: RUN_HOLDER, ms: 60_000 },
            limit: 1,
          })),
        );
      }),
      'idempotency begin (a new key)': await warmCallsOf(async () => () => keys.begin(scope(), 30_000)),
      'idempotency begin (a replay)': await warmCallsOf(async () => {
        const taken = scope();
        await keys.complete(await take(taken), { status: 201, body: '{}', headers: {} });
        return () => keys.begin(taken, 30_000);
      }),
      'idempotency complete': await warmCallsOf(async () => {
        const taken = await take(scope());
        return () => keys.complete(taken, { status: 201, body: '{}', headers: {} });
      }),
      'idempotency purgeExpired': await warmCallsOf(async () => () => keys.purgeExpired(10)),
      'migrate (up to date)': await warmCallsOf(async () => () => migrate(sql)),
    };
    await Promise.all(claimed.map((order) => orders.releaseLease(order.id, RUN_HOLDER))); // others' orders too: hand them back

    expect(table).toEqual({
      'baskets.create': 'S',
      'baskets.find': 'S',
      'baskets.listOpen': 'S S',
      'baskets.putLine': 'B S S S C',
      'baskets.putLine, refused (stale If-Match)': 'B S S R',
      'baskets.removeLine': 'B S S S C',
      'baskets.discard': 'S',
      'orders.open': 'S',
      'orders.open, taking the Idempotency-Key': 'S',
      'orders.find / findById / findLiveForBasket': 'S',
      'orders.transition': 'S',
      'orders.startPayment': 'S',
      'orders.startPayment, adopting the upstream order': 'S',
      'orders.startPayment, taking the Idempotency-Key': 'S',
      'orders.finishPayment': 'S',
      'orders.finishPayment, storing the answer': 'S',
      'orders.markPaymentUnknown': 'S',
      'orders.completeAndCloseBasket': 'S',
      'orders.claimLease': 'S',
      'orders.failAndReopenBasket': 'S',
      'orders.claimForReconcile': 'S',
      'idempotency begin (a new key)': 'S',
      'idempotency begin (a replay)': 'S S',
      'idempotency complete': 'S',
      'idempotency purgeExpired': 'S',
      'migrate (up to date)': 'B S S S C',
    });
    // The documentation's table: the same methods, each with as many calls as measured.
    expect(documentedCalls()).toEqual(
      Object.fromEntries(Object.entries(table).map(([method, calls]) => [method, calls.split(' ').length])),
    );
  });

  it('a cold container learns each statement’s parameter types once: 3 more calls inside a transaction, 5 outside', async () => {
    const user = owner();
    const { id } = await baskets.create(user, randomUUID());
    await sql.end();
    sql = dataApi.connect({ onCall: (command) => calls.push(LETTER[command]) });
    baskets = new PostgresBasketRepository(sql);

    const coldRead = await callsOf(() => baskets.find(user, id));
    const warmRead = await callsOf(() => baskets.find(user, id));
    const coldWrite = await callsOf(() => baskets.putLine(user, id, line(1)));
    const warmWrite = await callsOf(() => baskets.putLine(user, id, line(2)));

    // Outside a transaction: B, PREPARE, read the types, DEALLOCATE, R; then the statement.
    expect(coldRead).toBe('B S S S R S');
    expect(warmRead).toBe('S');
    // Inside one: PREPARE, read the types, DEALLOCATE before the version bump, the line upsert and the
    // lines' select, each then run.
    expect(coldWrite).toBe('B S S S S S S S S S S S S C');
    expect(warmWrite).toBe('B S S S C');
  });
});
