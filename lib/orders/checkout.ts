import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth';
import { crashPoint } from '../crash-points';
import { toMainUnits } from '../domain/money';
import { AppError } from '../errors';
import type { CallOptions } from '../upstream/client';
import { upstreamFailureToAppError } from '../upstream/errors';
import { describeOutcome, provesNoEffect, UpstreamCallError } from '../upstream/outcome';
import type { PosApi } from '../upstream/pos-api';
import type { Order } from './order';
import type { OrderRepository, PaymentAttempt } from './repository';

export interface CheckoutOptions {
  /** Seconds a caller should wait after a 503/504 (the breaker's half-open delay). */
  retryAfterSeconds: number;
  /** A payment in flight for longer than this belongs to a request that died. */
  abandonedAfterMs: number;
}

/** Rounds of "POST /orders/ was ambiguous, GET proved it absent, POST again" before giving up for now. */
const MAX_CREATE_ROUNDS = 2;

/**
 * Ordering: open the order (locking the basket), create it upstream with our
 * id, pay it, and leave completion to the background. Each step starts from
 * the order's recorded state, so a retry with the same Idempotency-Key, or the
 * reconciler, resumes instead of starting over.
 */
export class Checkout {
  constructor(
    private readonly orders: OrderRepository,
    private readonly api: PosApi,
    private readonly options: CheckoutOptions,
  ) {}

  async placeOrder(caller: Caller, basketId: string, idempotencyKey: string, expectedBasketVersion: number | undefined, call: CallOptions): Promise<Order> {
    const live = await this.orders.findLiveForBasket(caller.userId, basketId);
    if (live && live.openedByKey !== idempotencyKey) {
      if (isSettledWithCharge(live.state)) {
        throw new AppError('BASKET_CLOSED', 'This basket has already been ordered', { extra: { orderId: live.id } });
      }
      throw new AppError('BASKET_LOCKED', 'An order for this basket is already in progress', { extra: { orderId: live.id } });
    }
    const resuming = live !== undefined;
    let order = live ?? (await this.orders.open({ ownerId: caller.userId, basketId, orderId: randomUUID(), idempotencyKey, expectedBasketVersion }));
    call.log.info('order opened', { orderId: order.id, state: order.state, resuming, totalMinor: order.totalMinor });
    crashPoint('after-order-row');

    if (order.state === 'pending') order = await this.ensurePlaced(order, resuming, call);
    if (order.state === 'placed') return this.pay(order, call);
    return this.settledOutcome(order);
  }

  /** POST /orders/{id}/payments: pay again after a decline (or after a payment that proved nothing was charged). */
  async payAgain(caller: Caller, orderId: string, call: CallOptions): Promise<Order> {
    const order = await this.orders.find(caller.userId, orderId);
    if (!order) throw new AppError('ORDER_NOT_FOUND', 'Order not found');
    if (order.state === 'placed' || order.state === 'declined') return this.pay(order, call);
    return this.settledOutcome(order, true);
  }

  /**
   * Off the critical path: starts completing a paid order without waiting for
   * it, so the reply goes out at `paid`. A Lambda may be frozen before this
   * finishes; the reconciler completes whatever it does not.
   */
  completeAfterReply(order: Order, call: CallOptions): void {
    if (order.state !== 'paid') return;
    this.complete(order, call).catch((error) => call.log.warn('completion deferred to the reconciler', { orderId: order.id, error }));
  }

  /** Completes a paid order upstream (PATCH completed), then records it and closes the basket. */
  async complete(order: Order, call: CallOptions): Promise<Order> {
    let upstream;
    try {
      upstream = await this.api.setOrderStatus(order.id, 'completed', call);
    } catch (error) {
      throw upstreamFailureToAppError(error, this.options.retryAfterSeconds);
    }
    if (!upstream) throw new AppError('UPSTREAM_ERROR', `The POS system does not know paid order ${order.id}`);
    return (await this.orders.completeAndCloseBasket(order.id)) ?? (await this.reload(order));
  }

  /**
   * pending → placed. A fresh order is created with our id; a resumed one is
   * looked up first. After an ambiguous POST, GET /orders/{id} decides: present
   * means placed, absent makes another POST safe.
   */
  private async ensurePlaced(order: Order, resuming: boolean, call: CallOptions): Promise<Order> {
    if (resuming && (await this.existsUpstream(order, call))) return this.markPlaced(order);
    for (let round = 1; round <= MAX_CREATE_ROUNDS; round++) {
      try {
        const created = await this.api.createOrder({ id: order.id, basketId: order.basketId, total: toMainUnits(order.totalMinor) }, call);
        crashPoint('after-order-created');
        if (created.kind === 'created' && created.order.amount_total !== toMainUnits(order.totalMinor)) {
          await this.api.setOrderStatus(order.id, 'failed', call);
          await this.orders.failAndReopenBasket(order.id, ['pending'], 'UPSTREAM_TOTAL_MISMATCH');
          throw new AppError('UPSTREAM_ERROR', 'The POS system recorded a different total; the order was cancelled');
        }
        return this.markPlaced(order);
      } catch (error) {
        if (!(error instanceof UpstreamCallError)) throw error;
        if (provesNoEffect(error.outcome)) {
          await this.orders.failAndReopenBasket(order.id, ['pending'], `UPSTREAM_UNAVAILABLE: ${describeOutcome(error.outcome)}`);
          throw new AppError('UPSTREAM_UNAVAILABLE', 'The POS system is unavailable; nothing was charged and the basket is open again', {
            cause: error,
            retryAfterSeconds: this.options.retryAfterSeconds,
          });
        }
        call.log.warn('order creation outcome unknown; asking the upstream', { orderId: order.id, outcome: describeOutcome(error.outcome), round });
        if (await this.existsUpstream(order, call)) return this.markPlaced(order);
      }
    }
    throw new AppError('UPSTREAM_UNAVAILABLE', 'The POS system did not confirm the order; nothing was charged. Retry with the same Idempotency-Key', {
      retryAfterSeconds: this.options.retryAfterSeconds,
      extra: { orderId: order.id },
    });
  }

  /**
   * Whether the upstream has our order. A lookup that fails leaves the order
   * pending and answers 503/504 with Retry-After: nothing was charged, and a
   * retry with the same Idempotency-Key picks up from here.
   */
  private async existsUpstream(order: Order, call: CallOptions): Promise<boolean> {
    try {
      return (await this.api.getOrder(order.id, call)) !== undefined;
    } catch (error) {
      if (!(error instanceof UpstreamCallError)) throw error;
      const timedOut = error.outcome.type === 'timeout' || error.outcome.type === 'aborted';
      throw new AppError(timedOut ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE', 'The POS system could not confirm the order; nothing was charged. Retry with the same Idempotency-Key', {
        cause: error,
        retryAfterSeconds: this.options.retryAfterSeconds,
        extra: { orderId: order.id },
      });
    }
  }

  private async markPlaced(order: Order): Promise<Order> {
    const placed = (await this.orders.transition(order.id, ['pending'], 'placed')) ?? (await this.reload(order));
    crashPoint('after-order-placed');
    return placed;
  }

  /**
   * (placed | declined) → paying → paid | declined | placed | unknown.
   * The attempt is recorded before the request is sent. Only an answer that
   * proves no charge (503, refused connection, open breaker) lets the order be
   * paid again; after a timeout, a 500 or a dropped connection the outcome is
   * unknown and the payment is never retried blindly.
   */
  private async pay(order: Order, call: CallOptions): Promise<Order> {
    const started = await this.orders.startPayment(order.id, randomUUID());
    if (!started) return this.settledOutcome(await this.reload(order), true);
    const { attempt } = started;
    crashPoint('after-payment-recorded');
    let result;
    try {
      result = await this.api.createPayment({ orderId: order.id, amount: toMainUnits(attempt.amountMinor) }, call);
    } catch (error) {
      if (!(error instanceof UpstreamCallError)) throw error;
      if (provesNoEffect(error.outcome)) {
        await this.finish(attempt, 'no_charge', null, `UPSTREAM_UNAVAILABLE: ${describeOutcome(error.outcome)}`);
        throw new AppError('UPSTREAM_UNAVAILABLE', 'The POS system is unavailable; nothing was charged. Retry with the same Idempotency-Key', {
          cause: error,
          retryAfterSeconds: this.options.retryAfterSeconds,
          extra: { orderId: order.id },
        });
      }
      call.log.error('payment outcome unknown', { orderId: order.id, attemptId: attempt.id, outcome: describeOutcome(error.outcome) });
      const unknown = await this.finish(attempt, 'unknown', null, `PAYMENT_STATUS_UNKNOWN: ${describeOutcome(error.outcome)}`);
      return this.settledOutcome(unknown);
    }
    crashPoint('after-payment-sent');
    switch (result.kind) {
      case 'completed': {
        const paid = await this.finish(attempt, 'completed', result.payment.id);
        crashPoint('after-payment-paid');
        return paid.state === 'paid' ? paid : this.settledOutcome(paid);
      }
      case 'declined':
        return this.settledOutcome(await this.finish(attempt, 'declined', null, 'PAYMENT_DECLINED'));
      case 'refused':
        await this.finish(attempt, 'no_charge', null, `UPSTREAM_REFUSED: status ${result.status}`);
        throw new AppError('UPSTREAM_ERROR', 'The POS system refused the payment request; nothing was charged', { extra: { orderId: order.id } });
      case 'unclear':
        return this.settledOutcome(await this.finish(attempt, 'unknown', null, `PAYMENT_STATUS_UNKNOWN: ${result.detail}`));
    }
  }

  /**
   * Records the payment's outcome. Should the order have left `paying` in the
   * meantime (the reconciler judged the request dead), the attempt still
   * records the answer and the order is returned as it now stands.
   */
  private async finish(attempt: PaymentAttempt, outcome: 'completed' | 'declined' | 'no_charge' | 'unknown', paymentId: string | null, lastError?: string): Promise<Order> {
    return (await this.orders.finishPayment(attempt, outcome, paymentId, lastError)) ?? (await this.reload({ id: attempt.orderId }));
  }

  /**
   * The caller's answer for an order that needs no further step now: the
   * order itself when paid, otherwise the error that says what happened.
   */
  private async settledOutcome(order: Order, payingAgain = false): Promise<Order> {
    const extra = { orderId: order.id };
    switch (order.state) {
      case 'paid':
      case 'completed':
      case 'refunding':
      case 'refunded':
        if (payingAgain) throw new AppError('ORDER_STATE_CONFLICT', `The order is already ${order.state}`, { extra });
        return order;
      case 'declined':
        throw new AppError('PAYMENT_DECLINED', 'The payment was declined; the order is kept, pay again with POST /orders/{orderId}/payments', { extra });
      case 'unknown':
        if (payingAgain) throw new AppError('ORDER_STATE_CONFLICT', 'The outcome of an earlier payment is unknown; the order cannot be paid again until it is checked', { extra });
        throw new AppError('PAYMENT_STATUS_UNKNOWN', 'The payment outcome could not be confirmed; do not pay again until the order is checked', { extra });
      case 'paying':
        if (Date.now() - order.updatedAt.getTime() < this.options.abandonedAfterMs) {
          throw new AppError('REQUEST_IN_PROGRESS', 'A payment for this order is in progress', { extra, retryAfterSeconds: 1 });
        }
        return this.settledOutcome((await this.orders.markPaymentUnknown(order.id, 'PAYMENT_STATUS_UNKNOWN: the request paying it died')) ?? (await this.reload(order)), payingAgain);
      case 'failed':
        throw new AppError('ORDER_STATE_CONFLICT', 'The order has failed; order the basket again', { extra });
      case 'pending':
      case 'placed':
        throw new AppError('ORDER_STATE_CONFLICT', `The order is ${order.state}`, { extra });
    }
  }

  private async reload(order: Pick<Order, 'id'>): Promise<Order> {
    const current = await this.orders.findById(order.id);
    if (!current) throw new Error(`Order ${order.id} vanished`);
    return current;
  }
}

/** The order took the money (or gave it back): its basket is closed for good. */
function isSettledWithCharge(state: Order['state']): boolean {
  return state === 'paid' || state === 'completed' || state === 'refunding' || state === 'refunded';
}
