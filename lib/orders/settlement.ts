import type { KeyClaim } from '../idempotency/claim';
import { randomUUID } from 'node:crypto';
import type { CallContext } from '../call';
import { systemClock, type Clock } from '../clock';
import { toMainUnits } from '../domain/money';
import { completionFailed, orderNotFound, requestInProgress, stateConflict } from './errors';
import { upstreamIdOf, type Order, type PaymentOutcome } from './order';
import type { PaymentGateway, UpstreamOrderGateway, UpstreamPayment } from './ports';
import type { Lease, OrderRepository, PaymentAttempt } from './repository';
import { FAILABLE_STATES } from './state-machine';

/** What settlement works through: our records and the upstream's orders and payments. */
export interface SettlementPorts {
  orders: OrderRepository;
  upstreamOrders: UpstreamOrderGateway;
  payments: PaymentGateway;
  /** The system's unless a test or the simulation passes its own. */
  clock?: Clock;
}

export interface SettlementOptions {
  /** Seconds a caller should wait after a 503/504 (the breaker's half-open delay). */
  retryAfterSeconds: number;
  /** A payment in flight for longer than this belongs to a request that died. */
  abandonedAfterMs: number;
  /** How long an actor holds an order's lease to complete or fail it upstream. */
  completionLeaseMs: number;
}

/**
 * The steps that bring an order to rest, whoever takes them: the request that
 * paid it, the reconciler, a refund, an operator's resolution. Completing
 * (paid → completed, the basket closed), failing (→ failing → failed, the
 * basket reopened), and recording what the upstream says of a payment. Any
 * step that ends an order upstream is claimed in the database first.
 */
export class Settlement {
  constructor(
    private readonly ports: SettlementPorts,
    private readonly options: SettlementOptions,
  ) {}

  private get orders(): OrderRepository {
    return this.ports.orders;
  }

  private get clock(): Clock {
    return this.ports.clock ?? systemClock;
  }

  /**
   * Off the critical path: starts completing a paid order without waiting for
   * it, so the reply goes out at `paid`. A Lambda may be frozen before this
   * finishes; the reconciler completes whatever it does not.
   */
  completeAfterReply(order: Order, call: CallContext): void {
    if (order.state !== 'paid') return;
    this.claimAndComplete(order, call).catch((error) =>
      call.log.warn('completion deferred to the reconciler', { orderId: order.id, error }),
    );
  }

  /**
   * Completes a paid order, first claiming it so the reconciler does not do
   * the same at once; the lease ends with the completion (or is released).
   * `call` may depend on the order as claimed (the completion worker acts
   * with the owner's token stored on it): undefined leaves the order as it is.
   */
  async claimAndComplete(order: Pick<Order, 'id'>, call: CallContext | ((claimed: Order) => CallContext | undefined)): Promise<Order> {
    const lease = this.newLease();
    const claimed = await this.orders.claimLease(order.id, lease);
    if (!claimed) {
      const current = await this.orders.findById(order.id);
      throw current ? requestInProgress(current, 'Completing the order') : orderNotFound();
    }
    let completed = false;
    try {
      if (claimed.state !== 'paid') return claimed; // completed meanwhile by whoever held the lease before
      const acting = typeof call === 'function' ? call(claimed) : call;
      if (!acting) return claimed;
      const after = await this.complete(claimed, acting);
      completed = after.state === 'completed';
      return after;
    } finally {
      if (!completed) await this.orders.releaseLease(order.id, lease.holder); // completing ends the lease itself
    }
  }

  /** PATCH completed upstream, then completed here with the basket closed. The caller holds the order's claim. */
  async complete(order: Order, call: CallContext): Promise<Order> {
    let upstream;
    try {
      upstream = await this.ports.upstreamOrders.setOrderStatus(upstreamIdOf(order), 'completed', call);
    } catch (error) {
      throw completionFailed(order, error, this.options.retryAfterSeconds);
    }
    if (!upstream) throw stateConflict(order, `The POS system does not know paid order ${order.id}`);
    return (await this.orders.completeAndCloseBasket(order.id)) ?? (await this.current(order));
  }

  /**
   * Claims an unpaid order for failing (no request can pay it after this),
   * then fails it upstream and here. Returns the order as the claim left it
   * when someone else moved it first. The reconciler calls it holding the
   * order's lease; a request takes the lease with the claim (`takeLease`).
   */
  async fail(
    order: Order,
    reason: string,
    call: CallContext,
    options: { upstreamOrderIds?: string[]; unchangedSince?: Date; takeLease?: boolean } = {},
  ): Promise<Order> {
    if (!FAILABLE_STATES.includes(order.state)) return order;
    const lease = options.takeLease ? this.newLease() : undefined;
    const claimed = await this.orders.transition(order.id, [order.state], 'failing', {
      lastError: reason,
      unchangedSince: options.unchangedSince,
      lease,
    });
    if (!claimed) return this.current(order);
    try {
      return await this.finishFailing(claimed, call, options.upstreamOrderIds);
    } finally {
      if (lease) await this.orders.releaseLease(order.id, lease.holder);
    }
  }

  /**
   * failing → failed: PATCH failed every live upstream order of the checkout
   * (`upstreamOrderIds` when the caller knows them, else whatever GET /orders/
   * finds under its correlation), then failed here and the basket reopened; a
   * creation that may still land is checked for later. On an upstream failure
   * the order stays failing for the reconciler.
   */
  async finishFailing(order: Order, call: CallContext, upstreamOrderIds?: string[]): Promise<Order> {
    const ids =
      upstreamOrderIds ??
      (await this.ports.upstreamOrders.findOrdersByCorrelation(order.id, call)).filter((o) => o.status !== 'failed').map((o) => o.id);
    for (const id of ids) await this.ports.upstreamOrders.setOrderStatus(id, 'failed', call);
    return (await this.orders.failAndReopenBasket(order.id, ['failing'], order.lastError ?? 'FAILED')) ?? (await this.current(order));
  }

  /**
   * A payment in flight nobody is waiting for any more (the reconciler): one
   * the upstream answered 'pending' is read again; one that never got an id
   * is unknown once its request must be dead, and never sent again.
   */
  async settleAbandonedPayment(order: Order, call: CallContext): Promise<Order> {
    const attempt = await this.orders.paymentInFlight(order.id);
    if (!attempt) return this.current(order);
    if (!attempt.upstreamPaymentId) {
      if (!this.requestMustBeDead(attempt.sentAt)) return order;
      call.log.error('payment abandoned mid-flight; outcome unknown', { orderId: order.id });
      return this.markAbandonedPaymentUnknown(attempt);
    }
    const payment = await this.ports.payments.getPayment(attempt.upstreamPaymentId, call);
    return payment ? this.recordPayment(attempt, payment, order) : order;
  }

  /** No request that sent something at `sentAt` can still be running (it would have passed its deadline). */
  requestMustBeDead(sentAt: Date): boolean {
    return this.clock.now() - sentAt.getTime() >= this.options.abandonedAfterMs;
  }

  /** A payment whose request died before any answer: its outcome is unknown, and it is never sent again. */
  async markAbandonedPaymentUnknown(attempt: PaymentAttempt): Promise<Order> {
    return (
      (await this.orders.markPaymentUnknown(attempt, 'PAYMENT_STATUS_UNKNOWN: the request paying it died')) ??
      (await this.current({ id: attempt.orderId }))
    );
  }

  /**
   * Records what the upstream says of a payment with an id, once it is
   * checked against what the attempt asked for: another amount, or another
   * order, is not our charge to assume (unknown, for a person). `answer`: as
   * recordOutcome's.
   */
  recordPayment(
    attempt: PaymentAttempt,
    payment: UpstreamPayment,
    order: Pick<Order, 'upstreamOrderId'>,
    answer?: KeyClaim,
  ): Promise<Order> {
    const mismatch = paymentMismatch(payment, attempt, order.upstreamOrderId ?? undefined);
    if (mismatch)
      return this.recordOutcome(
        attempt,
        'unknown',
        payment.id,
        `PAYMENT_STATUS_UNKNOWN: payment ${payment.id} does not match the order (${mismatch})`,
        answer,
      );
    switch (payment.status) {
      case 'completed':
        return this.recordOutcome(attempt, 'completed', payment.id, undefined, answer);
      case 'failed':
        return this.recordOutcome(attempt, 'declined', payment.id, 'PAYMENT_DECLINED', answer);
      case 'refunded':
        return this.recordOutcome(
          attempt,
          'unknown',
          payment.id,
          `PAYMENT_STATUS_UNKNOWN: payment ${payment.id} is already refunded`,
          answer,
        );
      case 'pending':
        return this.current({ id: attempt.orderId });
    }
  }

  /**
   * Records the payment's outcome and answers from the row as the write left
   * it: should a newer attempt, the reconciler or a person have moved the
   * order meanwhile, the attempt still records the answer and the order is
   * returned as it now stands. `answer`: the request's key, which the same
   * write completes with the order as its answer when it moves the order
   * (only for an outcome whose answer is final: paid, declined, unknown).
   */
  async recordOutcome(
    attempt: PaymentAttempt,
    outcome: PaymentOutcome,
    paymentId: string | null,
    lastError?: string,
    answer?: KeyClaim,
  ): Promise<Order> {
    return (
      (await this.orders.finishPayment(attempt, outcome, paymentId, lastError, answer)) ?? (await this.current({ id: attempt.orderId }))
    );
  }

  /** A lease for one actor's step on an order. */
  newLease(): Lease {
    return { holder: randomUUID(), ms: this.options.completionLeaseMs };
  }

  /** The order as its row now stands. */
  async current(order: Pick<Order, 'id'>): Promise<Order> {
    const current = await this.orders.findById(order.id);
    if (!current) throw new Error(`Order ${order.id} vanished`);
    return current;
  }
}

/** Why an upstream payment is not what the attempt asked for (another amount or order), if it is not. */
export function paymentMismatch(
  payment: UpstreamPayment,
  attempt: PaymentAttempt,
  upstreamOrderId: string | undefined,
): string | undefined {
  if (payment.amountMinor !== attempt.amountMinor)
    return `amount ${toMainUnits(payment.amountMinor)}, expected ${toMainUnits(attempt.amountMinor)}`;
  if (payment.upstreamOrderId !== undefined && upstreamOrderId !== undefined && payment.upstreamOrderId !== upstreamOrderId)
    return `order ${payment.upstreamOrderId}`;
  return undefined;
}
