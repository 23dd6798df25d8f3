import { z } from 'zod';
import { AppError } from '../errors';
import type { CallOptions, UpstreamClient, UpstreamResponse } from './client';
import { upstreamFailureToAppError } from './errors';

export const upstreamProductSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  name: z.string(),
  vat_rate: z.number().min(0).max(1),
  price_unit: z.number().min(0),
});
export type UpstreamProduct = z.infer<typeof upstreamProductSchema>;

export const upstreamOrderSchema = z.object({
  id: z.string(),
  amount_total: z.number(),
  status: z.enum(['pending', 'completed', 'failed']),
});
export type UpstreamOrder = z.infer<typeof upstreamOrderSchema>;

export const upstreamPaymentSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  amount: z.number(),
  status: z.enum(['pending', 'completed', 'failed', 'refunded']),
  order_id: z.string(),
});
export type UpstreamPayment = z.infer<typeof upstreamPaymentSchema>;

export type CreateOrderResult = { kind: 'created'; order: UpstreamOrder } | { kind: 'already_exists' };
export type CreatePaymentResult =
  | { kind: 'completed'; payment: UpstreamPayment }
  | { kind: 'declined' }
  /** A 4xx other than 402: the upstream refused the request, so nothing was charged. */
  | { kind: 'refused'; status: number }
  /** Accepted, but not as a completed payment we can read: the charge is unproven either way. */
  | { kind: 'unclear'; detail: string };

function parseUpstream<T>(schema: z.ZodType<T>, response: UpstreamResponse, what: string): T {
  const parsed = schema.safeParse(response.body);
  if (!parsed.success) {
    throw new AppError('UPSTREAM_ERROR', `The POS system sent an unexpected ${what}`, { cause: parsed.error });
  }
  return parsed.data;
}

function unexpectedStatus(response: UpstreamResponse, what: string): AppError {
  return new AppError('UPSTREAM_ERROR', `The POS system refused to ${what} (status ${response.status})`);
}

/**
 * Typed calls to the upstream POS API; shapes are checked, never trusted.
 * Catalogue reads turn transport failures into the caller's 502/503/504
 * directly. Order and payment calls let UpstreamCallError through: what to do
 * after an ambiguous failure is the ordering use-case's decision.
 */
export class PosApi {
  constructor(readonly client: UpstreamClient) {}

  /** Runs a call and turns transport failures into the caller's 502/503/504. */
  async send(method: string, path: string, body: unknown, options: CallOptions): Promise<UpstreamResponse> {
    try {
      return await this.client.call(method, path, body, options);
    } catch (error) {
      throw upstreamFailureToAppError(error, this.client.retryAfterSeconds);
    }
  }

  async listProducts(options: CallOptions): Promise<UpstreamProduct[]> {
    const response = await this.send('GET', '/products/', undefined, options);
    if (response.status !== 200) throw unexpectedStatus(response, 'list products');
    return parseUpstream(z.array(upstreamProductSchema), response, 'product list');
  }

  /** One product, or undefined when the upstream does not know it. */
  async getProduct(id: string, options: CallOptions): Promise<UpstreamProduct | undefined> {
    const response = await this.send('GET', `/products/${encodeURIComponent(id)}`, undefined, options);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw unexpectedStatus(response, 'look up a product');
    return parseUpstream(upstreamProductSchema, response, 'product');
  }

  async createOrder(order: { id: string; basketId: string; total: number }, options: CallOptions): Promise<CreateOrderResult> {
    const response = await this.client.call('POST', '/orders/', { order_id: order.id, basket_id: order.basketId, total: order.total }, { ...options, kind: 'create-order' });
    if (response.status === 201 || response.status === 200) return { kind: 'created', order: parseUpstream(upstreamOrderSchema, response, 'order') };
    if (response.status === 409) return { kind: 'already_exists' };
    throw unexpectedStatus(response, 'create the order');
  }

  /** The order with our id, or undefined when the upstream proves it does not exist. */
  async getOrder(orderId: string, options: CallOptions): Promise<UpstreamOrder | undefined> {
    const response = await this.client.call('GET', `/orders/${encodeURIComponent(orderId)}`, undefined, options);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw unexpectedStatus(response, 'look up the order');
    return parseUpstream(upstreamOrderSchema, response, 'order');
  }

  async setOrderStatus(orderId: string, status: 'completed' | 'failed', options: CallOptions): Promise<UpstreamOrder | undefined> {
    const response = await this.client.call('PATCH', `/orders/${encodeURIComponent(orderId)}`, { status }, options);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw unexpectedStatus(response, `mark the order ${status}`);
    return parseUpstream(upstreamOrderSchema, response, 'order');
  }

  async createPayment(payment: { orderId: string; amount: number }, options: CallOptions): Promise<CreatePaymentResult> {
    const response = await this.client.call('POST', '/payments/', { order_id: payment.orderId, amount: payment.amount }, { ...options, kind: 'create-payment' });
    if (response.status === 402) return { kind: 'declined' };
    if (response.status >= 400) return { kind: 'refused', status: response.status };
    const parsed = upstreamPaymentSchema.safeParse(response.body);
    if (!parsed.success) return { kind: 'unclear', detail: `unreadable payment (status ${response.status})` };
    if (parsed.data.status === 'completed') return { kind: 'completed', payment: parsed.data };
    if (parsed.data.status === 'failed') return { kind: 'declined' };
    return { kind: 'unclear', detail: `payment ${parsed.data.id} is ${parsed.data.status}` };
  }

  async getPayment(paymentId: string, options: CallOptions): Promise<UpstreamPayment | undefined> {
    const response = await this.client.call('GET', `/payments/${encodeURIComponent(paymentId)}`, undefined, options);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw unexpectedStatus(response, 'look up the payment');
    return parseUpstream(upstreamPaymentSchema, response, 'payment');
  }

  async refundPayment(paymentId: string, options: CallOptions): Promise<UpstreamPayment | undefined> {
    const response = await this.client.call('DELETE', `/payments/${encodeURIComponent(paymentId)}`, undefined, options);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw unexpectedStatus(response, 'refund the payment');
    return parseUpstream(upstreamPaymentSchema, response, 'payment');
  }
}
