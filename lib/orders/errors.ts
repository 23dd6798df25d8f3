import { AppError } from '../errors';
import { callFailureToAppError, failedCallToAppError, type CallFailure } from '../call';
import type { Order } from './order';
import { CHARGED_STATES } from './state-machine';

/** The errors an ordering step answers with, named for what happened; each carries the order id when there is one. */

const about = (order: Pick<Order, 'id'>) => ({ extra: { orderId: order.id } });

export const orderNotFound = () => new AppError('ORDER_NOT_FOUND', 'Order not found');

export const basketEmpty = () => new AppError('BASKET_EMPTY', 'The basket has no items to order');

/** The basket changed between pricing and locking it, again and again. */
export const basketChanging = () =>
  new AppError('REQUEST_IN_PROGRESS', 'The basket keeps changing; retry shortly', { retryAfterSeconds: 1 });

/** Another checkout holds the basket: still in progress, or done with the money taken. */
export function basketTaken(live: Order): AppError {
  if (CHARGED_STATES.includes(live.state)) return new AppError('BASKET_CLOSED', 'This basket has already been ordered', about(live));
  return new AppError('BASKET_LOCKED', 'An order for this basket is already in progress', about(live));
}

export const paymentDeclined = (order: Order) =>
  new AppError(
    'PAYMENT_DECLINED',
    'The payment was declined; the order is kept, pay again with POST /orders/{orderId}/payments',
    about(order),
  );

export const paymentStatusUnknown = (order: Order) =>
  new AppError(
    'PAYMENT_STATUS_UNKNOWN',
    'The payment outcome could not be confirmed; do not pay again until the order is checked',
    about(order),
  );

export const stateConflict = (order: Order, message: string) => new AppError('ORDER_STATE_CONFLICT', message, about(order));

export const requestInProgress = (order: Order, what: string) =>
  new AppError('REQUEST_IN_PROGRESS', `${what} for this order is in progress; retry shortly`, { ...about(order), retryAfterSeconds: 1 });

/** Nothing was charged and the order's state is recorded: the same Idempotency-Key resumes it (503, or 504 after a slow call). */
export function retryLater(order: Order, message: string, retryAfterSeconds: number, failure?: CallFailure): AppError {
  if (failure) return callFailureToAppError(failure, retryAfterSeconds, { message, extra: { orderId: order.id }, retrySafe: true });
  return new AppError('UPSTREAM_UNAVAILABLE', message, { ...about(order), retryAfterSeconds });
}

/** A read of the POS system failed on the way to a retry-safe answer: retry later; anything else (a refusal) passes through. */
export function retryLaterAfter(order: Order, message: string, retryAfterSeconds: number, error: unknown): unknown {
  return failedCallToAppError(error, retryAfterSeconds, { message, extra: { orderId: order.id }, retrySafe: true });
}

/** The upstream proved it never created the order: the order is failed and the basket reopened. */
export const orderCreationUnavailable = (failure: CallFailure, retryAfterSeconds: number) =>
  callFailureToAppError(failure, retryAfterSeconds, {
    message: 'The POS system is unavailable; nothing was charged and the basket is open again',
  });

/** Completing a paid order upstream failed; the order stays paid, and a retry or the reconciler completes it. */
export const completionFailed = (order: Order, cause: unknown, retryAfterSeconds: number) =>
  failedCallToAppError(cause, retryAfterSeconds, { ...about(order), retrySafe: true });

/** The upstream refused to create the order as asked (a status that blames the request). */
export const orderCreationRefused = (order: Order, status: number) =>
  new AppError('UPSTREAM_ERROR', `The POS system refused to create the order (status ${status})`, about(order));

export const cannotCancel = (order: Order) =>
  stateConflict(
    order,
    `The order is ${order.state}: only an unpaid order can be cancelled${CHARGED_STATES.includes(order.state) ? ' (refund it instead)' : ''}`,
  );

export const upstreamOrderFailed = (order: Order) =>
  new AppError('UPSTREAM_ERROR', 'The POS system has cancelled this order; nothing was charged and the basket is open again', about(order));

export const totalMismatch = (order: Order) =>
  new AppError('UPSTREAM_ERROR', 'The POS system recorded a different total; the order is cancelled and nothing was charged', about(order));
