import type { CallOptions } from '../upstream/client';
import type { CreateOrderResult, CreatePaymentResult, RefundResult, UpstreamOrder, UpstreamPayment } from '../upstream/pos-api';

/**
 * The upstream's orders as ordering uses them. PosApi (lib/upstream/pos-api.ts)
 * serves it over HTTP; unit tests use an in-memory fake (tests/support/fakes.ts).
 */
export interface UpstreamOrderGateway {
  /**
   * POST /orders/ with `orderId` as its order_id (each send of a checkout its own, so creations that all
   * land stay apart) and the checkout's correlation value, by which GET /orders/ finds it again.
   */
  createOrder(order: { orderId: string; correlation: string; total: number }, options: CallOptions): Promise<CreateOrderResult>;
  /** The upstream orders carrying a checkout's correlation value (its basket_id). */
  findOrdersByCorrelation(correlation: string, options: CallOptions): Promise<UpstreamOrder[]>;
  /** undefined when the upstream does not know the order. */
  setOrderStatus(upstreamOrderId: string, status: 'completed' | 'failed', options: CallOptions): Promise<UpstreamOrder | undefined>;
}

/** The upstream's payments: charging, reading one back, refunding. PosApi serves it too. */
export interface PaymentGateway {
  createPayment(payment: { upstreamOrderId: string; amount: number }, options: CallOptions): Promise<CreatePaymentResult>;
  /** undefined when the upstream does not know the payment. */
  getPayment(paymentId: string, options: CallOptions): Promise<UpstreamPayment | undefined>;
  refundPayment(paymentId: string, options: CallOptions): Promise<RefundResult>;
}
