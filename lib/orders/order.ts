import type { OrderView } from './schemas';
import type { OrderState } from './state-machine';

export interface Order {
  id: string;
  ownerId: string;
  basketId: string;
  state: OrderState;
  totalMinor: number;
  openedByKey: string;
  paymentId: string | null;
  paymentAttempts: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type PaymentOutcome = 'completed' | 'declined' | 'no_charge' | 'unknown';

/** The order as our API shows it; money in integer minor units. */
export function orderView(order: Order): OrderView {
  return {
    id: order.id,
    basketId: order.basketId,
    status: order.state,
    total: order.totalMinor,
    paymentId: order.paymentId,
    paymentAttempts: order.paymentAttempts,
    ...(order.lastError ? { lastError: order.lastError } : {}),
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}
