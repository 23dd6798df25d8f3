import { z } from 'zod';
import { failedCallToAppError, type CallContext } from '../call';
import { toMainUnits, toMinorUnits } from '../domain/money';
import { AppError } from '../errors';
import type {
  Ambiguous,
  CreateOrderAnswer,
  NoEffect,
  PaymentAnswer,
  PaymentGateway,
  RefundAnswer,
  UpstreamOrder,
  UpstreamOrderGateway,
  UpstreamPayment,
} from '../orders/ports';
import type { CallOptions, UpstreamResponse, UpstreamTransport } from './client';
import { UpstreamCallError, type CallKind } from './outcome';

/** Ids are opaque: the contract types some as numbers, the hosted API answers strings. */
const upstreamId = z.union([z.string().min(1), z.number()]).transform(String);

export const upstreamProductSchema = z.object({
  id: upstreamId,
  name: z.string(),
  vat_rate: z.number().min(0).max(1),
  price_unit: z.number().min(0),
});
export type UpstreamProduct = z.infer<typeof upstreamProductSchema>;

const wireOrderSchema = z.object({
  id: upstreamId,
  amount_total: z.number(),
  basket_id: z.string().nullish(),
  status: z.enum(['pending', 'completed', 'failed']),
});
type WireOrder = z.infer<typeof wireOrderSchema>;

const wirePaymentSchema = z.object({
  id: upstreamId,
  amount: z.number(),
  status: z.enum(['pending', 'completed', 'failed', 'refunded']),
  /** The upstream order the payment is for (checked against ours when the upstream says). */
  order_id: upstreamId.optional(),
});
type WirePayment = z.infer<typeof wirePaymentSchema>;

const fromWireOrder = (order: WireOrder): UpstreamOrder => ({
  id: order.id,
  totalMinor: toMinorUnits(order.amount_total),
  status: order.status,
});

const fromWirePayment = (payment: WirePayment): UpstreamPayment => ({
  id: payment.id,
  amountMinor: toMinorUnits(payment.amount),
  status: payment.status,
  ...(payment.order_id === undefined ? {} : { upstreamOrderId: payment.order_id }),
});

/** A money call's failure as its answer: proved no effect, or ambiguous. */
function unanswered(error: unknown): NoEffect | Ambiguous {
  if (!(error instanceof UpstreamCallError)) throw error;
  return { kind: error.failure.effect === 'none' ? 'no_effect' : 'ambiguous', failure: error.failure };
}

/** An answer that proves nothing either way, as an ambiguous one. */
const unclear = (detail: string): Ambiguous => ({ kind: 'ambiguous', failure: { effect: 'unknown', reason: 'error', detail } });

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
 * caller's 502/503/504 directly. Order and payment calls serve ordering's
 * ports (lib/orders/ports.ts): amounts in minor units, and the calls that
 * change money answer whether a failure proved that nothing was applied;
 * what to do then is the ordering use-case's decision.
 */
export class PosApi implements UpstreamOrderGateway, PaymentGateway {
  constructor(readonly client: UpstreamTransport) {}

  /** Runs a call and turns transport failures into the caller's 502/503/504. */
  async send(method: string, path: string, body: unknown, options: CallOptions): Promise<UpstreamResponse> {
    try {
      return await this.client.call(method, path, body, options);
    } catch (error) {
      throw failedCallToAppError(error, this.client.retryAfterSeconds);
    }
  }

  /** A call that changes money or creates a record: a failure is its answer (proved no effect, or ambiguous), never thrown. */
  private async sendChange(
    method: string,
    path: string,
    body: unknown,
    call: CallContext,
    kind: CallKind,
  ): Promise<UpstreamResponse | NoEffect | Ambiguous> {
    try {
      return await this.client.call(method, path, body, { ...call, kind });
    } catch (error) {
      return unanswered(error);
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
    return parseUpstream(z.array(z.object({ user_id: z.string().optional() })), response, 'order list').every(
      (order) => order.user_id === undefined || order.user_id === userId,
    );
  }

  /**
   * POST /orders/ carrying `orderId` as `order_id` and our checkout's
   * correlation value as `basket_id`. The order's id is whatever the upstream
   * answers; the correlation is how GET /orders/ finds it again after an
   * ambiguous create. A success we cannot read is ambiguous: the order may exist.
   */
  async createOrder(order: { orderId: string; correlation: string; totalMinor: number }, call: CallContext): Promise<CreateOrderAnswer> {
    const body = { order_id: order.orderId, basket_id: order.correlation, total: toMainUnits(order.totalMinor) };
    const response = await this.sendChange('POST', '/orders/', body, call, 'create-order');
    if (!('status' in response)) return response;
    if (response.status === 409) return { kind: 'already_exists' };
    if (!isSuccess(response.status)) return { kind: 'refused', status: response.status };
    const parsed = wireOrderSchema.safeParse(response.body);
    return parsed.success
      ? { kind: 'created', order: fromWireOrder(parsed.data) }
      : unclear(`unreadable order (status ${response.status})`);
  }

  /** The caller's upstream orders that carry this correlation value (GET /orders/ lists all of them). */
  async findOrdersByCorrelation(correlation: string, call: CallContext): Promise<UpstreamOrder[]> {
    const response = await this.client.call('GET', '/orders/', undefined, call);
    if (!isSuccess(response.status)) throw unexpectedStatus(response, 'list the orders');
    return parseUpstream(z.array(wireOrderSchema), response, 'order list')
      .filter((order) => order.basket_id === correlation)
      .map(fromWireOrder);
  }

  /** PATCH /orders/{id}; undefined when the upstream does not know the order. */
  async setOrderStatus(upstreamOrderId: string, status: 'completed' | 'failed', call: CallContext): Promise<UpstreamOrder | undefined> {
    const response = await this.client.call('PATCH', `/orders/${encodeURIComponent(upstreamOrderId)}`, { status }, call);
    if (response.status === 404) return undefined;
    if (!isSuccess(response.status)) throw unexpectedStatus(response, `mark the order ${status}`);
    return fromWireOrder(parseUpstream(wireOrderSchema, response, 'order'));
  }

  /**
   * POST /payments/. Only 402 is a decline; any other status but a success,
   * and a success without a readable payment, prove nothing either way.
   */
  async createPayment(payment: { upstreamOrderId: string; amountMinor: number }, call: CallContext): Promise<PaymentAnswer> {
    const body = { order_id: payment.upstreamOrderId, amount: toMainUnits(payment.amountMinor) };
    const response = await this.sendChange('POST', '/payments/', body, call, 'create-payment');
    if (!('status' in response)) return response;
    if (response.status === 402) return { kind: 'declined' };
    if (!isSuccess(response.status)) return unclear(`status ${response.status}`);
    const parsed = wirePaymentSchema.safeParse(response.body);
    if (!parsed.success) return unclear(`unreadable payment (status ${response.status})`);
    return { kind: 'accepted', payment: fromWirePayment(parsed.data) };
  }

  /** The payment, or undefined when the upstream does not know it as the caller's (404, or 403: another user's). */
  async getPayment(paymentId: string, call: CallContext): Promise<UpstreamPayment | undefined> {
    const response = await this.client.call('GET', `/payments/${encodeURIComponent(paymentId)}`, undefined, call);
    if (response.status === 404 || response.status === 403) return undefined;
    if (!isSuccess(response.status)) throw unexpectedStatus(response, 'look up the payment');
    return fromWirePayment(parseUpstream(wirePaymentSchema, response, 'payment'));
  }

  /** DELETE /payments/{id}, sent once: never repeated after an ambiguous failure (see retry-policy). */
  async refundPayment(paymentId: string, call: CallContext): Promise<RefundAnswer> {
    const response = await this.sendChange('DELETE', `/payments/${encodeURIComponent(paymentId)}`, undefined, call, 'refund');
    if (!('status' in response)) return response;
    if (response.status === 404) return { kind: 'not_found' };
    if (!isSuccess(response.status)) return unclear(`status ${response.status}`);
    const parsed = wirePaymentSchema.safeParse(response.body);
    return { kind: 'answered', payment: parsed.success ? fromWirePayment(parsed.data) : undefined };
  }
}
