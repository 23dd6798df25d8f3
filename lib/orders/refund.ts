import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth';
import { systemClock, type Clock } from '../clock';
import type { TokenVault } from '../credentials';
import type { CallContext } from '../call';
import { isAppError } from '../errors';
import type { Settlement } from './settlement';
import { orderNotFound, requestInProgress, retryLater, retryLaterAfter, stateConflict } from './errors';
import type { Order } from './order';
import type { PaymentGateway } from './ports';
import type { OrderRepository, RefundAttempt } from './repository';

/** First and longest pause while a paid order's completion, held by another actor, finishes. */
const COMPLETION_FIRST_WAIT_MS = 100;
const COMPLETION_MAX_WAIT_MS = 500;

export interface RefundOptions {
  retryAfterSeconds: number;
  /** A refund request in flight for longer than this belongs to a request that died. */
  abandonedAfterMs: number;
  /** How long after it was sent a DELETE /payments/{id} may still be applied: only then does a read prove it was not. */
  lateEffectMs: number;
  clock?: Clock;
}

/**
 * Refunds a completed order: completed → refunding (recorded first), then one
 * DELETE /payments/{id}, then refunded. Nothing in the upstream's contract
 * says a second DELETE is harmless, so each is recorded before it is sent, at
 * most one is open per order, and one whose answer was lost is settled by
 * reading the payment, never by sending another while it may still land: a
 * read that still shows the payment completed proves the refund was not
 * applied only once the late-effect window since it was sent has passed.
 * Repeating the request, or the reconciler, resumes a refund left in
 * refunding; a refunded order is simply returned, so the call is idempotent.
 */
/** What refunds work through: our records, the upstream's payments, settlement (to complete a paid order first), and the sealing of owner tokens. */
export interface RefundPorts {
  orders: OrderRepository;
  payments: PaymentGateway;
  settlement: Settlement;
  vault: TokenVault;
}

export class Refunds {
  constructor(
    private readonly ports: RefundPorts,
    private readonly options: RefundOptions,
  ) {}

  private get clock(): Clock {
    return this.options.clock ?? systemClock;
  }

  async refund(caller: Caller, orderId: string, call: CallContext): Promise<Order> {
    let order = await this.ports.orders.find(caller.userId, orderId);
    if (!order) throw orderNotFound();
    if (order.state === 'paid') order = await this.completeFirst(order, call);
    if (order.state === 'completed') {
      order =
        (await this.ports.orders.transition(order.id, ['completed'], 'refunding', {
          ownerTokenSealed: this.ports.vault.seal(caller.token, order.id),
        })) ?? (await this.reload(order));
    }
    if (order.state === 'refunding') return this.finishRefund(order, call);
    if (order.state === 'refunded') return order;
    throw stateConflict(order, `Only a completed order can be refunded; this one is ${order.state}`);
  }

  /**
   * A paid order is completed before it is refunded. Right after a checkout
   * its completion is usually under way (the completion worker holds the
   * order's lease): that is waited out within the request's deadline rather
   * than answered "in progress" at once.
   */
  private async completeFirst(order: Order, call: CallContext): Promise<Order> {
    for (let waitMs = COMPLETION_FIRST_WAIT_MS; ; waitMs = Math.min(waitMs * 2, COMPLETION_MAX_WAIT_MS)) {
      try {
        return await this.ports.settlement.claimAndComplete(order, call);
      } catch (error) {
        const held = isAppError(error) && error.code === 'REQUEST_IN_PROGRESS';
        if (!held || call.deadline.remainingMs() < waitMs * 4) throw error;
      }
      await this.clock.sleep(waitMs);
      const current = await this.reload(order);
      if (current.state !== 'paid') return current;
    }
  }

  /** Sends the refund of an order in refunding, or settles the one already sent, and records it. */
  async finishRefund(order: Order, call: CallContext): Promise<Order> {
    const open = await this.ports.orders.openRefund(order.id);
    if (open) {
      const inFlight = open.outcome === 'sending' && this.clock.now() - open.sentAt.getTime() < this.options.abandonedAfterMs;
      if (inFlight) throw requestInProgress(order, 'A refund');
      return this.settleByReading(order, open, call);
    }
    const paymentId = order.paymentId;
    if (!paymentId) throw new Error(`Order ${order.id} is refunding without a payment id`);
    const attempt = await this.ports.orders.startRefund(order.id, randomUUID(), paymentId);
    if (!attempt) throw requestInProgress(order, 'A refund');
    const answer = await this.ports.payments.refundPayment(paymentId, call);
    switch (answer.kind) {
      case 'no_effect':
        await this.ports.orders.finishRefund(attempt, 'not_applied', `REFUND_NOT_SENT: ${answer.failure.detail}`);
        throw retryLater(
          order,
          'The POS system is unavailable; nothing was refunded. Try again shortly',
          this.options.retryAfterSeconds,
          answer.failure,
        );
      case 'answered':
        if (answer.payment?.status === 'refunded' && answer.payment.id === paymentId) return this.record(attempt, order);
        break;
      case 'ambiguous':
        call.log.warn('refund outcome unknown; reading the payment', { orderId: order.id, paymentId, outcome: answer.failure.detail });
        break;
      case 'not_found':
        break;
    }
    // Answered without showing this payment refunded, not found, or an answer that proves nothing: what the payment says decides.
    return this.settleByReading(order, await this.markUnknown(attempt), call);
  }

  /**
   * A refund whose answer is missing or unclear: the payment refunded means
   * done; still completed means the refund was not applied only once it can
   * no longer land (then a later request may send one); anything else waits
   * for a later read or a person.
   */
  private async settleByReading(order: Order, attempt: RefundAttempt, call: CallContext): Promise<Order> {
    let payment;
    try {
      payment = await this.ports.payments.getPayment(attempt.paymentId, call);
    } catch (error) {
      throw retryLaterAfter(
        order,
        'The outcome of the refund could not be confirmed yet; it will be checked. Try again shortly',
        this.options.retryAfterSeconds,
        error,
      );
    }
    if (payment?.status === 'refunded') return this.record(attempt, order);
    if (payment?.status === 'completed') {
      const landBy = attempt.sentAt.getTime() + this.options.lateEffectMs;
      if (this.clock.now() < landBy) {
        throw retryLater(
          order,
          'The refund is being confirmed with the POS system; nothing more will be sent meanwhile. Try again shortly',
          Math.max(this.options.retryAfterSeconds, Math.ceil((landBy - this.clock.now()) / 1000)),
        );
      }
      await this.ports.orders.finishRefund(attempt, 'not_applied', 'REFUND_NOT_APPLIED: the payment is still completed');
      throw retryLater(order, 'The refund did not go through; nothing was refunded. Try again shortly', this.options.retryAfterSeconds);
    }
    throw stateConflict(
      order,
      `The POS system shows payment ${attempt.paymentId} as ${payment?.status ?? 'missing'}; the refund needs a person to check it`,
    );
  }

  private async markUnknown(attempt: RefundAttempt): Promise<RefundAttempt> {
    await this.ports.orders.finishRefund(attempt, 'unknown');
    return { ...attempt, outcome: 'unknown' };
  }

  private async record(attempt: RefundAttempt, order: Order): Promise<Order> {
    return (await this.ports.orders.finishRefund(attempt, 'refunded')) ?? (await this.reload(order));
  }

  private async reload(order: Order): Promise<Order> {
    return (await this.ports.orders.findById(order.id)) ?? order;
  }
}
