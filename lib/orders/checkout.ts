import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth';
import { isAppError } from '../errors';
import { basketWriteRefusal, priceBasket } from '../baskets/basket';
import type { BasketRepository } from '../baskets/repository';
import { systemClock, type Clock } from '../clock';
import type { TokenVault } from '../credentials';
import { toMainUnits, toMinorUnits } from '../domain/money';
import type { CallOptions } from '../upstream/client';
import { describeOutcome, provesNoEffect, UpstreamCallError } from '../upstream/outcome';
import type { UpstreamOrder, UpstreamPayment } from '../upstream/pos-api';
import {
  basketChanging,
  basketEmpty,
  basketTaken,
  cannotCancel,
  completionFailed,
  orderCreationUnavailable,
  orderNotFound,
  paymentDeclined,
  paymentStatusUnknown,
  requestInProgress,
  retryLater,
  stateConflict,
  totalMismatch,
  upstreamOrderFailed,
} from './errors';
import type { Order } from './order';
import type { PaymentGateway, UpstreamOrderGateway } from './ports';
import type { Lease, OrderRepository, PaymentAttempt } from './repository';
import { CHARGED_STATES, FAILABLE_STATES, PAYABLE_STATES } from './state-machine';

/** What checkout works through: our records, the upstream's orders and payments, and the sealing of owner tokens. */
export interface CheckoutPorts {
  orders: OrderRepository;
  baskets: BasketRepository;
  upstreamOrders: UpstreamOrderGateway;
  payments: PaymentGateway;
  vault: TokenVault;
  /** The system's unless a test or the simulation passes its own. */
  clock?: Clock;
}

export interface CheckoutOptions {
  /** Seconds a caller should wait after a 503/504 (the breaker's half-open delay). */
  retryAfterSeconds: number;
  /** A payment in flight for longer than this belongs to a request that died; also the delay of a duplicate check. */
  abandonedAfterMs: number;
  /** The cap on the one attempt a payment gets (it is never retried after an ambiguous failure). */
  paymentTimeoutMs: number;
  /** No payment is sent with less than this left of the request's deadline. */
  paymentMinWindowMs: number;
  /** How long a request holds an order's lease to complete or fail it upstream. */
  completionLeaseMs: number;
}

/** Times the basket is read, priced and locked again when it changed between the reading and the lock. */
const MAX_OPEN_ATTEMPTS = 5;
/** Rounds of "POST /orders/ was ambiguous, GET /orders/ proved it absent, POST again" before giving up for now. */
const MAX_CREATE_ROUNDS = 2;
/** First and longest pause between reads of a payment the upstream answered 'pending'. */
const FOLLOW_UP_FIRST_WAIT_MS = 100;
const FOLLOW_UP_MAX_WAIT_MS = 1000;

/**
 * Ordering: open the order (locking the basket), create it upstream, pay it,
 * and leave completion to the background. Each step starts from the order's
 * recorded state, so a retry with the same Idempotency-Key, or the
 * reconciler, resumes instead of starting over. Any step that ends an order
 * upstream is claimed in the database first.
 */
export class Checkout {
  private readonly orders: OrderRepository;
  private readonly baskets: BasketRepository;
  private readonly upstreamOrders: UpstreamOrderGateway;
  private readonly payments: PaymentGateway;
  private readonly vault: TokenVault;
  private readonly clock: Clock;

  constructor(ports: CheckoutPorts, private readonly options: CheckoutOptions) {
    this.orders = ports.orders;
    this.baskets = ports.baskets;
    this.upstreamOrders = ports.upstreamOrders;
    this.payments = ports.payments;
    this.vault = ports.vault;
    this.clock = ports.clock ?? systemClock;
  }

  /**
   * POST /baskets/{id}/orders: a new checkout, or the resumption of this key's
   * own. `pay: false` prepares it (the upstream order created, not paid) for
   * POST /orders/{id}/payments once the customer is ready.
   */
  async placeOrder(caller: Caller, basketId: string, idempotencyKey: string, expectedBasketVersion: number | undefined, call: CallOptions, options: { pay: boolean } = { pay: true }): Promise<Order> {
    const live = await this.orders.findLiveForBasket(caller.userId, basketId);
    if (live && live.openedByKey !== idempotencyKey) throw basketTaken(live);
    const order = live ?? (await this.open(caller, basketId, idempotencyKey, expectedBasketVersion));
    call.log.info('order opened', { orderId: order.id, state: order.state, resuming: live !== undefined, totalMinor: order.totalMinor, pay: options.pay });

    const placed = order.state === 'pending' ? await this.placeUnlessMoved(order, live !== undefined, call) : order;
    if (placed.state === 'placed') return options.pay ? this.pay(placed, caller, call) : placed;
    if (placed.state === 'paying') return this.resumePayment(placed, call);
    return answerFor(placed);
  }

  /**
   * POST /orders/{id}/payments: pays a prepared order, or pays again after a
   * decline (or after a payment that proved nothing was charged). An order
   * whose upstream creation was never confirmed is created (or found) first.
   */
  async payOrder(caller: Caller, orderId: string, call: CallOptions): Promise<Order> {
    const order = await this.orders.find(caller.userId, orderId);
    if (!order) throw orderNotFound();
    const placed = order.state === 'pending' ? await this.placeUnlessMoved(order, true, call) : order;
    if (PAYABLE_STATES.includes(placed.state)) return this.pay(placed, caller, call);
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
  async cancel(caller: Caller, orderId: string, call: CallOptions): Promise<Order> {
    const order = await this.orders.find(caller.userId, orderId);
    if (!order) throw orderNotFound();
    if (order.state === 'failed' || order.state === 'failing') return order;
    if (!FAILABLE_STATES.includes(order.state)) throw cannotCancel(order);
    let after: Order;
    try {
      after = await this.fail(order, 'CANCELLED: by the cashier', call, { takeLease: true });
    } catch (error) {
      // The order is claimed failing: nothing can pay it, and the reconciler finishes failing it upstream.
      call.log.warn('failing the cancelled order upstream deferred to the reconciler', { orderId, error });
      after = await this.reload(order);
    }
    if (after.state === 'failed' || after.state === 'failing') return after;
    throw cannotCancel(after);
  }

  /**
   * Locks the basket and writes the pending order, at the total of the lines
   * as priced now. The lock only takes if the basket is still at the version
   * that was priced; a change in between (without If-Match) is priced again.
   */
  private async open(caller: Caller, basketId: string, idempotencyKey: string, expectedVersion: number | undefined): Promise<Order> {
    for (let attempt = 1; ; attempt++) {
      const basket = await this.baskets.find(caller.userId, basketId);
      if (!basket || basket.status !== 'open' || (expectedVersion !== undefined && basket.version !== expectedVersion)) {
        const live = basket?.status === 'locked' || basket?.status === 'closed' ? await this.orders.findLiveForBasket(caller.userId, basketId) : undefined;
        throw live ? basketTaken(live) : basketWriteRefusal(basket, expectedVersion);
      }
      if (basket.lines.length === 0) throw basketEmpty();
      const orderId = randomUUID();
      const opened = await this.orders.open({
        ownerId: caller.userId,
        basketId,
        orderId,
        idempotencyKey,
        basketVersion: basket.version,
        totalMinor: priceBasket(basket.lines).totals.gross,
        ownerTokenSealed: this.vault.seal(caller.token, orderId),
      });
      if (opened) return opened;
      if (attempt >= MAX_OPEN_ATTEMPTS) throw basketChanging();
    }
  }

  /**
   * Off the critical path: starts completing a paid order without waiting for
   * it, so the reply goes out at `paid`. A Lambda may be frozen before this
   * finishes; the reconciler completes whatever it does not.
   */
  completeAfterReply(order: Order, call: CallOptions): void {
    if (order.state !== 'paid') return;
    this.claimAndComplete(order, call).catch((error) => call.log.warn('completion deferred to the reconciler', { orderId: order.id, error }));
  }

  /** Completes a paid order, first claiming it so the reconciler does not do the same at once. */
  async claimAndComplete(order: Order, call: CallOptions): Promise<Order> {
    const lease = this.newLease();
    const claimed = await this.orders.claimLease(order.id, lease);
    if (!claimed) throw requestInProgress(order, 'Completing the order');
    try {
      if (claimed.state !== 'paid') return claimed; // completed meanwhile by whoever held the lease before
      return await this.complete(claimed, call);
    } finally {
      await this.orders.releaseLease(order.id, lease.holder);
    }
  }

  /** PATCH completed upstream, then completed here with the basket closed. The caller holds the order's claim. */
  async complete(order: Order, call: CallOptions): Promise<Order> {
    let upstream;
    try {
      upstream = await this.upstreamOrders.setOrderStatus(upstreamIdOf(order), 'completed', call);
    } catch (error) {
      throw completionFailed(order, error, this.options.retryAfterSeconds);
    }
    if (!upstream) throw stateConflict(order, `The POS system does not know paid order ${order.id}`);
    return (await this.orders.completeAndCloseBasket(order.id)) ?? (await this.reload(order));
  }

  /**
   * failing → failed: PATCH failed every live upstream order of the checkout
   * (`upstreamOrderIds` when the caller knows them, else whatever GET /orders/
   * finds under its correlation), then failed here and the basket reopened; a
   * creation that may still land is checked for later. On an upstream failure
   * the order stays failing for the reconciler.
   */
  async finishFailing(order: Order, call: CallOptions, upstreamOrderIds?: string[]): Promise<Order> {
    const ids = upstreamOrderIds ?? (await this.upstreamOrders.findOrdersByCorrelation(order.id, call)).filter((o) => o.status !== 'failed').map((o) => o.id);
    for (const id of ids) await this.upstreamOrders.setOrderStatus(id, 'failed', call);
    return (await this.orders.failAndReopenBasket(order.id, ['failing'], order.lastError ?? 'FAILED')) ?? (await this.reload(order));
  }

  /**
   * Claims an unpaid order for failing (no request can pay it after this),
   * then fails it upstream and here. Returns the order as the claim left it
   * when someone else moved it first. The reconciler calls it holding the
   * order's lease; a request takes the lease with the claim (`takeLease`).
   */
  async fail(order: Order, reason: string, call: CallOptions, options: { upstreamOrderIds?: string[]; unchangedSince?: Date; takeLease?: boolean } = {}): Promise<Order> {
    if (!FAILABLE_STATES.includes(order.state)) return order;
    const lease = options.takeLease ? this.newLease() : undefined;
    const claimed = await this.orders.transition(order.id, [order.state], 'failing', { lastError: reason, unchangedSince: options.unchangedSince, lease });
    if (!claimed) return this.reload(order);
    try {
      return await this.finishFailing(claimed, call, options.upstreamOrderIds);
    } finally {
      if (lease) await this.orders.releaseLease(order.id, lease.holder);
    }
  }

  /**
   * A payment in flight nobody is waiting for any more (the reconciler): one
   * the upstream answered 'pending' is read again; one that never got an id
   * is unknown once its request must be dead, and never sent again.
   */
  async settleAbandonedPayment(order: Order, call: CallOptions): Promise<Order> {
    const attempt = await this.orders.paymentInFlight(order.id);
    if (!attempt) return this.reload(order);
    if (!attempt.upstreamPaymentId) {
      if (!this.requestMustBeDead(attempt.sentAt)) return order;
      call.log.error('payment abandoned mid-flight; outcome unknown', { orderId: order.id });
      return this.markAbandonedPaymentUnknown(attempt);
    }
    const payment = await this.payments.getPayment(attempt.upstreamPaymentId, call);
    return payment ? this.recordPayment(attempt, payment, order) : order;
  }

  /**
   * place(), except that a "retry later, nothing was charged" it ends with is
   * only said of an order still pending (which no payment can have reached)
   * or failed: one another request placed meanwhile is answered as it now is.
   */
  private async placeUnlessMoved(order: Order, resuming: boolean, call: CallOptions): Promise<Order> {
    try {
      return await this.place(order, resuming, call);
    } catch (error) {
      if (!isAppError(error) || error.retryAfterSeconds === undefined) throw error;
      const current = await this.reload(order);
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
   */
  private async place(order: Order, resuming: boolean, call: CallOptions): Promise<Order> {
    if (resuming) {
      const found = await this.lookUp(order, call);
      if (found.length > 0) return this.adopt(order, found, call, { definite: false });
    }
    let createNo = resuming ? 0 : 1;
    for (let round = 1; round <= MAX_CREATE_ROUNDS; round++) {
      if (createNo === 0 || round > 1) {
        const recorded = await this.orders.recordCreateSent(order.id);
        if (!recorded) return this.reload(order); // placed or failed by someone else meanwhile
        createNo = recorded.createsSent;
      }
      let created;
      try {
        created = await this.upstreamOrders.createOrder({ orderId: createNo === 1 ? order.id : randomUUID(), correlation: order.id, total: toMainUnits(order.totalMinor) }, call);
      } catch (error) {
        if (!(error instanceof UpstreamCallError)) throw error;
        if (provesNoEffect(error.outcome)) {
          // Only when no other create of this checkout was sent: one whose answer was lost may still land.
          const failed = createNo === 1 ? await this.orders.failAndReopenBasket(order.id, ['pending'], `UPSTREAM_UNAVAILABLE: ${describeOutcome(error.outcome)}`, { onlyIfCreatesSent: 1 }) : undefined;
          if (failed) throw orderCreationUnavailable(error, this.options.retryAfterSeconds);
          throw retryLater(order, 'The POS system is unavailable; nothing was charged. Retry with the same Idempotency-Key', this.options.retryAfterSeconds, error);
        }
        call.log.warn('order creation outcome unknown; asking the upstream', { orderId: order.id, outcome: describeOutcome(error.outcome), round });
        const found = await this.lookUp(order, call);
        if (found.length > 0) return this.adopt(order, found, call, { definite: false });
        continue;
      }
      if (created.kind === 'created') return this.adopt(order, [created.order], call, { definite: createNo === 1, createdId: created.order.id });
      const found = await this.lookUp(order, call);
      if (found.length > 0) return this.adopt(order, found, call, { definite: false });
    }
    throw retryLater(order, 'The POS system did not confirm the order; nothing was charged. Retry with the same Idempotency-Key', this.options.retryAfterSeconds);
  }

  /** The upstream orders carrying this checkout's correlation value. A lookup that fails leaves the order pending: retry later. */
  private async lookUp(order: Order, call: CallOptions): Promise<UpstreamOrder[]> {
    try {
      return await this.upstreamOrders.findOrdersByCorrelation(order.id, call);
    } catch (error) {
      throw retryLater(order, 'The POS system could not confirm the order; nothing was charged. Retry with the same Idempotency-Key', this.options.retryAfterSeconds, error);
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
  private async adopt(order: Order, found: UpstreamOrder[], call: CallOptions, how: { definite: boolean; createdId?: string }): Promise<Order> {
    const live = found.filter((candidate) => candidate.status !== 'failed');
    const ourTotal = live.filter((candidate) => toMinorUnits(candidate.amount_total) === order.totalMinor);
    const ours = ourTotal.find((candidate) => candidate.status === 'pending');
    if (!ours) {
      // An order with our total the upstream already completed was adopted and paid by another request.
      if (ourTotal.length > 0) return this.reload(order);
      if (live.length === 0) {
        const failed = await this.orders.failAndReopenBasket(order.id, ['pending'], 'UPSTREAM_ORDER_FAILED: the upstream holds the order as failed');
        if (!failed) return this.reload(order);
        throw upstreamOrderFailed(order);
      }
      call.log.error('the upstream recorded another total; failing the order', { orderId: order.id, totalMinor: order.totalMinor, upstream: live.map((o) => o.amount_total) });
      const failing = await this.fail(order, 'UPSTREAM_TOTAL_MISMATCH', call, { upstreamOrderIds: live.map((o) => o.id), takeLease: true }).catch((error) => {
        call.log.warn('failing the mismatched order upstream deferred to the reconciler', { orderId: order.id, error });
        return this.reload(order);
      });
      if (failing.state !== 'failing' && failing.state !== 'failed') return failing;
      throw totalMismatch(order);
    }
    const placed = await this.orders.transition(order.id, ['pending'], 'placed', { upstreamOrderId: ours.id, checkDuplicates: !how.definite || live.length > 1 });
    const current = placed ?? (await this.reload(order));
    const duplicates = placed ? live.filter((candidate) => candidate.id !== ours.id) : live.filter((candidate) => candidate.id === how.createdId && candidate.id !== current.upstreamOrderId);
    for (const duplicate of duplicates) {
      await this.upstreamOrders.setOrderStatus(duplicate.id, 'failed', call).catch((error) =>
        call.log.warn('failing a duplicate upstream order deferred to the duplicate check', { orderId: order.id, duplicate: duplicate.id, error }),
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
  private async pay(order: Order, caller: Caller, call: CallOptions): Promise<Order> {
    const tooLittleTime = () => retryLater(order, 'Too little time was left to pay safely; nothing was charged. Retry with the same Idempotency-Key', this.options.retryAfterSeconds);
    if (call.deadline.remainingMs() < this.options.paymentMinWindowMs) {
      // Said only of an order nobody else is paying: one that moved on is answered as it now is.
      const current = await this.reload(order);
      if (!PAYABLE_STATES.includes(current.state)) return answerForPayingAgain(current);
      throw tooLittleTime();
    }
    const started = await this.orders.startPayment(order.id, randomUUID(), this.vault.seal(caller.token, order.id));
    if (!started) return answerForPayingAgain(await this.reload(order));
    const { attempt } = started;
    if (call.deadline.remainingMs() < this.options.paymentMinWindowMs) {
      await this.finish(attempt, 'no_charge', null, 'PAYMENT_NOT_SENT: too little time was left');
      throw tooLittleTime();
    }
    const upstreamOrderId = upstreamIdOf(started.order);
    let result;
    try {
      result = await this.payments.createPayment({ upstreamOrderId, amount: toMainUnits(attempt.amountMinor) }, { ...call, timeoutMs: this.options.paymentTimeoutMs });
    } catch (error) {
      if (!(error instanceof UpstreamCallError)) throw error;
      if (provesNoEffect(error.outcome)) {
        const after = await this.finish(attempt, 'no_charge', null, `UPSTREAM_UNAVAILABLE: ${describeOutcome(error.outcome)}`);
        if (after.state !== 'placed') return answerFor(after);
        throw retryLater(order, 'The POS system is unavailable; nothing was charged. Retry with the same Idempotency-Key', this.options.retryAfterSeconds, error);
      }
      call.log.error('payment outcome unknown', { orderId: order.id, attemptId: attempt.id, outcome: describeOutcome(error.outcome) });
      return answerFor(await this.finish(attempt, 'unknown', null, `PAYMENT_STATUS_UNKNOWN: ${describeOutcome(error.outcome)}`));
    }
    switch (result.kind) {
      case 'accepted': {
        if (result.payment.status !== 'pending' || paymentMismatch(result.payment, attempt, upstreamOrderId)) {
          return answerFor(await this.recordPayment(attempt, result.payment, started.order));
        }
        return this.followUp(await this.orders.recordPendingPayment(attempt, result.payment.id), upstreamOrderId, call);
      }
      case 'declined':
        return answerFor(await this.finish(attempt, 'declined', null, 'PAYMENT_DECLINED'));
      case 'unclear':
        return answerFor(await this.finish(attempt, 'unknown', null, `PAYMENT_STATUS_UNKNOWN: ${result.detail}`));
    }
  }

  /**
   * A payment already in flight: one answered 'pending' is followed up by its
   * id; one another request is still sending is left to it; one whose request
   * must have died without an answer is unknown.
   */
  private async resumePayment(order: Order, call: CallOptions): Promise<Order> {
    const attempt = await this.orders.paymentInFlight(order.id);
    if (!attempt) return answerFor(await this.reload(order));
    if (attempt.upstreamPaymentId) return this.followUp(attempt, upstreamIdOf(order), call);
    if (!this.requestMustBeDead(attempt.sentAt)) throw requestInProgress(order, 'A payment');
    return answerFor(await this.markAbandonedPaymentUnknown(attempt));
  }

  /** No request that sent something at `sentAt` can still be running (it would have passed its deadline). */
  private requestMustBeDead(sentAt: Date): boolean {
    return this.clock.now() - sentAt.getTime() >= this.options.abandonedAfterMs;
  }

  /** A payment whose request died before any answer: its outcome is unknown, and it is never sent again. */
  private async markAbandonedPaymentUnknown(attempt: PaymentAttempt): Promise<Order> {
    return (await this.orders.markPaymentUnknown(attempt, 'PAYMENT_STATUS_UNKNOWN: the request paying it died')) ?? (await this.reload({ id: attempt.orderId }));
  }

  /**
   * Reads a pending payment (GET /payments/{id}) until it settles or the
   * request's budget runs out; then the order is answered as the row stands
   * (still paying: 202, retry with the same key; the reconciler follows it up).
   */
  private async followUp(attempt: PaymentAttempt, upstreamOrderId: string, call: CallOptions): Promise<Order> {
    const paymentId = attempt.upstreamPaymentId!;
    let wait = FOLLOW_UP_FIRST_WAIT_MS;
    while (call.deadline.remainingMs() > wait * 2) {
      await this.clock.sleep(wait);
      wait = Math.min(wait * 2, FOLLOW_UP_MAX_WAIT_MS);
      const payment = await this.payments.getPayment(paymentId, call).catch((error) => {
        if (!(error instanceof UpstreamCallError)) throw error;
        call.log.warn('payment follow-up failed; trying again', { orderId: attempt.orderId, paymentId, outcome: describeOutcome(error.outcome) });
        return undefined;
      });
      if (payment && payment.status !== 'pending') return answerFor(await this.recordPayment(attempt, payment, { upstreamOrderId }));
    }
    call.log.info('payment still pending at the end of the request', { orderId: attempt.orderId, paymentId });
    return answerFor(await this.reload({ id: attempt.orderId }), { stillPaying: true });
  }

  /**
   * Records what the upstream says of a payment with an id, once it is
   * checked against what the attempt asked for: another amount, or another
   * order, is not our charge to assume (unknown, for a person).
   */
  private recordPayment(attempt: PaymentAttempt, payment: UpstreamPayment, order: Pick<Order, 'upstreamOrderId'>): Promise<Order> {
    const mismatch = paymentMismatch(payment, attempt, order.upstreamOrderId ?? undefined);
    if (mismatch) return this.finish(attempt, 'unknown', payment.id, `PAYMENT_STATUS_UNKNOWN: payment ${payment.id} does not match the order (${mismatch})`);
    switch (payment.status) {
      case 'completed':
        return this.finish(attempt, 'completed', payment.id);
      case 'failed':
        return this.finish(attempt, 'declined', payment.id, 'PAYMENT_DECLINED');
      case 'refunded':
        return this.finish(attempt, 'unknown', payment.id, `PAYMENT_STATUS_UNKNOWN: payment ${payment.id} is already refunded`);
      case 'pending':
        return this.reload({ id: attempt.orderId });
    }
  }

  /**
   * Records the payment's outcome and answers from the row as the write left
   * it: should a newer attempt, the reconciler or a person have moved the
   * order meanwhile, the attempt still records the answer and the order is
   * returned as it now stands.
   */
  private async finish(attempt: PaymentAttempt, outcome: 'completed' | 'declined' | 'no_charge' | 'unknown', paymentId: string | null, lastError?: string): Promise<Order> {
    return (await this.orders.finishPayment(attempt, outcome, paymentId, lastError)) ?? (await this.reload({ id: attempt.orderId }));
  }

  private newLease(): Lease {
    return { holder: randomUUID(), ms: this.options.completionLeaseMs };
  }

  private async reload(order: Pick<Order, 'id'>): Promise<Order> {
    const current = await this.orders.findById(order.id);
    if (!current) throw new Error(`Order ${order.id} vanished`);
    return current;
  }
}

/** Orders recorded before upstream ids were kept used ours upstream. */
export function upstreamIdOf(order: Order): string {
  return order.upstreamOrderId ?? order.id;
}

/**
 * The caller's answer for an order that needs no further step now: the
 * order itself when paid, otherwise the error that says what happened.
 */
function answerFor(order: Order, options: { stillPaying?: boolean } = {}): Order {
  switch (order.state) {
    case 'paid':
    case 'completed':
    case 'refunding':
    case 'refunded':
      return order;
    case 'paying':
      // The upstream still has the payment pending: the route answers 202 with the order.
      if (options.stillPaying) return order;
      throw requestInProgress(order, 'A payment');
    case 'declined':
      throw paymentDeclined(order);
    case 'unknown':
      throw paymentStatusUnknown(order);
    case 'failing':
    case 'failed':
      throw stateConflict(order, 'The order has been cancelled; nothing was charged. Order the basket again');
    case 'pending':
    case 'placed':
      throw stateConflict(order, `The order is ${order.state}`);
  }
}

/** Why an upstream payment is not what the attempt asked for (another amount or order), if it is not. */
function paymentMismatch(payment: UpstreamPayment, attempt: PaymentAttempt, upstreamOrderId: string | undefined): string | undefined {
  if (toMinorUnits(payment.amount) !== attempt.amountMinor) return `amount ${payment.amount}, expected ${toMainUnits(attempt.amountMinor)}`;
  if (payment.order_id !== undefined && upstreamOrderId !== undefined && payment.order_id !== upstreamOrderId) return `order ${payment.order_id}`;
  return undefined;
}

/** Paying again is only for an order not charged: anything charged, unknown or cancelled is a conflict. */
function answerForPayingAgain(order: Order): Order {
  if (CHARGED_STATES.includes(order.state)) throw stateConflict(order, `The order is already ${order.state}`);
  if (order.state === 'unknown') throw stateConflict(order, 'The outcome of an earlier payment is unknown; the order cannot be paid again until it is checked');
  return answerFor(order);
}
