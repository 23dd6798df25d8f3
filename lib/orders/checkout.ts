import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth';
import { isAppError } from '../errors';
import { basketWriteRefusal } from '../baskets/basket';
import type { BasketRepository } from '../baskets/repository';
import { CallFailedError, type CallContext, type CallFailure } from '../call';
import { systemClock, type Clock } from '../clock';
import type { TokenVault } from '../credentials';
import type { KeyClaim } from '../idempotency/claim';
import { answerFor, answerForPayingAgain } from './answers';
import {
  basketChanging,
  basketEmpty,
  basketTaken,
  cannotCancel,
  orderCreationRefused,
  orderCreationUnavailable,
  orderNotFound,
  requestInProgress,
  retryLater,
  retryLaterAfter,
  totalMismatch,
  upstreamOrderFailed,
} from './errors';
import { upstreamIdOf, type Order } from './order';
import type { PaymentGateway, UpstreamOrder, UpstreamOrderGateway } from './ports';
import type { OrderRepository, PaymentAttempt } from './repository';
import { paymentMismatch, type Settlement } from './settlement';
import { FAILABLE_STATES, PAYABLE_STATES } from './state-machine';

/** What checkout works through: our records, the upstream's orders and payments, the sealing of owner tokens, and settlement. */
export interface CheckoutPorts {
  orders: OrderRepository;
  baskets: BasketRepository;
  upstreamOrders: UpstreamOrderGateway;
  payments: PaymentGateway;
  vault: TokenVault;
  /** The steps that bring an order to rest, shared with the reconciler, refunds and resolutions. */
  settlement: Settlement;
  /** The system's unless a test or the simulation passes its own. */
  clock?: Clock;
}

export interface CheckoutOptions {
  /** Seconds a caller should wait after a 503/504 (the breaker's half-open delay). */
  retryAfterSeconds: number;
  /** The cap on the one attempt a payment gets (it is never retried after an ambiguous failure). */
  paymentTimeoutMs: number;
  /** No payment is sent with less than this left of the request's deadline. */
  paymentMinWindowMs: number;
}

/** Times the basket is read, priced and locked again when it changed between the reading and the lock. */
const MAX_OPEN_ATTEMPTS = 5;
/** Rounds of "POST /orders/ was ambiguous, GET /orders/ proved it absent, POST again" before giving up for now. */
const MAX_CREATE_ROUNDS = 2;
/** First and longest pause between reads of a payment the upstream answered 'pending'. */
const FOLLOW_UP_FIRST_WAIT_MS = 100;
const FOLLOW_UP_MAX_WAIT_MS = 1000;

const NOTHING_CHARGED_RETRY = 'The POS system is unavailable; nothing was charged. Retry with the same Idempotency-Key';

/**
 * The checkout a terminal asks for, request by request: open the order
 * (locking the basket), create it upstream, pay it, or cancel it. Each step
 * starts from the order's recorded state, so a retry with the same
 * Idempotency-Key resumes instead of starting over. Bringing an order to
 * rest (completing, failing, recording a payment's outcome) is Settlement's
 * (lib/orders/settlement.ts), which the reconciler, refunds and resolutions
 * share.
 */
export class Checkout {
  private readonly orders: OrderRepository;
  private readonly baskets: BasketRepository;
  private readonly upstreamOrders: UpstreamOrderGateway;
  private readonly payments: PaymentGateway;
  private readonly vault: TokenVault;
  private readonly settlement: Settlement;
  private readonly clock: Clock;

  constructor(
    ports: CheckoutPorts,
    private readonly options: CheckoutOptions,
  ) {
    this.orders = ports.orders;
    this.baskets = ports.baskets;
    this.upstreamOrders = ports.upstreamOrders;
    this.payments = ports.payments;
    this.vault = ports.vault;
    this.settlement = ports.settlement;
    this.clock = ports.clock ?? systemClock;
  }

  /**
   * POST /baskets/{id}/orders: a new checkout, or the resumption of this key's
   * own. `pay: false` prepares it (the upstream order created, not paid) for
   * POST /orders/{id}/payments once the customer is ready. `key`: the
   * request's Idempotency-Key, which the first write takes (a paid checkout
   * writes three times before its answer: the order opened with the key
   * taken, the upstream order adopted with the payment recorded, the
   * payment's outcome with the answer stored).
   */
  async placeOrder(
    caller: Caller,
    basketId: string,
    idempotencyKey: string,
    expectedBasketVersion: number | undefined,
    call: CallContext,
    options: { pay: boolean; key?: KeyClaim } = { pay: true },
  ): Promise<Order> {
    const { order, resuming } = await this.open(caller, basketId, idempotencyKey, expectedBasketVersion, options.key);
    call.log.info('order opened', {
      orderId: order.id,
      state: order.state,
      resuming,
      totalMinor: order.totalMinor,
      pay: options.pay,
    });

    const placed = order.state === 'pending' ? await this.placeUnlessMoved(order, resuming, call, options.pay ? caller : undefined) : order;
    if (isStartedPayment(placed)) return this.sendPayment(placed, call, options.key);
    if (placed.state === 'placed') return options.pay ? this.pay(placed, caller, call, options.key) : placed;
    if (placed.state === 'paying') return this.resumePayment(placed, call);
    return answerFor(placed);
  }

  /**
   * POST /orders/{id}/payments: pays a prepared order, or pays again after a
   * decline (or after a payment that proved nothing was charged). An order
   * whose upstream creation was never confirmed is created (or found) first.
   * The common case writes twice before its answer: the payment recorded with
   * the key taken, and its outcome with the answer stored.
   */
  async payOrder(caller: Caller, orderId: string, call: CallContext, key?: KeyClaim): Promise<Order> {
    if (call.deadline.remainingMs() >= this.options.paymentMinWindowMs) {
      const started = await this.orders.startPayment(orderId, randomUUID(), this.vault.seal(caller.token, orderId), {
        key,
        ownerId: caller.userId,
      });
      if (started) return this.sendPayment(started, call, key);
    }
    await key?.take();
    const order = await this.orders.find(caller.userId, orderId);
    if (!order) throw orderNotFound();
    const placed = order.state === 'pending' ? await this.placeUnlessMoved(order, true, call, caller) : order;
    if (isStartedPayment(placed)) return this.sendPayment(placed, call, key);
    if (PAYABLE_STATES.includes(placed.state)) return this.pay(placed, caller, call, key);
    if (placed.state === 'paying') return this.resumePayment(placed, call);
    return answerForPayingAgain(placed);
  }

  /**
   * DELETE /orders/{id}: the customer changed their mind before paying. The
   * order is claimed failing (so nothing can pay it), failed upstream and
   * here, and the basket reopens; repeating it answers the cancelled order.
   * The answer is read from the row the claim left: an order someone began
   * paying meanwhile is not cancelled, and says so.
   */
  async cancel(caller: Caller, orderId: string, call: CallContext): Promise<Order> {
    const order = await this.orders.find(caller.userId, orderId);
    if (!order) throw orderNotFound();
    if (order.state === 'failed' || order.state === 'failing') return order;
    if (!FAILABLE_STATES.includes(order.state)) throw cannotCancel(order);
    let after: Order;
    try {
      after = await this.settlement.fail(order, 'CANCELLED: by the cashier', call, { takeLease: true });
    } catch (error) {
      // The order is claimed failing: nothing can pay it, and the reconciler finishes failing it upstream.
      call.log.warn('failing the cancelled order upstream deferred to the reconciler', { orderId, error });
      after = await this.settlement.current(order);
    }
    if (after.state === 'failed' || after.state === 'failing') return after;
    throw cannotCancel(after);
  }

  /**
   * Locks the basket and writes the pending order at the basket's total (the
   * first write, which takes the request's key), or finds this key's own live
   * order to resume. A basket the lock refuses is explained: taken by another
   * checkout, gone, not open, at another version than If-Match, or empty.
   * One still open and lockable changed in between, and is tried again.
   */
  private async open(
    caller: Caller,
    basketId: string,
    idempotencyKey: string,
    expectedVersion: number | undefined,
    key: KeyClaim | undefined,
  ): Promise<{ order: Order; resuming: boolean }> {
    for (let attempt = 1; ; attempt++) {
      const orderId = randomUUID();
      const opened = await this.orders.open({
        ownerId: caller.userId,
        basketId,
        orderId,
        idempotencyKey,
        expectedBasketVersion: expectedVersion,
        ownerTokenSealed: this.vault.seal(caller.token, orderId),
        key,
      });
      if (opened) return { order: opened, resuming: false };
      const live = await this.orders.findLiveForBasket(caller.userId, basketId);
      if (live && live.openedByKey !== idempotencyKey) throw basketTaken(live);
      if (live) return { order: live, resuming: true };
      const basket = await this.baskets.find(caller.userId, basketId);
      if (!basket || basket.status !== 'open' || (expectedVersion !== undefined && basket.version !== expectedVersion)) {
        throw basketWriteRefusal(basket, expectedVersion);
      }
      if (basket.lines.length === 0) throw basketEmpty();
      if (attempt >= MAX_OPEN_ATTEMPTS) throw basketChanging();
    }
  }

  /**
   * place(), except that a "retry later, nothing was charged" it ends with is
   * only said of an order still pending (which no payment can have reached)
   * or failed: one another request placed meanwhile is answered as it now is.
   */
  private async placeUnlessMoved(order: Order, resuming: boolean, call: CallContext, payer?: Caller): Promise<Order | StartedPayment> {
    try {
      return await this.place(order, resuming, call, payer);
    } catch (error) {
      if (!isAppError(error) || error.retryAfterSeconds === undefined) throw error;
      const current = await this.settlement.current(order);
      if (current.state === 'pending' || current.state === 'failed') throw error;
      return current;
    }
  }

  /**
   * pending → placed. A resumed order is looked up first (a request before
   * may have created it). Every POST /orders/ is recorded before it is sent
   * (open() records the first) and carries its own order_id after the first,
   * so that creations which all land stay apart upstream. After an ambiguous
   * POST, GET /orders/ decides by the checkout's correlation value: found
   * means placed, absent makes another POST safe (duplicates it may leave are
   * failed by the duplicate check). A create refused before any effect fails
   * the order and reopens the basket only if it was the only one sent.
   * `payer`: the order is to be paid next, so the upstream order the only
   * create answered with is adopted with the payment recorded, in one write.
   */
  private async place(order: Order, resuming: boolean, call: CallContext, payer?: Caller): Promise<Order | StartedPayment> {
    if (resuming) {
      const adopted = await this.adoptIfFound(order, call);
      if (adopted) return adopted;
    }
    for (let round = 1; round <= MAX_CREATE_ROUNDS; round++) {
      const createNo = !resuming && round === 1 ? 1 : (await this.orders.recordCreateSent(order.id))?.createsSent;
      if (createNo === undefined) return this.settlement.current(order); // placed or failed by someone else meanwhile
      const answer = await this.upstreamOrders.createOrder(
        { orderId: createNo === 1 ? order.id : randomUUID(), correlation: order.id, totalMinor: order.totalMinor },
        call,
      );
      switch (answer.kind) {
        case 'created':
          return this.adopt(order, [answer.order], call, { definite: createNo === 1, createdId: answer.order.id, payer });
        case 'refused':
          throw orderCreationRefused(order, answer.status);
        case 'no_effect':
          return this.nothingCreated(order, createNo, answer.failure);
        case 'ambiguous':
          call.log.warn('order creation outcome unknown; asking the upstream', {
            orderId: order.id,
            outcome: answer.failure.detail,
            round,
          });
          break;
        case 'already_exists':
          break;
      }
      const adopted = await this.adoptIfFound(order, call);
      if (adopted) return adopted;
    }
    throw retryLater(
      order,
      'The POS system did not confirm the order; nothing was charged. Retry with the same Idempotency-Key',
      this.options.retryAfterSeconds,
    );
  }

  /**
   * A create refused before any effect: the order fails and the basket
   * reopens only if it was the only create sent (one whose answer was lost
   * may still land); otherwise the order stays pending for a retry.
   */
  private async nothingCreated(order: Order, createNo: number, failure: CallFailure): Promise<never> {
    const failed =
      createNo === 1
        ? await this.orders.failAndReopenBasket(order.id, ['pending'], `UPSTREAM_UNAVAILABLE: ${failure.detail}`, { onlyIfCreatesSent: 1 })
        : undefined;
    if (failed) throw orderCreationUnavailable(failure, this.options.retryAfterSeconds);
    throw retryLater(order, NOTHING_CHARGED_RETRY, this.options.retryAfterSeconds, failure);
  }

  /** The order as adopted from what GET /orders/ finds under the checkout's correlation value, or undefined when it finds nothing. */
  private async adoptIfFound(order: Order, call: CallContext): Promise<Order | StartedPayment | undefined> {
    const found = await this.lookUp(order, call);
    return found.length > 0 ? this.adopt(order, found, call, { definite: false }) : undefined;
  }

  /** The upstream orders carrying this checkout's correlation value. A lookup that fails leaves the order pending: retry later. */
  private async lookUp(order: Order, call: CallContext): Promise<UpstreamOrder[]> {
    try {
      return await this.upstreamOrders.findOrdersByCorrelation(order.id, call);
    } catch (error) {
      throw retryLaterAfter(
        order,
        'The POS system could not confirm the order; nothing was charged. Retry with the same Idempotency-Key',
        this.options.retryAfterSeconds,
        error,
      );
    }
  }

  /**
   * Takes the upstream order that carries our exact total as this checkout's
   * (pending → placed) and fails any other live one. Only the actor whose
   * transition wins fails duplicates, and only of the order the row holds: a
   * loser fails just the upstream order it created itself, if the winner did
   * not take it. An upstream that already failed the order, or recorded
   * another total, never gets paid: the order is failed. `definite`: the
   * upstream order came from the answer to the only create sent; otherwise
   * another may still surface, and GET /orders/ is checked again later.
   * Whatever the outcome, the caller continues from the row as it now is.
   */
  private async adopt(
    order: Order,
    found: UpstreamOrder[],
    call: CallContext,
    how: { definite: boolean; createdId?: string; payer?: Caller },
  ): Promise<Order | StartedPayment> {
    const live = found.filter((candidate) => candidate.status !== 'failed');
    const ourTotal = live.filter((candidate) => candidate.totalMinor === order.totalMinor);
    const ours = ourTotal.find((candidate) => candidate.status === 'pending');
    if (!ours) {
      // An order with our total the upstream already completed was adopted and paid by another request.
      if (ourTotal.length > 0) return this.settlement.current(order);
      if (live.length === 0) {
        const failed = await this.orders.failAndReopenBasket(
          order.id,
          ['pending'],
          'UPSTREAM_ORDER_FAILED: the upstream holds the order as failed',
        );
        if (!failed) return this.settlement.current(order);
        throw upstreamOrderFailed(order);
      }
      call.log.error('the upstream recorded another total; failing the order', {
        orderId: order.id,
        totalMinor: order.totalMinor,
        upstreamTotalsMinor: live.map((o) => o.totalMinor),
      });
      const failing = await this.settlement
        .fail(order, 'UPSTREAM_TOTAL_MISMATCH', call, { upstreamOrderIds: live.map((o) => o.id), takeLease: true })
        .catch((error) => {
          call.log.warn('failing the mismatched order upstream deferred to the reconciler', { orderId: order.id, error });
          return this.settlement.current(order);
        });
      if (failing.state !== 'failing' && failing.state !== 'failed') return failing;
      throw totalMismatch(order);
    }
    // Paid next, with nothing else to fail first: adopted with the payment recorded, in one write.
    const payNow =
      how.definite && live.length === 1 && call.deadline.remainingMs() >= this.options.paymentMinWindowMs ? how.payer : undefined;
    if (payNow) {
      const started = await this.orders.startPayment(order.id, randomUUID(), this.vault.seal(payNow.token, order.id), {
        adopting: { upstreamOrderId: ours.id, checkDuplicates: false },
      });
      if (started) return started;
    }
    // A lost adoption (the order moved on meanwhile) goes on as the loser below: it fails its own upstream order if not taken.
    const placed = payNow
      ? undefined
      : await this.orders.transition(order.id, ['pending'], 'placed', {
          upstreamOrderId: ours.id,
          checkDuplicates: !how.definite || live.length > 1,
        });
    const current = placed ?? (await this.settlement.current(order));
    const duplicates = placed
      ? live.filter((candidate) => candidate.id !== ours.id)
      : live.filter((candidate) => candidate.id === how.createdId && candidate.id !== current.upstreamOrderId);
    for (const duplicate of duplicates) {
      await this.upstreamOrders.setOrderStatus(duplicate.id, 'failed', call).catch((error) =>
        call.log.warn('failing a duplicate upstream order deferred to the duplicate check', {
          orderId: order.id,
          duplicate: duplicate.id,
          error,
        }),
      );
    }
    return current;
  }

  /**
   * (placed | declined) → paying → paid | declined | placed | unknown, or
   * still paying with a pending payment's id. The attempt is recorded before
   * the request is sent, and it is only sent with enough of the deadline left
   * for it to finish, measured after that write. Only an answer that proves
   * no charge lets the order be paid again; after a timeout, a 500, a
   * dropped connection or any status the contract does not document as "no
   * effect" the outcome is unknown and the payment is never retried blindly.
   */
  private async pay(order: Order, caller: Caller, call: CallContext, key: KeyClaim | undefined): Promise<Order> {
    if (call.deadline.remainingMs() < this.options.paymentMinWindowMs) {
      // Said only of an order nobody else is paying: one that moved on is answered as it now is.
      const current = await this.settlement.current(order);
      if (!PAYABLE_STATES.includes(current.state)) return answerForPayingAgain(current);
      throw this.tooLittleTime(order);
    }
    const started = await this.orders.startPayment(order.id, randomUUID(), this.vault.seal(caller.token, order.id));
    if (!started) return answerForPayingAgain(await this.settlement.current(order));
    return this.sendPayment(started, call, key);
  }

  /**
   * Sends the payment just recorded (unless too little of the deadline is
   * left, measured after that write) and records its outcome; a final answer
   * (paid, declined, unknown) is stored for the request's key by the same
   * write.
   */
  private async sendPayment(started: StartedPayment, call: CallContext, key: KeyClaim | undefined): Promise<Order> {
    const { attempt, order } = started;
    if (call.deadline.remainingMs() < this.options.paymentMinWindowMs) {
      await this.settlement.recordOutcome(attempt, 'no_charge', null, 'PAYMENT_NOT_SENT: too little time was left');
      throw this.tooLittleTime(order);
    }
    const upstreamOrderId = upstreamIdOf(order);
    const answer = await this.payments.createPayment(
      { upstreamOrderId, amountMinor: attempt.amountMinor },
      { ...call, timeoutMs: this.options.paymentTimeoutMs },
    );
    switch (answer.kind) {
      case 'accepted': {
        if (answer.payment.status !== 'pending' || paymentMismatch(answer.payment, attempt, upstreamOrderId)) {
          return answerFor(await this.settlement.recordPayment(attempt, answer.payment, order, key));
        }
        return this.followUp(await this.orders.recordPendingPayment(attempt, answer.payment.id), upstreamOrderId, call);
      }
      case 'declined':
        return answerFor(await this.settlement.recordOutcome(attempt, 'declined', null, 'PAYMENT_DECLINED', key));
      case 'no_effect': {
        const after = await this.settlement.recordOutcome(attempt, 'no_charge', null, `UPSTREAM_UNAVAILABLE: ${answer.failure.detail}`);
        if (after.state !== 'placed') return answerFor(after);
        throw retryLater(order, NOTHING_CHARGED_RETRY, this.options.retryAfterSeconds, answer.failure);
      }
      case 'ambiguous':
        call.log.error('payment outcome unknown', { orderId: order.id, attemptId: attempt.id, outcome: answer.failure.detail });
        return answerFor(
          await this.settlement.recordOutcome(attempt, 'unknown', null, `PAYMENT_STATUS_UNKNOWN: ${answer.failure.detail}`, key),
        );
    }
  }

  private tooLittleTime(order: Order) {
    return retryLater(
      order,
      'Too little time was left to pay safely; nothing was charged. Retry with the same Idempotency-Key',
      this.options.retryAfterSeconds,
    );
  }

  /**
   * A payment already in flight: one answered 'pending' is followed up by its
   * id; one another request is still sending is left to it; one whose request
   * must have died without an answer is unknown.
   */
  private async resumePayment(order: Order, call: CallContext): Promise<Order> {
    const attempt = await this.orders.paymentInFlight(order.id);
    if (!attempt) return answerFor(await this.settlement.current(order));
    if (attempt.upstreamPaymentId) return this.followUp(attempt, upstreamIdOf(order), call);
    if (!this.settlement.requestMustBeDead(attempt.sentAt)) throw requestInProgress(order, 'A payment');
    return answerFor(await this.settlement.markAbandonedPaymentUnknown(attempt));
  }

  /**
   * Reads a pending payment (GET /payments/{id}) until it settles or the
   * request's budget runs out; then the order is answered as the row stands
   * (still paying: 202, retry with the same key; the reconciler follows it up).
   */
  private async followUp(attempt: PaymentAttempt, upstreamOrderId: string, call: CallContext): Promise<Order> {
    const paymentId = attempt.upstreamPaymentId!;
    let wait = FOLLOW_UP_FIRST_WAIT_MS;
    while (call.deadline.remainingMs() > wait * 2) {
      await this.clock.sleep(wait);
      wait = Math.min(wait * 2, FOLLOW_UP_MAX_WAIT_MS);
      const payment = await this.payments.getPayment(paymentId, call).catch((error) => {
        if (!(error instanceof CallFailedError)) throw error;
        call.log.warn('payment follow-up failed; trying again', { orderId: attempt.orderId, paymentId, outcome: error.failure.detail });
        return undefined;
      });
      if (payment && payment.status !== 'pending')
        return answerFor(await this.settlement.recordPayment(attempt, payment, { upstreamOrderId }));
    }
    call.log.info('payment still pending at the end of the request', { orderId: attempt.orderId, paymentId });
    return answerFor(await this.settlement.current({ id: attempt.orderId }), { stillPaying: true });
  }
}

/** An order moved to paying with its payment attempt recorded, not sent yet. */
interface StartedPayment {
  order: Order;
  attempt: PaymentAttempt;
}

function isStartedPayment(value: Order | StartedPayment): value is StartedPayment {
  return 'attempt' in value;
}
