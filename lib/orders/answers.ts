import { paymentDeclined, paymentStatusUnknown, requestInProgress, stateConflict } from './errors';
import type { Order } from './order';
import { CHARGED_STATES } from './state-machine';

/**
 * The caller's answer for an order that needs no further step now: the
 * order itself when paid, otherwise the error that says what happened.
 * `stillPaying`: the upstream still has the payment pending, and the route
 * answers 202 with the order.
 */
export function answerFor(order: Order, options: { stillPaying?: boolean } = {}): Order {
  switch (order.state) {
    case 'paid':
    case 'completed':
    case 'refunding':
    case 'refunded':
      return order;
    case 'paying':
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

/** Paying again is only for an order not charged: anything charged, unknown or cancelled is a conflict. */
export function answerForPayingAgain(order: Order): Order {
  if (CHARGED_STATES.includes(order.state)) throw stateConflict(order, `The order is already ${order.state}`);
  if (order.state === 'unknown')
    throw stateConflict(order, 'The outcome of an earlier payment is unknown; the order cannot be paid again until it is checked');
  return answerFor(order);
}
