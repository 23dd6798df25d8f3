import type { Caller } from '../auth';
import type { Deadline } from '../deadline';
import type { Reply } from '../http/reply';
import { routeKey, type RouteSpec } from '../http/routes';
import { runIdempotent } from '../idempotency/run';
import { services } from '../services';
import { orderView, type Order } from './order';
import type { Resolution } from './repository';
import { requireIdempotencyKey } from './schemas';

/** Seconds past the request deadline that an Idempotency-Key stays locked to its request. */
const LOCK_MARGIN_MS = 5000;

export function orderReply(order: Order, status = 200): Reply {
  return { status, body: orderView(order), headers: { location: `/orders/${order.id}` } };
}

/** An order as operators see it: the terminal's view, whose it is, and its resolution once it has one. */
export function operatorOrderView(order: Order, resolution?: Resolution) {
  return {
    ...orderView(order),
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

/** Runs a paying request under its Idempotency-Key, scoped to the caller and the route ("POST /baskets/{basketId}/orders"). */
export function idempotently(
  request: { caller: Caller; deadline: Deadline; headers: { 'idempotency-key'?: string }; params: unknown; body: unknown },
  route: Pick<RouteSpec, 'method' | 'path'>,
  work: (key: string) => Promise<Reply>,
): Promise<Reply> {
  const key = requireIdempotencyKey(request.headers);
  return runIdempotent(
    services().idempotency,
    { ownerId: request.caller.userId, key, method: route.method, route: routeKey(route), params: request.params, body: request.body ?? null, lockMs: request.deadline.remainingMs() + LOCK_MARGIN_MS },
    () => work(key),
  );
}
