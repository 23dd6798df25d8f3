import type { OrderView } from './schemas';
import { nextActionsOf, paymentStateOf, type OrderState } from './state-machine';

export interface Order {
  id: string;
  ownerId: string;
  basketId: string;
  state: OrderState;
  totalMinor: number;
  openedByKey: string;
  /** The upstream's id for the order, once it is known (not necessarily ours). */
  upstreamOrderId: string | null;
  paymentId: string | null;
  paymentAttempts: number;
  lastError: string | null;
  /** The owner's upstream token, sealed (lib/credentials.ts), while background work may need it. */
  ownerTokenSealed: string | null;
  /** When GET /orders/ is next checked for duplicates a lost create may have left. */
  duplicateCheckAt: Date | null;
  /** When the latest POST /orders/ of this checkout was sent (recorded just before), and how many were. */
  createSentAt: Date | null;
  createsSent: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The order as JSON (without the owner's token), as an answer stored with a payment's outcome keeps it; see orderFromJson. */
export type OrderJson = {
  [K in keyof Omit<Order, 'ownerTokenSealed'>]: Order[K] extends Date ? string : Order[K] extends Date | null ? string | null : Order[K];
};

/** An order stored as JSON (an answer kept for an Idempotency-Key), with its times as Dates again. */
export function orderFromJson(json: Record<string, unknown>): Order {
  const order = json as OrderJson;
  const time = (value: string | null) => (value === null ? null : new Date(value));
  return {
    ...order,
    ownerTokenSealed: null,
    duplicateCheckAt: time(order.duplicateCheckAt),
    createSentAt: time(order.createSentAt),
    createdAt: new Date(order.createdAt),
    updatedAt: new Date(order.updatedAt),
  };
}

/** The upstream's id for the order; orders recorded before upstream ids were kept used ours upstream. */
export function upstreamIdOf(order: Order): string {
  return order.upstreamOrderId ?? order.id;
}

/** completed: charged; declined: nothing charged; no_charge: proved not applied (or never sent); unknown: nobody can tell yet. */
export type PaymentOutcome = 'completed' | 'declined' | 'no_charge' | 'unknown';

/**
 * What a terminal sees of why an order failed or is unknown: the stable code
 * our last_error starts with (`PAYMENT_STATUS_UNKNOWN: …` shows as
 * `PAYMENT_STATUS_UNKNOWN`), never the detail behind it (upstream statuses,
 * payment ids, who resolved it); operators see that in their own routes.
 */
export function lastErrorCode(lastError: string): string {
  const code = lastError.split(':', 1)[0]!.trim();
  return /^[A-Z][A-Z0-9_]*$/.test(code) ? code : 'FAILED';
}

/** The order as our API shows it; money in integer minor units. */
export function orderView(order: Order): OrderView {
  return {
    id: order.id,
    basketId: order.basketId,
    status: order.state,
    total: order.totalMinor,
    paymentId: order.paymentId,
    paymentAttempts: order.paymentAttempts,
    paymentState: paymentStateOf(order.state),
    nextActions: nextActionsOf(order.state, order.paymentId !== null),
    ...(order.lastError ? { lastError: lastErrorCode(order.lastError) } : {}),
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}
