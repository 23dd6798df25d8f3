import { z } from 'zod';
import { ifMatchHeaders } from '../baskets/schemas';
import { AppError } from '../errors';
import { idempotencyKeySchema } from '../idempotency/key';
import { ORDER_STATES, type OrderState } from './state-machine';

export const orderParams = z.strictObject({ orderId: z.uuid({ message: 'Must be a UUID' }) });

export const idempotentHeaders = ifMatchHeaders.extend({ 'idempotency-key': idempotencyKeySchema.optional() });

/** POST /baskets/{id}/orders: no body (or `pay: true`) orders and pays; `pay: false` prepares the order for POST /orders/{id}/payments. */
export const checkoutBody = z
  .strictObject({
    pay: z.boolean().default(true).describe('false prepares the order (created upstream, not paid) for POST /orders/{orderId}/payments'),
  })
  .optional();

/** The Idempotency-Key every paying request must carry: missing is 400, malformed is 422 (by the schema). */
export function requireIdempotencyKey(headers: { 'idempotency-key'?: string }): string {
  const key = headers['idempotency-key'];
  if (!key) {
    throw new AppError('IDEMPOTENCY_KEY_MISSING', 'This request needs an Idempotency-Key header (a unique value per checkout attempt, reused on retries)');
  }
  return key;
}

/** An order as replies show it (lib/orders/order.ts orderView builds it). */
export const orderView = z
  .object({
    id: z.uuid(),
    basketId: z.uuid(),
    status: z.enum(ORDER_STATES as [OrderState, ...OrderState[]]),
    total: z.int().describe('Gross total charged, integer minor units'),
    paymentId: z.string().nullable().describe("The upstream payment's id once a payment was made"),
    paymentAttempts: z.int().min(0),
    lastError: z.string().optional().describe('Why the order failed or is unknown, when it did'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Order' });

export type OrderView = z.output<typeof orderView>;
