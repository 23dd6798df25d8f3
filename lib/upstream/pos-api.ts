import { z } from 'zod';
import { AppError } from '../errors';
import type { CallOptions, UpstreamResponse, UpstreamTransport } from './client';
import { upstreamFailureToAppError } from './errors';

/** Ids are opaque: the contract types some as numbers, the hosted API answers strings. */
const upstreamId = z.union([z.string().min(1), z.number()]).transform(String);

export const upstreamProductSchema = z.object({
  id: upstreamId,
  name: z.string(),
  vat_rate: z.number().min(0).max(1),
  price_unit: z.number().min(0),
});
export type UpstreamProduct = z.infer<typeof upstreamProductSchema>;

export const upstreamOrderSchema = z.object({
  id: upstreamId,
  amount_total: z.number(),
  basket_id: z.string().nullish(),
  status: z.enum(['pending', 'completed', 'failed']),
});
export type UpstreamOrder = z.infer<typeof upstreamOrderSchema>;

export const upstreamPaymentSchema = z.object({
  id: upstreamId,
  amount: z.number(),
  status: z.enum(['pending', 'completed', 'failed', 'refunded']),
  /** The upstream order the payment is for (checked against ours when the upstream says). */
  order_id: upstreamId.optional(),
});
export type UpstreamPayment = z.infer<typeof upstreamPaymentSchema>;

export type CreateOrderResult = { kind: 'created'; order: UpstreamOrder } | { kind: 'already_exists' };

export type CreatePaymentResult =
  /** Accepted with an id: completed, pending (follow it up), failed (nothing charged) or, oddly, refunded. */
  | { kind: 'accepted'; payment: UpstreamPayment }
  | { kind: 'declined' }
  /**
   * A 2xx we cannot read an id from, or a status the contract does not document as "no effect" (any
   * 4xx but 402): the charge is unproven either way, and cannot be followed up.
   */
  | { kind: 'unclear'; detail: string };

export type RefundResult =
  | { kind: 'answered'; payment: UpstreamPayment | undefined }
  /** 404: the upstream no longer (or never) knows the payment by this id; reading it decides. */
  | { kind: 'not_found' }
  /** Any other status: nothing proves the refund was not applied; reading the payment decides. */
  | { kind: 'unclear'; status: number };

const isSuccess = (status: number) => status >= 200 && status < 300;

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
 * Typed calls to the upstream POS API; shapes are checked, never trusted, and
 * any 2xx counts as success. Catalogue reads turn transport failures into the
 * caller's 502/503/504 directly. Order and payment calls let UpstreamCallError
 * through: what to do after an ambiguous failure is the ordering use-case's decision.
 */
export class PosApi {
  constructor(readonly client: UpstreamTransport) {}

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
    if (!isSuccess(response.status)) throw unexpectedStatus(response, 'list products');
    return parseUpstream(z.array(upstreamProductSchema), response, 'product list');
  }

  /** One product, or undefined when the upstream does not know it. */
  async getProduct(id: string, options: CallOptions): Promise<UpstreamProduct | undefined> {
    const response = await this.send('GET', `/products/${encodeURIComponent(id)}`, undefined, options);
    if (response.status === 404) return undefined;
    if (!isSuccess(response.status)) throw unexpectedStatus(response, 'look up a product');
    return parseUpstream(upstreamProductSchema, response, 'product');
  }

  /** Whether the upstream accepts the token: one cheap authenticated read. */
  /**
   * Whether the upstream accepts the caller's token as `userId`: GET /orders/
   * answers only the token's own user's orders, so a 401/403 refuses the
   * token and an order of anyone else means the token is not that user's.
   */
  async vouchesFor(userId: string, options: CallOptions): Promise<boolean> {
    const response = await this.send('GET', '/orders/', undefined, options);
    if (response.status === 401 || response.status === 403) return false;
    if (!isSuccess(response.status)) throw unexpectedStatus(response, 'check the token');
    return parseUpstream(z.array(z.object({ user_id: z.string().optional() })), response, 'order list').every((order) => order.user_id === undefined || order.user_id === userId);
  }

  /**
   * POST /orders/ carrying `orderId` as `order_id` and our checkout's
   * correlation value as `basket_id`. The order's id is whatever the upstream
   * answers; the correlation is how GET /orders/ finds it again after an
   * ambiguous create.
   */
  async createOrder(order: { orderId: string; correlation: string; total: number }, options: CallOptions): Promise<CreateOrderResult> {
    const body = { order_id: order.orderId, basket_id: order.correlation, total: order.total };
    const response = await this.client.call('POST', '/orders/', body, { ...options, kind: 'create-order' });
    if (isSuccess(response.status)) return { kind: 'created', order: parseUpstream(upstreamOrderSchema, response, 'order') };
    if (response.status === 409) return { kind: 'already_exists' };
    throw unexpectedStatus(response, 'create the order');
  }

  /** The caller's upstream orders that carry this correlation value (GET /orders/ lists all of them). */
  async findOrdersByCorrelation(correlation: string, options: CallOptions): Promise<UpstreamOrder[]> {
    const response = await this.client.call('GET', '/orders/', undefined, options);
    if (!isSuccess(response.status)) throw unexpectedStatus(response, 'list the orders');
    return parseUpstream(z.array(upstreamOrderSchema), response, 'order list').filter((order) => order.basket_id === correlation);
  }

  /** PATCH /orders/{id}; undefined when the upstream does not know the order. */
  async setOrderStatus(upstreamOrderId: string, status: 'completed' | 'failed', options: CallOptions): Promise<UpstreamOrder | undefined> {
    const response = await this.client.call('PATCH', `/orders/${encodeURIComponent(upstreamOrderId)}`, { status }, options);
    if (response.status === 404) return undefined;
    if (!isSuccess(response.status)) throw unexpectedStatus(response, `mark the order ${status}`);
    return parseUpstream(upstreamOrderSchema, response, 'order');
  }

  async createPayment(payment: { upstreamOrderId: string; amount: number }, options: CallOptions): Promise<CreatePaymentResult> {
    const body = { order_id: payment.upstreamOrderId, amount: payment.amount };
    const response = await this.client.call('POST', '/payments/', body, { ...options, kind: 'create-payment' });
    if (response.status === 402) return { kind: 'declined' };
    if (!isSuccess(response.status)) return { kind: 'unclear', detail: `status ${response.status}` };
    const parsed = upstreamPaymentSchema.safeParse(response.body);
    if (!parsed.success) return { kind: 'unclear', detail: `unreadable payment (status ${response.status})` };
    return { kind: 'accepted', payment: parsed.data };
  }

  /** The payment, or undefined when the upstream does not know it as the caller's (404, or 403: another user's). */
  async getPayment(paymentId: string, options: CallOptions): Promise<UpstreamPayment | undefined> {
    const response = await this.client.call('GET', `/payments/${encodeURIComponent(paymentId)}`, undefined, options);
    if (response.status === 404 || response.status === 403) return undefined;
    if (!isSuccess(response.status)) throw unexpectedStatus(response, 'look up the payment');
    return parseUpstream(upstreamPaymentSchema, response, 'payment');
  }

  /** DELETE /payments/{id}, sent once: never repeated after an ambiguous failure (see retry-policy). */
  async refundPayment(paymentId: string, options: CallOptions): Promise<RefundResult> {
    const response = await this.client.call('DELETE', `/payments/${encodeURIComponent(paymentId)}`, undefined, { ...options, kind: 'refund' });
    if (response.status === 404) return { kind: 'not_found' };
    if (!isSuccess(response.status)) return { kind: 'unclear', status: response.status };
    const parsed = upstreamPaymentSchema.safeParse(response.body);
    return { kind: 'answered', payment: parsed.success ? parsed.data : undefined };
  }
}
