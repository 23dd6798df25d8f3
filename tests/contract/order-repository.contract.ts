/**
 * The OrderRepository port's contract, as the use-cases (checkout, settlement,
 * the reconciler's steps) rely on it: declared once, run against the in-memory
 * fake (tests/unit/repository-contract.test.ts) and the Postgres adapter on
 * both drivers (tests/integration/repository-contract.test.ts), so the fake
 * cannot drift from what production runs. Where they disagree the Postgres
 * adapter is the truth.
 *
 * Every order is brought to its state through the port itself (no SQL), and
 * nothing here reads a clock: the adapter stamps with the database's now(),
 * the fake with its own, so the cases compare the repository's timestamps only
 * with each other. A lease that has run out is one taken for 1 ms, some
 * milliseconds ago.
 *
 * Left out, because the fake does not implement them (checkout does not use
 * them; tests/integration/order-repository.test.ts covers them on Postgres):
 * openRefund, startRefund, finishRefund, listForOwner, listNeedingAttention,
 * resolve, findResolutions, claimForReconcile, clearDuplicateCheck,
 * tokensSealedUnder, replaceSealedToken, sealedTokensByKey, healthByState.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BasketLine } from '../../lib/baskets/basket';
import type { BasketRepository } from '../../lib/baskets/repository';
import type { Order, PaymentOutcome } from '../../lib/orders/order';
import type { Lease, OpenOrderRequest, OrderRepository, PaymentAttempt } from '../../lib/orders/repository';
import type { OrderState } from '../../lib/orders/state-machine';

/** A payment attempt as it is stored: what the port's reads do not show of an older attempt. */
export interface StoredAttemptView {
  id: string;
  number: number;
  outcome: string;
  upstreamPaymentId: string | null;
}

export interface OrderContractSubject {
  orders: OrderRepository;
  /** The baskets the orders lock, reopen and close (the same store). */
  baskets: BasketRepository;
  /** A fresh owner id: each case works on orders of an owner of its own. */
  newOwner(): string;
  /** How long after it was sent an order creation may still land: the orders repository's setting. */
  lateEffectMs: number;
  /** Every payment attempt recorded for an order, by number. */
  attemptsOf(orderId: string): Promise<StoredAttemptView[]>;
}

const PIZZAS: BasketLine = { productId: 'pizza', productName: 'Pizza', quantity: 2, netUnitMinor: 1200, vatBasisPoints: 2000 };
const WATER: BasketLine = { productId: 'water', productName: 'Water', quantity: 1, netUnitMinor: 202, vatBasisPoints: 300 };
/** PIZZAS priced (2 × 12.00 + 20 % VAT): the total open() takes from a basket of PIZZAS. */
const TOTAL = 2880;
/** PIZZAS and WATER priced: 2880 + round-half-up(202 × 1.03) = 2880 + 208. */
const TOTAL_WITH_WATER = 3088;
/** The owner's token as stored; sealing itself is tested in tests/unit/credentials.test.ts. */
const SEALED = 'v1.contract.sealed-token';
const NEWER = 'v1.contract.newer-token';

/** A lease of a holder of its own. */
const lease = (ms = 60_000): Lease => ({ holder: randomUUID(), ms });
/** An upstream payment id nobody else uses (the id is unique across every attempt). */
const paymentId = () => `pay-${randomUUID()}`;

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`arranging the case: ${what} answered undefined`);
  return value;
}

interface BasketAt {
  ownerId: string;
  basketId: string;
  version: number;
}

interface Arranged {
  order: Order;
  /** The order's latest payment attempt, when it has one. */
  attempt?: PaymentAttempt;
}

export function orderRepositoryContract(name: string, makeSubject: () => Promise<OrderContractSubject>): void {
  describe(`${name} keeps the OrderRepository contract`, () => {
    let subject: OrderContractSubject;
    let orders: OrderRepository;
    let baskets: BasketRepository;
    beforeEach(async () => {
      subject = await makeSubject();
      ({ orders, baskets } = subject);
    });

    async function newBasket(lines: BasketLine[] = [PIZZAS]): Promise<BasketAt> {
      const ownerId = subject.newOwner();
      const basketId = randomUUID();
      let basket = await baskets.create(ownerId, basketId);
      for (const each of lines) basket = await baskets.putLine(ownerId, basketId, each);
      return { ownerId, basketId, version: basket.version };
    }

    /** What the checkout asks open() for: the basket at the version the terminal saw (If-Match). */
    const openRequest = (basket: BasketAt, overrides: Partial<OpenOrderRequest> = {}): OpenOrderRequest => ({
      ownerId: basket.ownerId,
      basketId: basket.basketId,
      orderId: randomUUID(),
      idempotencyKey: randomUUID(),
      expectedBasketVersion: basket.version,
      ownerTokenSealed: SEALED,
      ...overrides,
    });

    async function openOrder(): Promise<Order> {
      return must(await orders.open(openRequest(await newBasket())), 'open');
    }

    /** An order brought to `state` through the port, the way the use-cases get it there. */
    async function arrange(state: OrderState): Promise<Arranged> {
      const opened = await openOrder();
      if (state === 'pending') return { order: opened };
      const placed = must(
        await orders.transition(opened.id, ['pending'], 'placed', { upstreamOrderId: `up-${opened.id}` }),
        'pending → placed',
      );
      if (state === 'placed') return { order: placed };
      if (state === 'failing' || state === 'failed') {
        const failing = must(
          await orders.transition(placed.id, ['placed'], 'failing', { lastError: 'CANCELLED: by the cashier' }),
          'placed → failing',
        );
        if (state === 'failing') return { order: failing };
        return {
          order: must(await orders.failAndReopenBasket(placed.id, ['failing'], 'CANCELLED: by the cashier'), 'failAndReopenBasket'),
        };
      }
      const { order: paying, attempt } = must(await orders.startPayment(placed.id, randomUUID(), SEALED), 'startPayment');
      if (state === 'paying') return { order: paying, attempt };
      if (state === 'declined')
        return {
          order: must(await orders.finishPayment(attempt, 'declined', null, 'PAYMENT_DECLINED'), 'finishPayment declined'),
          attempt,
        };
      if (state === 'unknown')
        return { order: must(await orders.markPaymentUnknown(attempt, 'PAYMENT_STATUS_UNKNOWN: lost'), 'markPaymentUnknown'), attempt };
      const paid = must(await orders.finishPayment(attempt, 'completed', paymentId()), 'finishPayment completed');
      if (state === 'paid') return { order: paid, attempt };
      const completed = must(await orders.completeAndCloseBasket(paid.id), 'completeAndCloseBasket');
      if (state === 'completed') return { order: completed, attempt };
      const refunding = must(await orders.transition(paid.id, ['completed'], 'refunding'), 'completed → refunding');
      if (state === 'refunding') return { order: refunding, attempt };
      return { order: must(await orders.transition(paid.id, ['refunding'], 'refunded'), 'refunding → refunded'), attempt };
    }

    const basketOf = (order: Order) => baskets.find(order.ownerId, order.basketId);
    const read = (order: Order) => orders.findById(order.id);

    /** Waits until a write to the order stamps another millisecond than `seen`: repositories compare updated_at at that precision. */
    async function touchAfter(seen: Order, touch: () => Promise<Order | undefined>): Promise<Order> {
      for (let i = 0; i < 100; i++) {
        await sleep(2);
        const touched = must(await touch(), 'touch');
        if (touched.updatedAt.getTime() !== seen.updatedAt.getTime()) return touched;
      }
      throw new Error('updated_at never moved');
    }

    /**
     * Takes the lease of an order a reconciler may claim at once (paid): on a shared database a run of
     * another test may hold it for a moment (it finds no usable token of the owner and lets go).
     */
    async function claimSoon(order: Order, mine: Lease): Promise<Order> {
      for (let i = 0; i < 100; i++) {
        const claimed = await orders.claimLease(order.id, mine);
        if (claimed) return claimed;
        await sleep(20);
      }
      throw new Error(`the lease of ${order.id} stayed taken`);
    }

    describe('open()', () => {
      it('locks the basket at the expected version and writes the pending order at the total of its lines, its first create recorded as sent', async () => {
        const basket = await newBasket([PIZZAS, WATER]);
        const request = openRequest(basket);

        const order = await orders.open(request);

        expect(order).toEqual({
          id: request.orderId,
          ownerId: basket.ownerId,
          basketId: basket.basketId,
          state: 'pending',
          totalMinor: TOTAL_WITH_WATER,
          openedByKey: request.idempotencyKey,
          upstreamOrderId: null,
          paymentId: null,
          paymentAttempts: 0,
          lastError: null,
          ownerTokenSealed: SEALED,
          duplicateCheckAt: null,
          createSentAt: expect.any(Date),
          createsSent: 1,
          createdAt: expect.any(Date),
          updatedAt: expect.any(Date),
        });
        // Locking leaves the version alone: it counts changes to the contents.
        expect(await baskets.find(basket.ownerId, basket.basketId)).toMatchObject({
          status: 'locked',
          version: basket.version,
          lines: [PIZZAS, WATER],
        });
        expect(await orders.findById(request.orderId)).toEqual(order);
        expect(await orders.find(basket.ownerId, request.orderId)).toEqual(order);
        expect(await orders.findLiveForBasket(basket.ownerId, basket.basketId)).toEqual(order);
      });

      const refusals: Array<{ name: string; arrange: (basket: BasketAt) => Promise<Partial<OpenOrderRequest>>; live?: boolean }> = [
        {
          name: 'a basket changed since the version expected',
          arrange: async (b) => (await baskets.putLine(b.ownerId, b.basketId, WATER), {}),
        },
        { name: 'a version the basket has not reached', arrange: async (b) => ({ expectedBasketVersion: b.version + 1 }) },
        {
          name: 'an empty basket',
          arrange: async (b) => (await baskets.removeLine(b.ownerId, b.basketId, PIZZAS.productId), { expectedBasketVersion: undefined }),
        },
        { name: 'another owner’s basket', arrange: async () => ({ ownerId: subject.newOwner() }) },
        { name: 'a basket that does not exist', arrange: async () => ({ basketId: randomUUID() }) },
        {
          name: 'a basket another checkout’s order holds',
          arrange: async (b) => (must(await orders.open(openRequest(b)), 'first open'), {}),
          live: true,
        },
        {
          name: 'a basket its own order holds, under the same key',
          arrange: async (b) => ({
            idempotencyKey: must(await orders.open(openRequest(b, { idempotencyKey: 'same-key' })), 'first open').openedByKey,
          }),
          live: true,
        },
      ];

      it.each(refusals)(
        'answers undefined for $name and leaves the basket and its orders as they were',
        async ({ arrange: refuse, live }) => {
          const basket = await newBasket();
          const overrides = await refuse(basket);
          const basketBefore = await baskets.find(basket.ownerId, basket.basketId);
          const liveBefore = await orders.findLiveForBasket(basket.ownerId, basket.basketId);
          const request = openRequest(basket, overrides);

          const opened = await orders.open(request);

          expect(opened).toBeUndefined();
          expect(await baskets.find(basket.ownerId, basket.basketId)).toEqual(basketBefore);
          expect(await orders.findById(request.orderId)).toBeUndefined();
          expect(await orders.findLiveForBasket(basket.ownerId, basket.basketId)).toEqual(liveBefore);
          expect(liveBefore !== undefined).toBe(live ?? false);
        },
      );

      it('without an expected version, locks the basket at whatever version it is, at the total of that version’s lines', async () => {
        const basket = await newBasket();
        const changed = await baskets.putLine(basket.ownerId, basket.basketId, WATER);

        const order = await orders.open(openRequest(basket, { expectedBasketVersion: undefined }));

        expect(order).toMatchObject({ state: 'pending', totalMinor: TOTAL_WITH_WATER });
        expect(await baskets.find(basket.ownerId, basket.basketId)).toMatchObject({ status: 'locked', version: changed.version });
      });

      it('opens at the total of the lines as they are when a basket write races the lock', async () => {
        for (let round = 0; round < 5; round++) {
          const basket = await newBasket();
          const [, opened] = await Promise.all([
            baskets.putLine(basket.ownerId, basket.basketId, WATER).catch(() => undefined),
            orders.open(openRequest(basket, { expectedBasketVersion: undefined })),
          ]);
          const locked = await baskets.find(basket.ownerId, basket.basketId);
          const linesTotal = locked!.lines.some((l) => l.productId === WATER.productId) ? TOTAL_WITH_WATER : TOTAL;
          expect(opened?.totalMinor).toBe(linesTotal);
        }
      });

      it('opens exactly one order when several checkouts of one basket race; the others answer undefined', async () => {
        const basket = await newBasket();
        const requests = Array.from({ length: 6 }, () => openRequest(basket));

        const results = await Promise.all(requests.map((request) => orders.open(request)));

        const opened = results.filter((r): r is Order => r !== undefined);
        expect(opened).toHaveLength(1);
        expect(await orders.findLiveForBasket(basket.ownerId, basket.basketId)).toEqual(opened[0]);
        expect(await baskets.find(basket.ownerId, basket.basketId)).toMatchObject({ status: 'locked', version: basket.version });
      });

      it('refuses an order id already taken, leaving that order and the other basket as they were', async () => {
        const first = await openOrder();
        const other = await newBasket();

        await expect(orders.open(openRequest(other, { orderId: first.id }))).rejects.toThrow();

        expect(await orders.findById(first.id)).toEqual(first);
        expect(await baskets.find(other.ownerId, other.basketId)).toMatchObject({ status: 'open', version: other.version });
        expect(await orders.findLiveForBasket(other.ownerId, other.basketId)).toBeUndefined();
      });

      it('opens a new order on a basket its failed order reopened, under the same key too: keys are not the repository’s to dedupe', async () => {
        const basket = await newBasket();
        const first = must(await orders.open(openRequest(basket, { idempotencyKey: 'key-1' })), 'open');
        const failed = must(await orders.failAndReopenBasket(first.id, ['pending'], 'UPSTREAM_UNAVAILABLE'), 'failAndReopenBasket');

        const again = await orders.open(openRequest(basket, { idempotencyKey: 'key-1' }));

        expect(again).toMatchObject({ state: 'pending', openedByKey: 'key-1', basketId: basket.basketId });
        expect(again!.id).not.toBe(first.id);
        expect(await orders.findLiveForBasket(basket.ownerId, basket.basketId)).toEqual(again);
        expect(await orders.findById(first.id)).toEqual(failed);
      });
    });

    describe('reads', () => {
      it('find answers only the owner, findById anyone, findLiveForBasket only the owner’s order that still holds the basket', async () => {
        const { order } = await arrange('placed');
        const { order: failed } = await arrange('failed');
        const stranger = subject.newOwner();

        expect(await orders.find(order.ownerId, order.id)).toEqual(order);
        expect(await orders.find(stranger, order.id)).toBeUndefined();
        expect(await orders.find(order.ownerId, randomUUID())).toBeUndefined();
        expect(await orders.findById(order.id)).toEqual(order);
        expect(await orders.findById(randomUUID())).toBeUndefined();
        expect(await orders.findLiveForBasket(order.ownerId, order.basketId)).toEqual(order);
        expect(await orders.findLiveForBasket(stranger, order.basketId)).toBeUndefined();
        expect(await orders.findLiveForBasket(failed.ownerId, failed.basketId)).toBeUndefined();
        expect(await orders.find(failed.ownerId, failed.id)).toEqual(failed);
      });
    });

    describe('transition()', () => {
      it('moves an order out of one of the `from` states, writing what it is given and keeping what it is not', async () => {
        const opened = await openOrder();

        const placed = await orders.transition(opened.id, ['pending'], 'placed', { upstreamOrderId: 'up-1', lastError: 'first' });
        const failing = await orders.transition(opened.id, ['pending', 'placed', 'declined'], 'failing', { ownerTokenSealed: NEWER });

        expect(placed).toEqual({ ...opened, state: 'placed', upstreamOrderId: 'up-1', lastError: 'first', updatedAt: expect.any(Date) });
        expect(placed!.updatedAt.getTime()).toBeGreaterThanOrEqual(opened.updatedAt.getTime());
        expect(failing).toEqual({ ...placed, state: 'failing', ownerTokenSealed: NEWER, updatedAt: expect.any(Date) });
        expect(await read(opened)).toEqual(failing);
      });

      const stale: OrderState[] = ['placed', 'paying', 'declined', 'unknown', 'failing', 'failed', 'paid', 'completed'];
      it.each(stale)('answers undefined for an order in %s when it is asked to move out of pending, and changes nothing', async (state) => {
        const { order } = await arrange(state);
        const basketBefore = await basketOf(order);

        const moved = await orders.transition(order.id, ['pending'], 'failing', {
          lastError: 'must not be written',
          upstreamOrderId: 'must-not-be-written',
          ownerTokenSealed: NEWER,
          checkDuplicates: true,
        });

        expect(moved).toBeUndefined();
        expect(await read(order)).toEqual(order);
        expect(await basketOf(order)).toEqual(basketBefore);
      });

      it('throws on a transition the machine does not have, and changes nothing', async () => {
        const { order } = await arrange('placed');

        await expect(orders.transition(order.id, ['placed'], 'paid')).rejects.toThrow('Invalid order transition placed → paid');
        await expect(orders.failAndReopenBasket(order.id, ['placed'], 'nope')).rejects.toThrow('Invalid order transition placed → failed');

        expect(await read(order)).toEqual(order);
      });

      it('with unchangedSince moves the order only if nobody changed it since it was read', async () => {
        const seen = await openOrder();
        const changed = await touchAfter(seen, () => orders.recordCreateSent(seen.id));

        expect(await orders.transition(seen.id, ['pending'], 'failing', { unchangedSince: seen.updatedAt })).toBeUndefined();
        expect(await read(seen)).toEqual(changed);
        expect(await orders.transition(seen.id, ['pending'], 'failing', { unchangedSince: changed.updatedAt })).toMatchObject({
          state: 'failing',
        });
      });

      it('with a lease takes the order’s lease; a transition without one leaves the lease with its holder', async () => {
        const { order } = await arrange('placed');
        const mine = lease();

        const failing = await orders.transition(order.id, ['placed'], 'failing', { lease: mine });
        const failed = await orders.failAndReopenBasket(order.id, ['failing'], 'CANCELLED');

        expect(failing).toMatchObject({ state: 'failing' });
        expect(failed).toMatchObject({ state: 'failed' });
        expect(await orders.claimLease(order.id, lease())).toBeUndefined();
        await orders.releaseLease(order.id, mine.holder);
        expect(await orders.claimLease(order.id, lease())).toMatchObject({ id: order.id, state: 'failed' });
      });

      describe('adopting an upstream order schedules a duplicate check when another create may still land', () => {
        it('not after the one create of the checkout', async () => {
          const opened = await openOrder();

          const placed = await orders.transition(opened.id, ['pending'], 'placed', { upstreamOrderId: 'up-1' });

          expect(placed).toMatchObject({ state: 'placed', duplicateCheckAt: null });
        });

        it('once the late-effect window of the latest create has passed, when more than one was sent', async () => {
          const opened = await openOrder();
          const resent = must(await orders.recordCreateSent(opened.id), 'recordCreateSent');

          const placed = await orders.transition(opened.id, ['pending'], 'placed', { upstreamOrderId: 'up-2' });

          expect(placed!.duplicateCheckAt!.getTime()).toBe(resent.createSentAt!.getTime() + subject.lateEffectMs);
          expect(await read(opened)).toEqual(placed);
        });

        it('when asked to (checkDuplicates), after one create too', async () => {
          const opened = await openOrder();

          const placed = await orders.transition(opened.id, ['pending'], 'placed', { upstreamOrderId: 'up-1', checkDuplicates: true });

          expect(placed!.duplicateCheckAt!.getTime()).toBe(opened.createSentAt!.getTime() + subject.lateEffectMs);
        });

        it('and a check already due is never brought forward by a later one', async () => {
          const opened = await openOrder();
          const placed = must(
            await orders.transition(opened.id, ['pending'], 'placed', { upstreamOrderId: 'up-1', checkDuplicates: true }),
            'placed',
          );

          const failing = await orders.transition(opened.id, ['placed'], 'failing', { checkDuplicates: true });

          expect(failing!.duplicateCheckAt).toEqual(placed.duplicateCheckAt);
        });
      });
    });

    describe('recordCreateSent()', () => {
      it('counts every further create of a pending order, and answers undefined once it is placed, counting nothing', async () => {
        const opened = await openOrder();

        const second = await orders.recordCreateSent(opened.id);
        const third = await orders.recordCreateSent(opened.id);
        const placed = must(await orders.transition(opened.id, ['pending'], 'placed', { upstreamOrderId: 'up-3' }), 'placed');
        const afterPlaced = await orders.recordCreateSent(opened.id);

        expect(second).toMatchObject({ state: 'pending', createsSent: 2 });
        expect(third).toMatchObject({ state: 'pending', createsSent: 3 });
        expect(third!.createSentAt!.getTime()).toBeGreaterThanOrEqual(opened.createSentAt!.getTime());
        expect(afterPlaced).toBeUndefined();
        expect(await read(opened)).toEqual(placed);
        expect(await orders.recordCreateSent(randomUUID())).toBeUndefined();
      });
    });

    describe('payments', () => {
      it('startPayment moves a placed order to paying with attempt 1 recorded, for the order total, as sending; the paying request’s token replaces the stored one', async () => {
        const { order } = await arrange('placed');
        const attemptId = randomUUID();

        const started = await orders.startPayment(order.id, attemptId, NEWER);

        expect(started?.order).toEqual({
          ...order,
          state: 'paying',
          paymentAttempts: 1,
          ownerTokenSealed: NEWER,
          updatedAt: expect.any(Date),
        });
        expect(started?.attempt).toEqual({
          id: attemptId,
          orderId: order.id,
          number: 1,
          amountMinor: TOTAL,
          upstreamPaymentId: null,
          sentAt: expect.any(Date),
        });
        expect(await read(order)).toEqual(started!.order);
        expect(await orders.paymentInFlight(order.id)).toEqual(started!.attempt);
        expect(await orders.latestPayment(order.id)).toEqual({ ...started!.attempt, outcome: 'sending' });
        expect(await subject.attemptsOf(order.id)).toEqual([{ id: attemptId, number: 1, outcome: 'sending', upstreamPaymentId: null }]);
      });

      it('startPayment records one attempt however many race for it', async () => {
        const { order } = await arrange('placed');

        const results = await Promise.all(Array.from({ length: 6 }, () => orders.startPayment(order.id, randomUUID(), SEALED)));

        const started = results.filter((r) => r !== undefined);
        expect(started).toHaveLength(1);
        expect(await read(order)).toMatchObject({ state: 'paying', paymentAttempts: 1 });
        expect((await subject.attemptsOf(order.id)).map((a) => a.id)).toEqual([started[0]!.attempt.id]);
      });

      it('startPayment pays a declined order again as the next attempt', async () => {
        const { order: declined, attempt: first } = await arrange('declined');

        const second = await orders.startPayment(declined.id, randomUUID(), SEALED);

        expect(second?.order).toMatchObject({ state: 'paying', paymentAttempts: 2 });
        expect(second?.attempt).toMatchObject({ number: 2, amountMinor: TOTAL, upstreamPaymentId: null });
        expect(await orders.paymentInFlight(declined.id)).toEqual(second!.attempt);
        expect(await orders.latestPayment(declined.id)).toEqual({ ...second!.attempt, outcome: 'sending' });
        expect((await subject.attemptsOf(declined.id)).map((a) => [a.id, a.number, a.outcome])).toEqual([
          [first!.id, 1, 'declined'],
          [second!.attempt.id, 2, 'sending'],
        ]);
      });

      it.each(['pending', 'paying', 'unknown', 'failing', 'failed', 'paid', 'completed'] as OrderState[])(
        'startPayment answers undefined for an order in %s and records no attempt',
        async (state) => {
          const { order } = await arrange(state);
          const attemptsBefore = await subject.attemptsOf(order.id);

          expect(await orders.startPayment(order.id, randomUUID(), NEWER)).toBeUndefined();

          expect(await read(order)).toEqual(order);
          expect(await subject.attemptsOf(order.id)).toEqual(attemptsBefore);
        },
      );

      const outcomes: Array<{ outcome: PaymentOutcome; withId: boolean; lastError?: string; state: OrderState }> = [
        { outcome: 'completed', withId: true, state: 'paid' },
        { outcome: 'declined', withId: false, lastError: 'PAYMENT_DECLINED', state: 'declined' },
        { outcome: 'no_charge', withId: false, lastError: 'UPSTREAM_UNAVAILABLE: status 503', state: 'placed' },
        { outcome: 'unknown', withId: false, lastError: 'PAYMENT_STATUS_UNKNOWN: timeout', state: 'unknown' },
      ];

      it.each(outcomes)(
        'finishPayment($outcome) moves paying → $state and records the outcome on the attempt, which is no longer in flight',
        async ({ outcome, withId, lastError, state }) => {
          const { order, attempt } = await arrange('paying');
          const id = withId ? paymentId() : null;

          const finished = await orders.finishPayment(attempt!, outcome, id, lastError);

          expect(finished).toEqual({ ...order, state, paymentId: id, lastError: lastError ?? null, updatedAt: expect.any(Date) });
          expect(await read(order)).toEqual(finished);
          expect(await orders.paymentInFlight(order.id)).toBeUndefined();
          expect(await orders.latestPayment(order.id)).toEqual({ ...attempt, upstreamPaymentId: id, outcome });
        },
      );

      it('finishPayment answers undefined for an attempt already answered, and changes nothing', async () => {
        const { order: declined, attempt } = await arrange('declined');

        expect(await orders.finishPayment(attempt!, 'completed', paymentId())).toBeUndefined();
        expect(await orders.finishPayment(attempt!, 'declined', null, 'PAYMENT_DECLINED')).toBeUndefined();

        expect(await read(declined)).toEqual(declined);
        expect(await subject.attemptsOf(declined.id)).toEqual([
          { id: attempt!.id, number: 1, outcome: 'declined', upstreamPaymentId: null },
        ]);
      });

      it('finishPayment records a late answer to an attempt judged unknown, and it settles the order waiting for it (its last error cleared)', async () => {
        const { order: unknown, attempt } = await arrange('unknown');
        const id = paymentId();

        const finished = await orders.finishPayment(attempt!, 'completed', id);

        expect(unknown.lastError).toBe('PAYMENT_STATUS_UNKNOWN: lost');
        expect(finished).toMatchObject({ state: 'paid', paymentId: id, lastError: null });
        expect(await subject.attemptsOf(unknown.id)).toEqual([{ id: attempt!.id, number: 1, outcome: 'completed', upstreamPaymentId: id }]);
      });

      it('finishPayment records the answer to an older attempt on it, but never moves the order a newer attempt is paying', async () => {
        const { order: unknown, attempt: first } = await arrange('unknown');
        must(await orders.transition(unknown.id, ['unknown'], 'placed', { lastError: 'PAYMENT_NOT_SENT' }), 'unknown → placed');
        const second = must(await orders.startPayment(unknown.id, randomUUID(), SEALED), 'startPayment');

        expect(await orders.finishPayment(first!, 'declined', null, 'PAYMENT_DECLINED')).toBeUndefined();

        expect(await read(unknown)).toEqual(second.order);
        expect(await orders.paymentInFlight(unknown.id)).toEqual(second.attempt);
        expect((await subject.attemptsOf(unknown.id)).map((a) => [a.number, a.outcome])).toEqual([
          [1, 'declined'],
          [2, 'sending'],
        ]);
        const id = paymentId();
        expect(await orders.finishPayment(second.attempt, 'completed', id)).toMatchObject({ state: 'paid', paymentId: id });
      });

      it('recordPendingPayment keeps the id on the attempt and the order, which stays paying, is never judged unknown, and settles by a later answer without the id', async () => {
        const { order, attempt } = await arrange('paying');
        const id = paymentId();

        const pending = await orders.recordPendingPayment(attempt!, id);

        expect(pending).toEqual({ ...attempt, upstreamPaymentId: id });
        expect(await orders.paymentInFlight(order.id)).toEqual(pending);
        expect(await orders.latestPayment(order.id)).toEqual({ ...pending, outcome: 'pending' });
        expect(await read(order)).toMatchObject({ state: 'paying', paymentId: id });
        expect(await orders.markPaymentUnknown(attempt!, 'PAYMENT_STATUS_UNKNOWN: abandoned')).toBeUndefined();
        expect(await read(order)).toMatchObject({ state: 'paying', lastError: null });

        expect(await orders.finishPayment(pending, 'completed', null)).toMatchObject({ state: 'paid', paymentId: id });
        expect(await orders.paymentInFlight(order.id)).toBeUndefined();
        expect(await subject.attemptsOf(order.id)).toEqual([{ id: attempt!.id, number: 1, outcome: 'completed', upstreamPaymentId: id }]);
      });

      it('recordPendingPayment changes nothing for an attempt already answered', async () => {
        const { order: declined, attempt } = await arrange('declined');

        const answer = await orders.recordPendingPayment(attempt!, paymentId());

        expect(answer.id).toBe(attempt!.id);
        expect(await read(declined)).toEqual(declined);
        expect(await subject.attemptsOf(declined.id)).toEqual([
          { id: attempt!.id, number: 1, outcome: 'declined', upstreamPaymentId: null },
        ]);
      });

      it('an upstream payment belongs to one attempt: recording its id on another throws and changes nothing', async () => {
        const { attempt: first } = await arrange('paying');
        const { order: other, attempt: second } = await arrange('paying');
        const id = paymentId();
        await orders.recordPendingPayment(first!, id);

        await expect(orders.recordPendingPayment(second!, id)).rejects.toThrow();
        await expect(orders.finishPayment(second!, 'completed', id)).rejects.toThrow();

        expect(await read(other)).toEqual(other);
        expect(await subject.attemptsOf(other.id)).toEqual([{ id: second!.id, number: 1, outcome: 'sending', upstreamPaymentId: null }]);
      });

      it('markPaymentUnknown turns a paying order and its unanswered attempt unknown, once', async () => {
        const { order, attempt } = await arrange('paying');

        const unknown = await orders.markPaymentUnknown(attempt!, 'PAYMENT_STATUS_UNKNOWN: the request died');

        expect(unknown).toEqual({
          ...order,
          state: 'unknown',
          lastError: 'PAYMENT_STATUS_UNKNOWN: the request died',
          updatedAt: expect.any(Date),
        });
        expect(await orders.paymentInFlight(order.id)).toBeUndefined();
        expect(await orders.latestPayment(order.id)).toMatchObject({ id: attempt!.id, outcome: 'unknown' });
        expect(await orders.markPaymentUnknown(attempt!, 'again')).toBeUndefined();
        expect(await read(order)).toEqual(unknown);
      });

      it('markPaymentUnknown answers undefined for an attempt already answered, and changes nothing', async () => {
        const { order, attempt } = await arrange('paying');
        const placed = must(await orders.finishPayment(attempt!, 'no_charge', null, 'UPSTREAM_UNAVAILABLE'), 'finishPayment no_charge');

        expect(await orders.markPaymentUnknown(attempt!, 'lost')).toBeUndefined();

        expect(await read(order)).toEqual(placed);
        expect(await orders.latestPayment(order.id)).toMatchObject({ outcome: 'no_charge' });
      });

      it('a charged order may lack a payment id (the table asks for one only to refund), and then cannot be refunded', async () => {
        const { order, attempt } = await arrange('paying');

        const paid = await orders.finishPayment(attempt!, 'completed', null);
        const completed = await orders.completeAndCloseBasket(order.id);

        expect(paid).toMatchObject({ state: 'paid', paymentId: null });
        expect(completed).toMatchObject({ state: 'completed', paymentId: null });
        await expect(orders.transition(order.id, ['completed'], 'refunding')).rejects.toThrow();
        expect(await read(order)).toEqual(completed);
      });
    });

    describe('settling the basket with the order', () => {
      it('a basket an order holds refuses edits with BASKET_LOCKED, its version unchanged', async () => {
        const { order } = await arrange('placed');
        const locked = await basketOf(order);

        await expect(baskets.putLine(order.ownerId, order.basketId, WATER)).rejects.toMatchObject({ code: 'BASKET_LOCKED' });
        await expect(baskets.removeLine(order.ownerId, order.basketId, 'pizza', locked!.version)).rejects.toMatchObject({
          code: 'BASKET_LOCKED',
        });

        expect(await basketOf(order)).toEqual(locked);
      });

      it('failAndReopenBasket fails the order with its reason and reopens the basket at its version, for edits and another checkout; the lease stays with its holder', async () => {
        const { order: placed } = await arrange('placed');
        const basketBefore = (await basketOf(placed))!;
        const mine = lease();
        must(await orders.transition(placed.id, ['placed'], 'failing', { lastError: 'CANCELLED', lease: mine }), 'failing');

        const failed = await orders.failAndReopenBasket(placed.id, ['pending', 'failing'], 'CANCELLED: by the cashier');

        expect(failed).toMatchObject({ state: 'failed', lastError: 'CANCELLED: by the cashier' });
        expect(await read(placed)).toEqual(failed);
        expect(await basketOf(placed)).toMatchObject({ status: 'open', version: basketBefore.version, lines: basketBefore.lines });
        expect(await orders.findLiveForBasket(placed.ownerId, placed.basketId)).toBeUndefined();
        expect(await orders.claimLease(placed.id, lease())).toBeUndefined();
        const edited = await baskets.putLine(placed.ownerId, placed.basketId, WATER, basketBefore.version);
        expect(edited).toMatchObject({ status: 'open', version: basketBefore.version + 1 });
        expect(
          await orders.open(openRequest({ ownerId: placed.ownerId, basketId: placed.basketId, version: edited.version })),
        ).toMatchObject({ state: 'pending' });
      });

      it.each(['placed', 'declined', 'paying', 'unknown', 'paid', 'completed'] as OrderState[])(
        'failAndReopenBasket answers undefined for an order in %s and leaves it and its basket alone',
        async (state) => {
          const { order } = await arrange(state);
          const basketBefore = await basketOf(order);

          expect(await orders.failAndReopenBasket(order.id, ['pending', 'failing'], 'ABANDONED')).toBeUndefined();

          expect(await read(order)).toEqual(order);
          expect(await basketOf(order)).toEqual(basketBefore);
        },
      );

      it('failAndReopenBasket with onlyIfCreatesSent leaves an order another create was sent for, and fails it at the count given', async () => {
        const opened = await openOrder();
        const resent = must(await orders.recordCreateSent(opened.id), 'recordCreateSent');

        expect(await orders.failAndReopenBasket(opened.id, ['pending'], 'UPSTREAM_UNAVAILABLE', { onlyIfCreatesSent: 1 })).toBeUndefined();
        expect(await read(opened)).toEqual(resent);
        expect(await basketOf(opened)).toMatchObject({ status: 'locked' });

        expect(await orders.failAndReopenBasket(opened.id, ['pending'], 'UPSTREAM_UNAVAILABLE', { onlyIfCreatesSent: 2 })).toMatchObject({
          state: 'failed',
          createsSent: 2,
        });
        expect(await basketOf(opened)).toMatchObject({ status: 'open' });
      });

      it('failing an order that never adopted an upstream order schedules a duplicate check and keeps the owner’s token for it', async () => {
        const opened = await openOrder();

        const failed = await orders.failAndReopenBasket(opened.id, ['pending'], 'UPSTREAM_UNAVAILABLE');

        expect(failed!.duplicateCheckAt!.getTime()).toBe(opened.createSentAt!.getTime() + subject.lateEffectMs);
        expect(failed!.ownerTokenSealed).toBe(SEALED);
        expect(await read(opened)).toEqual(failed);
      });

      it('failing an order whose one create was answered schedules no check and erases the owner’s token', async () => {
        const { order: failing } = await arrange('failing');

        const failed = await orders.failAndReopenBasket(failing.id, ['failing'], 'CANCELLED');

        expect(failed).toMatchObject({ state: 'failed', duplicateCheckAt: null, ownerTokenSealed: null });
        expect(await read(failing)).toEqual(failed);
      });

      it('completeAndCloseBasket completes a paid order, closes its basket for good, ends the lease and erases the owner’s token', async () => {
        const { order: paid } = await arrange('paid');
        const basketBefore = (await basketOf(paid))!;
        const mine = lease();
        await claimSoon(paid, mine);

        const completed = await orders.completeAndCloseBasket(paid.id);

        expect(completed).toEqual({ ...paid, state: 'completed', ownerTokenSealed: null, updatedAt: expect.any(Date) });
        expect(await read(paid)).toEqual(completed);
        expect(await basketOf(paid)).toEqual({ ...basketBefore, status: 'closed', updatedAt: expect.any(Date) });
        await expect(baskets.putLine(paid.ownerId, paid.basketId, WATER)).rejects.toMatchObject({ code: 'BASKET_CLOSED' });
        expect(
          await orders.open(openRequest({ ownerId: paid.ownerId, basketId: paid.basketId, version: basketBefore.version })),
        ).toBeUndefined();
        const next = lease();
        expect(await orders.claimLease(paid.id, next)).toMatchObject({ id: paid.id, state: 'completed' });
        await orders.releaseLease(paid.id, next.holder);
      });

      it('completeAndCloseBasket keeps the owner’s token while a duplicate check is due', async () => {
        const opened = await openOrder();
        must(await orders.recordCreateSent(opened.id), 'recordCreateSent');
        const placed = must(await orders.transition(opened.id, ['pending'], 'placed', { upstreamOrderId: 'up-2' }), 'placed');
        const { attempt } = must(await orders.startPayment(opened.id, randomUUID(), NEWER), 'startPayment');
        must(await orders.finishPayment(attempt, 'completed', paymentId()), 'finishPayment');

        const completed = await orders.completeAndCloseBasket(opened.id);

        expect(completed).toMatchObject({ state: 'completed', ownerTokenSealed: NEWER, duplicateCheckAt: placed.duplicateCheckAt });
        expect(completed!.duplicateCheckAt).not.toBeNull();
      });

      it.each(['placed', 'paying', 'unknown', 'completed', 'failed'] as OrderState[])(
        'completeAndCloseBasket answers undefined for an order in %s and leaves it and its basket alone',
        async (state) => {
          const { order } = await arrange(state);
          const basketBefore = await basketOf(order);

          expect(await orders.completeAndCloseBasket(order.id)).toBeUndefined();

          expect(await read(order)).toEqual(order);
          expect(await basketOf(order)).toEqual(basketBefore);
        },
      );
    });

    describe('leases', () => {
      it('claimLease gives the order to one holder, leaving the order as it was, until that holder releases it; nobody else can release it', async () => {
        const { order } = await arrange('placed');
        const first = lease();

        const claimed = await orders.claimLease(order.id, first);
        const second = await orders.claimLease(order.id, lease());
        await orders.releaseLease(order.id, randomUUID());
        const afterStrangerRelease = await orders.claimLease(order.id, lease());
        const againByHolder = await orders.claimLease(order.id, first);
        await orders.releaseLease(order.id, first.holder);
        const next = lease();
        const afterRelease = await orders.claimLease(order.id, next);

        expect(claimed).toEqual(order);
        expect(second).toBeUndefined();
        expect(afterStrangerRelease).toBeUndefined();
        expect(againByHolder).toBeUndefined();
        expect(afterRelease).toEqual(order);
        expect(await read(order)).toEqual(order);
        await orders.releaseLease(order.id, next.holder);
      });

      it('claimLease gives the order to exactly one of several racing claimants', async () => {
        const { order } = await arrange('placed');
        const claimants = Array.from({ length: 6 }, () => lease());

        const results = await Promise.all(claimants.map((each) => orders.claimLease(order.id, each)));

        expect(results.filter((r) => r !== undefined)).toHaveLength(1);
        await orders.releaseLease(order.id, claimants[results.findIndex((r) => r !== undefined)].holder);
      });

      it('a lease that has run out is taken by the next claimant, and its stalled holder cannot release the new one', async () => {
        const { order } = await arrange('placed');
        const stalled = lease(1);
        must(await orders.claimLease(order.id, stalled), 'claimLease');
        await sleep(25);
        const current = lease();

        const taken = await orders.claimLease(order.id, current);
        await orders.releaseLease(order.id, stalled.holder);

        expect(taken).toEqual(order);
        expect(await orders.claimLease(order.id, lease())).toBeUndefined();
        await orders.releaseLease(order.id, current.holder);
        expect(await orders.claimLease(order.id, lease())).toEqual(order);
      });

      it('claimLease answers undefined for an order that does not exist', async () => {
        expect(await orders.claimLease(randomUUID(), lease())).toBeUndefined();
      });
    });
  });
}
