import type { CallContext, CallFailure } from '../call';

/**
 * The POS system's orders and payments as ordering thinks of them: amounts in
 * minor units, and every answer to a call that changes money or creates a
 * record saying whether it proved that nothing was applied. The adapter
 * (lib/upstream/pos-api.ts) maps the wire format and the transport's failures
 * onto these; unit tests use an in-memory fake (tests/support/fakes/).
 *
 * Reads and repeatable writes (finding orders, reading a payment, setting an
 * order's status) throw CallFailedError (lib/call.ts) when the POS system
 * gives no usable answer, and an AppError when it refuses the request.
 */

/** An order as the POS system holds it. */
export interface UpstreamOrder {
  id: string;
  totalMinor: number;
  status: 'pending' | 'completed' | 'failed';
}

/** A payment as the POS system holds it. */
export interface UpstreamPayment {
  id: string;
  amountMinor: number;
  status: 'pending' | 'completed' | 'failed' | 'refunded';
  /** The upstream order it pays, when the POS system says. */
  upstreamOrderId?: string;
}

/** No usable answer, and it proves the POS system applied nothing: the call may be made again. */
export type NoEffect = { kind: 'no_effect'; failure: CallFailure };
/** No usable answer, and the call may have been applied: nothing may be assumed, either way. */
export type Ambiguous = { kind: 'ambiguous'; failure: CallFailure };

export type CreateOrderAnswer =
  | { kind: 'created'; order: UpstreamOrder }
  /** The order id is taken: an earlier send of this checkout landed (GET /orders/ tells which). */
  | { kind: 'already_exists' }
  /** Refused with a status that says the request was wrong, not the POS system unwell. */
  | { kind: 'refused'; status: number }
  | NoEffect
  | Ambiguous;

export type PaymentAnswer =
  /** Accepted with an id: completed, pending (follow it up), failed (nothing charged) or, oddly, refunded. */
  | { kind: 'accepted'; payment: UpstreamPayment }
  | { kind: 'declined' }
  | NoEffect
  /** Includes any answer the contract does not document as "no effect", and a success without a readable payment. */
  | Ambiguous;

export type RefundAnswer =
  /** Answered with the payment as it now is, when the answer showed it. */
  | { kind: 'answered'; payment: UpstreamPayment | undefined }
  /** The POS system does not know the payment by this id (any more): reading it decides. */
  | { kind: 'not_found' }
  | NoEffect
  /** Includes any status that proves nothing: reading the payment decides. */
  | Ambiguous;

export interface UpstreamOrderGateway {
  /**
   * Creates an order with `orderId` as its id (each send of a checkout its
   * own, so creations that all land stay apart) and the checkout's
   * correlation value, by which findOrdersByCorrelation finds it again.
   */
  createOrder(order: { orderId: string; correlation: string; totalMinor: number }, call: CallContext): Promise<CreateOrderAnswer>;
  /** The POS orders carrying a checkout's correlation value. */
  findOrdersByCorrelation(correlation: string, call: CallContext): Promise<UpstreamOrder[]>;
  /** undefined when the POS system does not know the order. */
  setOrderStatus(upstreamOrderId: string, status: 'completed' | 'failed', call: CallContext): Promise<UpstreamOrder | undefined>;
}

export interface PaymentGateway {
  createPayment(payment: { upstreamOrderId: string; amountMinor: number }, call: CallContext): Promise<PaymentAnswer>;
  /** undefined when the POS system does not know the payment as the caller's. */
  getPayment(paymentId: string, call: CallContext): Promise<UpstreamPayment | undefined>;
  /** Sent once: never repeated after an ambiguous answer. */
  refundPayment(paymentId: string, call: CallContext): Promise<RefundAnswer>;
}
