import { randomUUID } from 'node:crypto';
import type { BasketLine } from '../../lib/baskets/basket';
import { PostgresBasketRepository } from '../../lib/baskets/postgres-repository';
import type { Sql } from '../../lib/db/sql';
import type { Order, PaymentOutcome } from '../../lib/orders/order';
import { PostgresOrderRepository } from '../../lib/orders/postgres-repository';
import type { OpenOrderRequest, PaymentAttempt, ReconcileClaim } from '../../lib/orders/repository';
import { canTransition, ORDER_STATES, UNSETTLED_STATES, type OrderState } from '../../lib/orders/state-machine';
import { drivers, suiteClients } from '../support/drivers';

/** Every owner of this file starts with it, so the rows can be put to rest at the end. */
const RUN = `order-repo-${randomUUID().slice(0, 8)}`;
const owner = () => `${RUN}-${randomUUID()}@example.com`;

const line = (productId: string, quantity: number, netUnitMinor: number, vatBasisPoints: number): BasketLine => ({
  productId,
  productName: productId,
  quantity,
  netUnitMinor,
  vatBasisPoints,
});
const PIZZAS = [line('pizza', 2, 1200, 2000)]; // 2 × 12.00 + 20 % = 2880
const PIZZAS_GROSS = 2880;
/** The reconciler run these tests claim orders as. */
const RECONCILER = randomUUID();
/** What the repository stores as the owner's sealed token; sealing itself is tested in tests/unit/credentials.test.ts. */
const SEALED = 'v1.test.sealed-token';

/** States whose rows must carry a payment id (the orders table's check constraint). */
const CHARGED: OrderState[] = ['paid', 'completed', 'refunding', 'refunded'];
const EDGES = ORDER_STATES.flatMap((from) => ORDER_STATES.filter((to) => canTransition(from, to)).map((to) => ({ from, to })));

interface OrderRow {
  state: OrderState;
  updated_at: Date;
  lease_until: Date | null;
  last_error: string | null;
  payment_id: string | null;
  payment_attempts: number;
}

describe.each(drivers)('PostgresOrderRepository against a real Postgres ($name)', (driver) => {
  const { sql, admin } = suiteClients(driver, {
    max: 25,
    // Leaves nothing for a reconciler of another test to pick up: none of these orders exist upstream.
    beforeClose: (admin) =>
      admin`update orders set state = 'failed', lease_until = null where owner_id like ${`${RUN}-%`} and state in ${admin(UNSETTLED_STATES as OrderState[])}`,
  });
  const orders = new PostgresOrderRepository(sql);
  const baskets = new PostgresBasketRepository(sql);

  async function newBasket(lines: BasketLine[] = PIZZAS): Promise<{ ownerId: string; basketId: string; version: number }> {
    const ownerId = owner();
    const basketId = randomUUID();
    let basket = await baskets.create(ownerId, basketId);
    for (const each of lines) basket = await baskets.putLine(ownerId, basketId, each);
    return { ownerId, basketId, version: basket.version };
  }

  /** What the checkout asks open() for: the basket at the version the terminal saw (If-Match). */
  const openRequest = (basket: { ownerId: string; basketId: string; version: number }): OpenOrderRequest => ({
    ownerId: basket.ownerId,
    basketId: basket.basketId,
    orderId: randomUUID(),
    idempotencyKey: randomUUID(),
    expectedBasketVersion: basket.version,
    ownerTokenSealed: SEALED,
  });

  async function openOrder(lines: BasketLine[] = PIZZAS): Promise<Order> {
    return (await orders.open(openRequest(await newBasket(lines))))!;
  }

  async function basketRow(basketId: string): Promise<{ status: string; version: number }> {
    const [row] = await admin<{ status: string; version: number }[]>`select status, version from baskets where id = ${basketId}`;
    return row;
  }

  async function orderRow(orderId: string): Promise<OrderRow> {
    const [row] = await admin<OrderRow[]>`
      select state, updated_at, lease_until, last_error, payment_id, payment_attempts from orders where id = ${orderId}`;
    return row;
  }

  async function ordersOfBasket(basketId: string): Promise<number> {
    const [{ n }] = await admin<{ n: number }[]>`select count(*)::int as n from orders where basket_id = ${basketId}`;
    return n;
  }

  /** Puts an order straight into `state` (with a payment id where the table demands one), its last change `ageMs` ago. */
  async function forceState(orderId: string, state: OrderState, ageMs = 0, leaseUntil: 'none' | 'future' | 'past' = 'none'): Promise<void> {
    const paymentId = CHARGED.includes(state) ? `pay-${orderId}` : null;
    const lease = { none: admin`null`, future: admin`now() + interval '1 hour'`, past: admin`now() - interval '1 second'` }[leaseUntil];
    // Past pending, an order has adopted its upstream order.
    await admin`
      update orders set state = ${state}, payment_id = ${paymentId}, lease_until = ${lease},
        upstream_order_id = case when ${state} = 'pending' then null else 'up-' || id end,
        updated_at = now() - ${ageMs}::double precision * interval '1 millisecond'
      where id = ${orderId}`;
  }

  async function orderIn(state: OrderState, ageMs = 0, lease: 'none' | 'future' | 'past' = 'none'): Promise<Order> {
    const order = await openOrder();
    await forceState(order.id, state, ageMs, lease);
    return order;
  }

  describe('open()', () => {
    it('locks the basket at the expected version and writes a pending order at the total of its lines, in one statement', async () => {
      const basket = await newBasket();
      const request = openRequest(basket);

      const order = await orders.open(request);

      expect(order).toMatchObject({
        state: 'pending',
        id: request.orderId,
        ownerId: basket.ownerId,
        basketId: basket.basketId,
        totalMinor: PIZZAS_GROSS,
        openedByKey: request.idempotencyKey,
        paymentId: null,
        paymentAttempts: 0,
        lastError: null,
      });
      expect(await basketRow(basket.basketId)).toEqual({ status: 'locked', version: basket.version });
      expect(await orders.find(basket.ownerId, request.orderId)).toEqual(order);
      expect(await orders.findById(request.orderId)).toEqual(order);
      expect(await orders.findLiveForBasket(basket.ownerId, basket.basketId)).toEqual(order);
      expect(await orders.find(owner(), request.orderId)).toBeUndefined();
    });

    const refusals: Array<{
      name: string;
      arrange: (basket: {
        ownerId: string;
        basketId: string;
        version: number;
      }) => Promise<{ ownerId?: string; expectedBasketVersion?: number }>;
    }> = [
      { name: 'a basket with an order in progress', arrange: async (basket) => (await orders.open(openRequest(basket)), {}) },
      {
        name: 'a closed basket',
        arrange: async ({ basketId }) => (await admin`update baskets set status = 'closed' where id = ${basketId}`, {}),
      },
      { name: 'a discarded basket', arrange: async ({ ownerId, basketId }) => (await baskets.discard(ownerId, basketId), {}) },
      { name: 'another owner’s basket', arrange: async () => ({ ownerId: owner() }) },
      {
        name: 'a basket changed since the version expected',
        arrange: async ({ ownerId, basketId }) => (await baskets.putLine(ownerId, basketId, line('water', 1, 202, 300)), {}),
      },
    ];

    it.each(refusals)('refuses $name and leaves the basket as it was', async ({ arrange }) => {
      const basket = await newBasket();
      const overrides = await arrange(basket);
      const before = await basketRow(basket.basketId);
      const ordersBefore = await ordersOfBasket(basket.basketId);

      const opened = await orders.open({ ...openRequest(basket), ...overrides });

      expect(opened).toBeUndefined();
      expect(await basketRow(basket.basketId)).toEqual(before);
      expect(await ordersOfBasket(basket.basketId)).toBe(ordersBefore);
    });

    it('opens exactly one order when 20 checkouts of one basket race on parallel connections', async () => {
      const basket = await newBasket();

      const results = await Promise.all(Array.from({ length: 20 }, () => orders.open(openRequest(basket))));

      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      expect(await ordersOfBasket(basket.basketId)).toBe(1);
      expect(await basketRow(basket.basketId)).toEqual({ status: 'locked', version: basket.version });
    });
  });

  describe('guarded transitions', () => {
    it.each(EDGES)('moves $from → $to, stamping the change and leaving the lease to whoever holds it', async ({ from, to }) => {
      const order = await orderIn(from, 60_000, 'future');
      // A charged state needs the payment id that finishPayment would have recorded.
      if (CHARGED.includes(to)) await admin`update orders set payment_id = ${`pay-${order.id}`} where id = ${order.id}`;

      const moved = await orders.transition(order.id, [from], to, { lastError: 'why' });

      expect(moved).toMatchObject({ id: order.id, state: to, lastError: 'why' });
      const row = await orderRow(order.id);
      expect(row).toMatchObject({ state: to, last_error: 'why' });
      expect(row.lease_until!.getTime()).toBeGreaterThan(Date.now());
      expect(Date.now() - row.updated_at.getTime()).toBeLessThan(30_000);
    });

    it.each(EDGES)('refuses $from → $to from every other state and changes nothing', async ({ from, to }) => {
      const order = await openOrder();
      for (const actual of ORDER_STATES.filter((state) => state !== from)) {
        await forceState(order.id, actual, 60_000, 'future');
        const before = await orderRow(order.id);

        const moved = await orders.transition(order.id, [from], to, { lastError: 'must not be written' });

        expect({ actual, moved }).toEqual({ actual, moved: undefined });
        expect(await orderRow(order.id)).toEqual(before);
      }
    });

    it('throws on a transition the machine does not have, before touching the row', async () => {
      const order = await openOrder();
      const before = await orderRow(order.id);

      await expect(async () => orders.transition(order.id, ['pending'], 'paid')).rejects.toThrow('Invalid order transition pending → paid');
      await expect(async () => orders.failAndReopenBasket(order.id, ['paid'], 'nope')).rejects.toThrow(
        'Invalid order transition paid → failed',
      );
      expect(await orderRow(order.id)).toEqual(before);
    });

    it('the database accepts every state of the machine and no other', async () => {
      const order = await openOrder();
      for (const state of ORDER_STATES) await forceState(order.id, state);

      await expect(admin`update orders set state = 'lost' where id = ${order.id}`).rejects.toMatchObject({ code: '23514' });
    });
  });

  describe('two identical steps racing: exactly one wins', () => {
    const races: Array<{
      name: string;
      start: OrderState;
      prepare?: (order: Order) => Promise<PaymentAttempt>;
      step: (order: Order, attempt?: PaymentAttempt) => Promise<Order | undefined>;
      end: OrderState;
    }> = [
      { name: 'transition pending → placed', start: 'pending', step: (o) => orders.transition(o.id, ['pending'], 'placed'), end: 'placed' },
      {
        name: 'startPayment',
        start: 'placed',
        step: async (o) => (await orders.startPayment(o.id, randomUUID(), SEALED))?.order,
        end: 'paying',
      },
      {
        name: 'markPaymentUnknown',
        start: 'placed',
        prepare: async (o) => (await orders.startPayment(o.id, randomUUID(), SEALED))!.attempt,
        step: (_o, attempt) => orders.markPaymentUnknown(attempt!, 'lost'),
        end: 'unknown',
      },
      { name: 'transition placed → failing', start: 'placed', step: (o) => orders.transition(o.id, ['placed'], 'failing'), end: 'failing' },
      {
        name: 'failAndReopenBasket',
        start: 'failing',
        step: (o) => orders.failAndReopenBasket(o.id, ['failing'], 'abandoned'),
        end: 'failed',
      },
      { name: 'completeAndCloseBasket', start: 'paid', step: (o) => orders.completeAndCloseBasket(o.id), end: 'completed' },
      {
        name: 'transition completed → refunding',
        start: 'completed',
        step: (o) => orders.transition(o.id, ['completed'], 'refunding'),
        end: 'refunding',
      },
    ];

    it.each(races)('$name', async ({ start, prepare, step, end }) => {
      const order = await orderIn(start);
      const attempt = await prepare?.(order);
      const basketBefore = await basketRow(order.basketId);

      const results = await Promise.all(Array.from({ length: 8 }, () => step(order, attempt)));

      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      expect((await orderRow(order.id)).state).toBe(end);
      // Locking, reopening and closing the basket leave its version alone: it counts changes to the contents.
      expect((await basketRow(order.basketId)).version).toBe(basketBefore.version);
    });

    it('startPayment records one attempt however many race for it', async () => {
      const order = await orderIn('placed');

      await Promise.all(Array.from({ length: 8 }, () => orders.startPayment(order.id, randomUUID(), SEALED)));

      const [{ n }] = await admin<{ n: number }[]>`select count(*)::int as n from payment_attempts where order_id = ${order.id}`;
      expect(n).toBe(1);
      expect((await orderRow(order.id)).payment_attempts).toBe(1);
    });

    it('finishPayment applies one outcome when a completed and a declined answer race', async () => {
      const order = await orderIn('placed');
      const { attempt } = (await orders.startPayment(order.id, randomUUID(), SEALED))!;

      const [paid, declined] = await Promise.all([
        orders.finishPayment(attempt, 'completed', `pay-${order.id}`),
        orders.finishPayment(attempt, 'declined', null, 'PAYMENT_DECLINED'),
      ]);

      expect([paid, declined].filter((r) => r !== undefined)).toHaveLength(1);
      const [attemptRow] = await admin<{ outcome: string }[]>`select outcome from payment_attempts where id = ${attempt.id}`;
      const row = await orderRow(order.id);
      expect(row.state).toBe(paid ? 'paid' : 'declined');
      expect(attemptRow.outcome).toBe(paid ? 'completed' : 'declined');
    });
  });

  describe('payments', () => {
    async function attempts(orderId: string) {
      return admin<{ id: string; amount_minor: number; outcome: string; upstream_payment_id: string | null }[]>`
        select id, amount_minor, outcome, upstream_payment_id from payment_attempts where order_id = ${orderId} order by created_at`;
    }

    it('startPayment moves placed → paying and records the attempt, for the order total, before anything is sent', async () => {
      const order = await orderIn('placed');
      const attemptId = randomUUID();

      const started = await orders.startPayment(order.id, attemptId, SEALED);

      expect(started?.order).toMatchObject({ state: 'paying', paymentAttempts: 1 });
      expect(started?.attempt).toEqual({
        id: attemptId,
        orderId: order.id,
        number: 1,
        amountMinor: PIZZAS_GROSS,
        upstreamPaymentId: null,
        sentAt: expect.any(Date),
      });
      expect(await attempts(order.id)).toEqual([
        { id: attemptId, amount_minor: PIZZAS_GROSS, outcome: 'sending', upstream_payment_id: null },
      ]);
    });

    it('startPayment pays a declined order again as a new attempt', async () => {
      const order = await orderIn('placed');
      const first = (await orders.startPayment(order.id, randomUUID(), SEALED))!;
      await orders.finishPayment(first.attempt, 'declined', null, 'PAYMENT_DECLINED');

      const second = await orders.startPayment(order.id, randomUUID(), SEALED);

      expect(second?.order).toMatchObject({ state: 'paying', paymentAttempts: 2 });
      expect((await attempts(order.id)).map((a) => a.outcome)).toEqual(['declined', 'sending']);
    });

    it.each(['pending', 'paying', 'paid', 'completed', 'failed', 'unknown'] as OrderState[])(
      'startPayment refuses an order in %s and records no attempt',
      async (state) => {
        const order = await orderIn(state);

        expect(await orders.startPayment(order.id, randomUUID(), SEALED)).toBeUndefined();
        expect(await attempts(order.id)).toEqual([]);
        expect((await orderRow(order.id)).state).toBe(state);
      },
    );

    const outcomes: Array<{
      outcome: PaymentOutcome;
      upstreamId: string | null;
      lastError?: string;
      state: OrderState;
      paymentId: string | null;
    }> = [
      { outcome: 'completed', upstreamId: 'pay-42', state: 'paid', paymentId: 'pay-42' },
      { outcome: 'declined', upstreamId: null, lastError: 'PAYMENT_DECLINED', state: 'declined', paymentId: null },
      { outcome: 'no_charge', upstreamId: null, lastError: 'UPSTREAM_UNAVAILABLE: status 503', state: 'placed', paymentId: null },
      { outcome: 'unknown', upstreamId: null, lastError: 'PAYMENT_STATUS_UNKNOWN: timeout', state: 'unknown', paymentId: null },
    ];

    it.each(outcomes)(
      'finishPayment($outcome) moves paying → $state and records the attempt’s outcome',
      async ({ outcome, upstreamId, lastError, state, paymentId }) => {
        const order = await orderIn('placed');
        const { attempt } = (await orders.startPayment(order.id, randomUUID(), SEALED))!;

        const finished = await orders.finishPayment(attempt, outcome, upstreamId ? `${upstreamId}-${order.id}` : null, lastError);

        const expectedPaymentId = paymentId && `${paymentId}-${order.id}`;
        expect(finished).toMatchObject({ state, paymentId: expectedPaymentId, lastError: lastError ?? null });
        expect(await attempts(order.id)).toEqual([
          { id: attempt.id, amount_minor: PIZZAS_GROSS, outcome, upstream_payment_id: upstreamId && `${upstreamId}-${order.id}` },
        ]);
      },
    );

    it('finishPayment records a late answer to an attempt judged unknown, and it settles the order waiting for that evidence', async () => {
      const order = await orderIn('placed');
      const { attempt } = (await orders.startPayment(order.id, randomUUID(), SEALED))!;
      await orders.markPaymentUnknown(attempt, 'PAYMENT_STATUS_UNKNOWN: the request paying it died');

      const finished = await orders.finishPayment(attempt, 'completed', `late-${order.id}`);

      expect(finished).toMatchObject({ state: 'paid', paymentId: `late-${order.id}` });
      expect(await attempts(order.id)).toEqual([
        expect.objectContaining({ outcome: 'completed', upstream_payment_id: `late-${order.id}` }),
      ]);
    });

    it('finishPayment of an older attempt records its answer but never moves the order a newer attempt is paying', async () => {
      const order = await orderIn('placed');
      const first = (await orders.startPayment(order.id, randomUUID(), SEALED))!.attempt;
      await orders.recordPendingPayment(first, `p1-${order.id}`);
      expect(await orders.finishPayment(first, 'declined', `p1-${order.id}`, 'PAYMENT_DECLINED')).toMatchObject({ state: 'declined' });
      const second = (await orders.startPayment(order.id, randomUUID(), SEALED))!.attempt;

      // A slower reader of the first attempt comes back with the same (or any) answer.
      expect(
        await orders.finishPayment({ ...first, upstreamPaymentId: `p1-${order.id}` }, 'declined', `p1-${order.id}`, 'PAYMENT_DECLINED'),
      ).toBeUndefined();
      expect(await orderRow(order.id)).toMatchObject({ state: 'paying', payment_attempts: 2 });

      expect(await orders.finishPayment(second, 'completed', `p2-${order.id}`)).toMatchObject({
        state: 'paid',
        paymentId: `p2-${order.id}`,
      });
      expect((await attempts(order.id)).map((a) => a.outcome)).toEqual(['declined', 'completed']);
    });

    it('markPaymentUnknown turns a paying order and its unanswered attempt unknown, and nothing else', async () => {
      const paying = await orderIn('placed');
      const { attempt } = (await orders.startPayment(paying.id, randomUUID(), SEALED))!;
      const other = await orderIn('placed');
      const otherAttempt = (await orders.startPayment(other.id, randomUUID(), SEALED))!.attempt;
      await orders.finishPayment(otherAttempt, 'no_charge', null);

      expect(await orders.markPaymentUnknown(attempt, 'lost')).toMatchObject({ state: 'unknown', lastError: 'lost' });
      expect((await attempts(paying.id)).map((a) => a.outcome)).toEqual(['unknown']);
      expect(await orders.markPaymentUnknown(otherAttempt, 'lost')).toBeUndefined();
      expect((await orderRow(other.id)).state).toBe('placed');
    });
  });

  describe('settling the basket with the order', () => {
    it('failAndReopenBasket fails the order with its reason and reopens the basket for another checkout', async () => {
      const order = await orderIn('failing');
      const locked = await basketRow(order.basketId);

      const failed = await orders.failAndReopenBasket(order.id, ['pending', 'failing'], 'ABANDONED: never paid');

      expect(failed).toMatchObject({ state: 'failed', lastError: 'ABANDONED: never paid' });
      expect(await basketRow(order.basketId)).toEqual({ status: 'open', version: locked.version });
      expect(await orders.findLiveForBasket(order.ownerId, order.basketId)).toBeUndefined();
      const again = await orders.open(openRequest({ ownerId: order.ownerId, basketId: order.basketId, version: locked.version }));
      expect(again).toMatchObject({ state: 'pending', totalMinor: PIZZAS_GROSS });
    });

    it.each(['placed', 'declined', 'paying', 'paid', 'completed', 'unknown'] as OrderState[])(
      'failAndReopenBasket leaves an order in %s and its locked basket alone',
      async (state) => {
        const order = await orderIn(state);
        const locked = await basketRow(order.basketId);

        expect(await orders.failAndReopenBasket(order.id, ['pending', 'failing'], 'ABANDONED')).toBeUndefined();
        expect((await orderRow(order.id)).state).toBe(state);
        expect(await basketRow(order.basketId)).toEqual(locked);
      },
    );

    it('completeAndCloseBasket completes a paid order and closes its basket', async () => {
      const order = await orderIn('paid');
      const locked = await basketRow(order.basketId);

      expect(await orders.completeAndCloseBasket(order.id)).toMatchObject({ state: 'completed' });
      expect(await basketRow(order.basketId)).toEqual({ status: 'closed', version: locked.version });
    });

    it.each(['placed', 'paying', 'unknown', 'completed'] as OrderState[])(
      'completeAndCloseBasket leaves an order in %s and its basket alone',
      async (state) => {
        const order = await orderIn(state);
        const locked = await basketRow(order.basketId);

        expect(await orders.completeAndCloseBasket(order.id)).toBeUndefined();
        expect((await orderRow(order.id)).state).toBe(state);
        expect(await basketRow(order.basketId)).toEqual(locked);
      },
    );
  });

  describe('one live order per basket (partial unique index)', () => {
    const insertOrder = (basketId: string, ownerId: string, state: OrderState) =>
      admin`insert into orders (id, owner_id, basket_id, state, total_minor, opened_by_key) values (${randomUUID()}, ${ownerId}, ${basketId}, ${state}, 100, ${randomUUID()})`;

    it('refuses a second live order for a basket, but not after the first has failed', async () => {
      const order = await orderIn('failing');

      await expect(insertOrder(order.basketId, order.ownerId, 'pending')).rejects.toMatchObject({ code: '23505' });
      await expect(insertOrder(order.basketId, order.ownerId, 'failed')).resolves.toBeDefined();
      await orders.failAndReopenBasket(order.id, ['failing'], 'ABANDONED');
      await expect(insertOrder(order.basketId, order.ownerId, 'failed')).resolves.toBeDefined();
      await expect(insertOrder(order.basketId, order.ownerId, 'pending')).resolves.toBeDefined();
      await expect(insertOrder(order.basketId, order.ownerId, 'unknown')).rejects.toMatchObject({ code: '23505' });
    });
  });

  describe('claimForReconcile', () => {
    const claim = (overrides: Partial<ReconcileClaim> = {}): ReconcileClaim => ({
      abandonedAfterMs: 20_000,
      declinedExpiryMs: 40_000,
      lease: { holder: RECONCILER, ms: 60_000 },
      limit: 1000,
      ...overrides,
    });

    /** Other tests' unsettled orders a claim took (paid ones are always claimable); handed back after each test. */
    const othersClaimed: string[] = [];
    afterEach(async () => {
      await Promise.all(othersClaimed.splice(0).map((id) => orders.releaseLease(id, RECONCILER)));
    });

    /** The orders of `mine` a claim returned. */
    async function claimOwn(mine: Set<string>, request: ReconcileClaim): Promise<Order[]> {
      const claimed = await orders.claimForReconcile(request);
      othersClaimed.push(...claimed.filter((o) => !mine.has(o.id)).map((o) => o.id));
      return claimed.filter((o) => mine.has(o.id));
    }

    it('claims each order for one run only, when four runs claim at once (SKIP LOCKED)', async () => {
      const arranged = await Promise.all(Array.from({ length: 12 }, () => orderIn('declined', 50_000)));
      const mine = new Set(arranged.map((o) => o.id));

      const claimedIds: string[] = [];
      for (let round = 0; round < 10 && claimedIds.length < mine.size; round++) {
        const runs = await Promise.all(Array.from({ length: 4 }, () => claimOwn(mine, claim({ limit: 3 }))));
        for (const run of runs) claimedIds.push(...run.map((o) => o.id));
      }

      expect(claimedIds.length).toBe(new Set(claimedIds).size);
      expect(new Set(claimedIds)).toEqual(mine);
      const rows = await admin<{ leased: boolean; reconcile_attempts: number }[]>`
        select lease_until > now() + interval '50 seconds' as leased, reconcile_attempts from orders where id in ${admin([...mine])}`;
      expect(rows).toEqual(Array(12).fill({ leased: true, reconcile_attempts: 1 }));
      expect(await claimOwn(mine, claim())).toEqual([]);
    });

    it('skips, without waiting, the rows another run is claiming in a transaction not yet committed', async () => {
      const arranged = await Promise.all(Array.from({ length: 5 }, () => orderIn('placed', 30_000)));
      const mine = new Set(arranged.map((o) => o.id));
      let heldByFirst: string[] = [];
      let second: Promise<Order[]> | undefined;
      let secondWhileHeld: Order[] | 'still waiting' = 'still waiting';

      await sql.begin(async (tx) => {
        const first = await new PostgresOrderRepository(tx as unknown as Sql).claimForReconcile(claim());
        othersClaimed.push(...first.filter((o) => !mine.has(o.id)).map((o) => o.id));
        heldByFirst = first.filter((o) => mine.has(o.id)).map((o) => o.id);
        second = claimOwn(mine, claim());
        secondWhileHeld = await Promise.race([
          second,
          new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 2000)),
        ]);
      });

      expect(new Set(heldByFirst)).toEqual(mine);
      expect(secondWhileHeld).toEqual([]);
      expect(await second).toEqual([]);
    });

    it('claims only orders that are unsettled and stale for their state, and not leased by another run', async () => {
      const cases: Array<{ state: OrderState; ageMs: number; lease?: 'future' | 'past'; claimed: boolean }> = [
        { state: 'pending', ageMs: 30_000, claimed: true },
        { state: 'pending', ageMs: 10_000, claimed: false },
        { state: 'placed', ageMs: 30_000, claimed: true },
        { state: 'placed', ageMs: 10_000, claimed: false },
        { state: 'paying', ageMs: 30_000, claimed: true },
        { state: 'paying', ageMs: 10_000, claimed: false },
        { state: 'declined', ageMs: 50_000, claimed: true },
        { state: 'declined', ageMs: 30_000, claimed: false }, // abandoned for a pending order, not yet expired for a declined one
        { state: 'paid', ageMs: 0, claimed: true },
        { state: 'refunding', ageMs: 0, claimed: true },
        { state: 'failing', ageMs: 0, claimed: true },
        { state: 'pending', ageMs: 30_000, lease: 'future', claimed: false },
        { state: 'pending', ageMs: 30_000, lease: 'past', claimed: true },
        { state: 'paid', ageMs: 0, lease: 'future', claimed: false },
        ...(['completed', 'failed', 'unknown', 'refunded'] as OrderState[]).map((state) => ({ state, ageMs: 86_400_000, claimed: false })),
      ];
      const arranged = await Promise.all(cases.map(async (c) => ({ ...c, order: await orderIn(c.state, c.ageMs, c.lease ?? 'none') })));
      const mine = new Set(arranged.map((a) => a.order.id));

      const claimed = new Set((await claimOwn(mine, claim())).map((o) => o.id));

      const verdicts = arranged.map(({ state, ageMs, lease, order }) => ({ state, ageMs, lease, claimed: claimed.has(order.id) }));
      expect(verdicts).toEqual(cases.map(({ state, ageMs, lease, claimed: expected }) => ({ state, ageMs, lease, claimed: expected })));
    });

    it('hands a released order to the next run', async () => {
      const order = await orderIn('placed', 30_000);
      const mine = new Set([order.id]);
      expect((await claimOwn(mine, claim())).map((o) => o.id)).toEqual([order.id]);
      expect(await claimOwn(mine, claim())).toEqual([]);

      await orders.releaseLease(order.id, RECONCILER);

      expect((await claimOwn(mine, claim())).map((o) => o.id)).toEqual([order.id]);
      expect((await orderRow(order.id)).state).toBe('placed');
    });
  });

  describe('claims that keep a request and the reconciler apart', () => {
    it('transition with unchangedSince moves an order only if nobody touched it since it was read', async () => {
      const order = await orderIn('declined', 60_000);
      const seen = (await orders.findById(order.id))!;
      await sql`update orders set updated_at = now() where id = ${order.id}`; // a pay-again came and went

      expect(await orders.transition(order.id, ['declined'], 'failing', { unchangedSince: seen.updatedAt })).toBeUndefined();
      const fresh = (await orders.findById(order.id))!;
      expect(await orders.transition(order.id, ['declined'], 'failing', { unchangedSince: fresh.updatedAt })).toMatchObject({
        state: 'failing',
      });
    });

    it('claimLease gives the order to one of many racing claimants until its lease is released', async () => {
      const order = await orderIn('paid');
      const claimants = Array.from({ length: 8 }, () => ({ holder: randomUUID(), ms: 60_000 }));

      const results = await Promise.all(claimants.map((lease) => orders.claimLease(order.id, lease)));

      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
      const winner = claimants[results.findIndex((r) => r !== undefined)];
      expect(await orders.claimLease(order.id, { holder: randomUUID(), ms: 60_000 })).toBeUndefined();
      await orders.releaseLease(order.id, winner.holder);
      expect(await orders.claimLease(order.id, { holder: randomUUID(), ms: 60_000 })).toMatchObject({ id: order.id });
    });

    it('releaseLease ends only the lease its holder took: a holder whose lease ran out cannot end the next one', async () => {
      const order = await orderIn('paid');
      const late = { holder: randomUUID(), ms: 60_000 };
      await orders.claimLease(order.id, late);
      await sql`update orders set lease_until = now() - interval '1 second' where id = ${order.id}`; // its holder stalled
      const current = { holder: randomUUID(), ms: 60_000 };
      expect(await orders.claimLease(order.id, current)).toMatchObject({ id: order.id });

      await orders.releaseLease(order.id, late.holder);

      expect(await orders.claimLease(order.id, { holder: randomUUID(), ms: 60_000 })).toBeUndefined();
      await orders.releaseLease(order.id, current.holder);
    });
  });

  describe("the owner's sealed token", () => {
    const tokenOf = async (orderId: string) =>
      (await sql<{ t: string | null }[]>`select owner_token_sealed as t from orders where id = ${orderId}`)[0].t;

    it('is stored with the order, replaced by the token of the request that pays, and erased once the order is at rest', async () => {
      const order = await openOrder();
      expect(await tokenOf(order.id)).toBe(SEALED);
      await orders.transition(order.id, ['pending'], 'placed', { upstreamOrderId: 'up-1' });
      const { attempt } = (await orders.startPayment(order.id, randomUUID(), 'v1.test.newer'))!;
      expect(await tokenOf(order.id)).toBe('v1.test.newer');

      await orders.finishPayment(attempt, 'completed', `pay-${order.id}`);
      expect(await tokenOf(order.id)).toBe('v1.test.newer');
      await orders.completeAndCloseBasket(order.id);
      expect(await tokenOf(order.id)).toBeNull();
    });

    it.each([
      ['failAndReopenBasket', (o: Order) => orders.failAndReopenBasket(o.id, ['failing'], 'x'), 'failing'],
      ['transition to refunded', (o: Order) => orders.transition(o.id, ['refunding'], 'refunded'), 'refunding'],
    ] as const)('is erased by %s, but kept while a duplicate check is due and erased when it is done', async (_name, step, start) => {
      const plain = await orderIn(start);
      await step(plain);
      expect(await tokenOf(plain.id)).toBeNull();

      const checked = await orderIn(start);
      await sql`update orders set duplicate_check_at = now() + interval '1 minute' where id = ${checked.id}`;
      await step(checked);
      expect(await tokenOf(checked.id)).toBe(SEALED);
      await orders.clearDuplicateCheck(checked.id);
      expect(await tokenOf(checked.id)).toBeNull();
    });
  });

  describe('order creations that may still land', () => {
    it('failing an order whose only create was answered moments ago schedules no check; one that never adopted an upstream order does', async () => {
      const adopted = await orderIn('failing');
      const neverAdopted = await openOrder();

      await orders.failAndReopenBasket(adopted.id, ['failing'], 'x');
      const failed = await orders.failAndReopenBasket(neverAdopted.id, ['pending'], 'x');

      expect((await orders.findById(adopted.id))!.duplicateCheckAt).toBeNull();
      // Checked once the late-effect window (30 s by default) since the create was sent has passed, acting as the owner.
      expect(failed!.duplicateCheckAt!.getTime() - neverAdopted.createSentAt!.getTime()).toBe(30_000);
      const [{ token }] = await admin<
        { token: string | null }[]
      >`select owner_token_sealed as token from orders where id = ${neverAdopted.id}`;
      expect(token).toBe(SEALED);
    });

    it('recordCreateSent counts every further create of a pending order, and refuses once it is placed', async () => {
      const order = await openOrder();
      expect(order).toMatchObject({ createsSent: 1, createSentAt: expect.any(Date) });

      expect(await orders.recordCreateSent(order.id)).toMatchObject({ createsSent: 2 });
      await orders.transition(order.id, ['pending'], 'placed', { upstreamOrderId: 'up-x' });
      expect(await orders.recordCreateSent(order.id)).toBeUndefined();
    });

    it('failAndReopenBasket with onlyIfCreatesSent leaves an order another create was sent for', async () => {
      const order = await openOrder();
      await orders.recordCreateSent(order.id);

      expect(await orders.failAndReopenBasket(order.id, ['pending'], 'x', { onlyIfCreatesSent: 1 })).toBeUndefined();
      expect((await orderRow(order.id)).state).toBe('pending');
    });
  });

  describe('a payment the upstream answered pending', () => {
    it('keeps its id on the attempt and the order, which stays paying, is never judged unknown, and settles by a later read', async () => {
      const order = await orderIn('placed');
      const { attempt } = (await orders.startPayment(order.id, randomUUID(), SEALED))!;

      const pending = await orders.recordPendingPayment(attempt, `pay-${order.id}`);

      expect(pending.upstreamPaymentId).toBe(`pay-${order.id}`);
      expect(await orders.paymentInFlight(order.id)).toEqual(pending);
      expect(await orderRow(order.id)).toMatchObject({ state: 'paying', payment_id: `pay-${order.id}` });
      expect(await orders.markPaymentUnknown(attempt, 'abandoned')).toBeUndefined();
      expect((await orderRow(order.id)).state).toBe('paying');

      expect(await orders.finishPayment(pending, 'completed', `pay-${order.id}`)).toMatchObject({
        state: 'paid',
        paymentId: `pay-${order.id}`,
      });
      expect(await orders.paymentInFlight(order.id)).toBeUndefined();
    });
  });

  describe('refund attempts', () => {
    async function refunding(): Promise<Order> {
      return orderIn('refunding');
    }

    it('records one open attempt however many race to send a refund', async () => {
      const order = await refunding();

      const started = await Promise.all(Array.from({ length: 8 }, () => orders.startRefund(order.id, randomUUID(), `pay-${order.id}`)));

      expect(started.filter((a) => a !== undefined)).toHaveLength(1);
      expect(await orders.openRefund(order.id)).toMatchObject({ outcome: 'sending', paymentId: `pay-${order.id}` });
    });

    it('keeps an unknown attempt open (no new one), lets a new one start after not_applied, and refunds the order on refunded', async () => {
      const order = await refunding();
      const first = (await orders.startRefund(order.id, randomUUID(), `pay-${order.id}`))!;

      await orders.finishRefund(first, 'unknown');
      expect(await orders.startRefund(order.id, randomUUID(), `pay-${order.id}`)).toBeUndefined();
      expect(await orders.openRefund(order.id)).toMatchObject({ id: first.id, outcome: 'unknown' });

      expect(await orders.finishRefund(first, 'not_applied', 'REFUND_NOT_APPLIED')).toMatchObject({
        state: 'refunding',
        lastError: 'REFUND_NOT_APPLIED',
      });
      const second = (await orders.startRefund(order.id, randomUUID(), `pay-${order.id}`))!;
      expect(second.id).not.toBe(first.id);

      expect(await orders.finishRefund(second, 'refunded')).toMatchObject({ state: 'refunded' });
      expect(await orders.openRefund(order.id)).toBeUndefined();
    });

    it.each(['completed', 'paid', 'refunded'] as OrderState[])('records no attempt for an order in %s', async (state) => {
      const order = await orderIn(state);
      expect(await orders.startRefund(order.id, randomUUID(), `pay-${order.id}`)).toBeUndefined();
    });
  });

  describe('the duplicate check', () => {
    it('hands an order at rest to the reconciler once its duplicate check is due, not before', async () => {
      const due = await orderIn('completed', 86_400_000);
      const later = await orderIn('completed', 86_400_000);
      await sql`update orders set duplicate_check_at = now() - interval '1 second' where id = ${due.id}`;
      await sql`update orders set duplicate_check_at = now() + interval '1 hour' where id = ${later.id}`;

      const claimed = await orders.claimForReconcile({
        abandonedAfterMs: 20_000,
        declinedExpiryMs: 40_000,
        lease: { holder: RECONCILER, ms: 60_000 },
        limit: 1000,
      });
      // Other tests' orders the claim took go straight back, one at a time: a burst of a hundred requests at once
      // has made the local Data API emulator drop a connection (socket hang up).
      for (const other of claimed.filter((o) => o.id !== due.id)) await orders.releaseLease(other.id, RECONCILER);

      const ids = claimed.map((o) => o.id);
      expect(ids).toContain(due.id);
      expect(ids).not.toContain(later.id);
      await orders.clearDuplicateCheck(due.id);
    });
  });
});
