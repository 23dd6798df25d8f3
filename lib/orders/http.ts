import type { Reply } from '../http/reply';
import { answerFor } from './answers';
import { orderFromJson, orderView, type Order } from './order';
import type { Resolution } from './repository';

export function orderReply(order: Order, status = 200): Reply {
  return { status, body: orderView(order), headers: { location: `/orders/${order.id}` } };
}

/** An order as operators see it: the terminal's view, whose it is, and its resolution once it has one. */
export function operatorOrderView(order: Order, resolution?: Resolution) {
  return {
    ...orderView(order),
    ...(order.lastError ? { lastErrorDetail: order.lastError } : {}),
    ownerId: order.ownerId,
    ...(resolution ? { resolution: { ...resolution, resolvedAt: resolution.resolvedAt.toISOString() } } : {}),
  };
}

/** Seconds a terminal should wait before asking again about a payment the upstream still has pending. */
const PENDING_PAYMENT_RETRY_AFTER_SECONDS = 2;

/**
 * A paying request's answer: 201 once paid; 202 with Retry-After while the
 * upstream still has the payment pending (not stored for the key, so the same
 * key asks again and follows the payment up).
 */
export function paymentReply(order: Order): Reply {
  if (order.state !== 'paying') return orderReply(order, 201);
  const reply = orderReply(order, 202);
  return { ...reply, headers: { ...reply.headers, 'retry-after': String(PENDING_PAYMENT_RETRY_AFTER_SECONDS) } };
}

/** A paying request's answer stored with its outcome (the order as the outcome left it), rendered as it was the first time. */
export function storedPaymentAnswer(answerOrder: Record<string, unknown>): Reply {
  return paymentReply(answerFor(orderFromJson(answerOrder)));
}
