import type { Caller } from '../auth';
import { AppError } from '../errors';
import type { CallOptions } from '../upstream/client';
import { upstreamFailureToAppError } from '../upstream/errors';
import type { PosApi } from '../upstream/pos-api';
import type { Checkout } from './checkout';
import type { Order } from './order';
import type { OrderRepository } from './repository';

/**
 * Refunds a completed order: completed → refunding (recorded first), then
 * DELETE /payments/{id} upstream, then refunded. Repeating the request, or the
 * reconciler, resumes a refund left in refunding; a refunded order is simply
 * returned, so the call is idempotent.
 */
export class Refunds {
  constructor(
    private readonly orders: OrderRepository,
    private readonly api: PosApi,
    private readonly checkout: Checkout,
    private readonly retryAfterSeconds: number,
  ) {}

  async refund(caller: Caller, orderId: string, call: CallOptions): Promise<Order> {
    let order = await this.orders.find(caller.userId, orderId);
    if (!order) throw new AppError('ORDER_NOT_FOUND', 'Order not found');
    if (order.state === 'paid') order = await this.checkout.complete(order, call);
    if (order.state === 'completed') order = (await this.orders.transition(order.id, ['completed'], 'refunding')) ?? (await this.orders.findById(orderId))!;
    if (order.state === 'refunding') return this.finishRefund(order, call);
    if (order.state === 'refunded') return order;
    throw new AppError('ORDER_STATE_CONFLICT', `Only a completed order can be refunded; this one is ${order.state}`, { extra: { orderId } });
  }

  /** Sends (or re-sends) the refund for an order in refunding and records it. */
  async finishRefund(order: Order, call: CallOptions): Promise<Order> {
    const paymentId = order.paymentId;
    if (!paymentId) throw new Error(`Order ${order.id} is refunding without a payment id`);
    let payment;
    try {
      payment = (await this.api.refundPayment(paymentId, call)) ?? (await this.api.getPayment(paymentId, call));
      if (payment?.status !== 'refunded') payment = await this.api.getPayment(paymentId, call);
    } catch (error) {
      throw upstreamFailureToAppError(error, this.retryAfterSeconds);
    }
    if (payment?.status !== 'refunded') {
      throw new AppError('UPSTREAM_ERROR', `The POS system did not refund payment ${paymentId} (status ${payment?.status ?? 'missing'})`, { extra: { orderId: order.id } });
    }
    return (await this.orders.transition(order.id, ['refunding'], 'refunded')) ?? (await this.orders.findById(order.id))!;
  }
}
