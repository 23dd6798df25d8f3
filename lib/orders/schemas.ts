import { z } from 'zod';
import { ifMatchHeaders } from '../baskets/schemas';
import { idempotencyKeySchema } from '../idempotency/key';
import { NEXT_ACTIONS, ORDER_STATES, PAYMENT_STATES, type NextAction, type OrderState, type PaymentState } from './state-machine';

export const orderParams = z.strictObject({ orderId: z.uuid({ message: 'Must be a UUID' }) });

export const idempotentHeaders = ifMatchHeaders.extend({ 'idempotency-key': idempotencyKeySchema.optional() });

/** POST /baskets/{id}/orders: no body (or `pay: true`) orders and pays; `pay: false` prepares the order for POST /orders/{id}/payments. */
export const checkoutBody = z
  .strictObject({
    pay: z.boolean().default(true).describe('false prepares the order (created upstream, not paid) for POST /orders/{orderId}/payments'),
  })
  .optional();

/** The Idempotency-Key every paying request must carry: missing is 400, malformed is 422 (by the schema). */
/** An order as replies show it (lib/orders/order.ts orderView builds it). */
export const orderView = z
  .object({
    id: z.uuid(),
    basketId: z.uuid(),
    status: z.enum(ORDER_STATES as [OrderState, ...OrderState[]]),
    total: z.int().describe('Gross total charged, integer minor units'),
    paymentId: z.string().nullable().describe("The upstream payment's id once a payment was made"),
    paymentAttempts: z.int().min(0),
    paymentState: z.enum(PAYMENT_STATES as [PaymentState, ...PaymentState[]]).describe("What the order means for the customer's money"),
    nextActions: z
      .array(z.enum(NEXT_ACTIONS as [NextAction, ...NextAction[]]))
      .describe(
        'What the terminal may do next: retry_checkout (the same Idempotency-Key), pay (POST /orders/{orderId}/payments), cancel (DELETE /orders/{orderId}), wait (and read it again), refund (POST /orders/{orderId}/refund), ask_operator (the payment outcome is unknown)',
      ),
    lastError: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/)
      .optional()
      .describe(
        'Why the order failed or is unknown, when it did: a stable code (CANCELLED, ABANDONED, PAYMENT_DECLINED, PAYMENT_STATUS_UNKNOWN, UPSTREAM_UNAVAILABLE, RESOLVED_NOT_CHARGED, …)',
      ),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Order' });

/** GET /orders: the caller's orders, newest first. */
export const orderListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().max(512).optional().describe('nextCursor of the previous page'),
  state: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const states = value.split(',');
      const unknown = states.filter((state) => !ORDER_STATES.includes(state as OrderState));
      if (unknown.length > 0)
        ctx.addIssue({
          code: 'custom',
          message: `Unknown order state ${unknown.join(', ')}; one or more (comma-separated) of ${ORDER_STATES.join(', ')}`,
        });
      return states as OrderState[];
    })
    .describe('Only orders in these states, comma-separated'),
  basketId: z.uuid({ message: 'Must be a UUID' }).optional().describe("Only this basket's orders"),
});

export const orderPageView = z.object({ orders: z.array(orderView), nextCursor: z.string().nullable() }).meta({ id: 'OrderPage' });

export type OrderView = z.output<typeof orderView>;

/** POST /operator/orders/{orderId}/resolution */
export const resolutionBody = z
  .strictObject({
    outcome: z
      .enum(['charged', 'not_charged', 'refunded'])
      .describe(
        'What the operator established with the payment provider: the customer was charged, was not, or (an order stuck refunding) got the money back',
      ),
    paymentId: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe('charged only: the upstream payment id, checked with the POS system; it makes the order refundable'),
    reason: z.string().min(1).max(1000).describe('Why: what was checked, and where'),
  })
  .refine((body) => body.outcome === 'charged' || body.paymentId === undefined, {
    message: 'A payment id only goes with outcome charged',
    path: ['paymentId'],
  });

export const resolutionView = z
  .object({
    orderId: z.uuid(),
    resolvedFrom: z.enum(['unknown', 'paying', 'paid', 'refunding']).describe('The state the order was resolved from'),
    outcome: z.enum(['charged', 'not_charged', 'refunded']),
    paymentId: z.string().nullable(),
    reason: z.string(),
    resolvedBy: z.string(),
    resolvedAt: z.iso.datetime(),
  })
  .meta({ id: 'Resolution' });

export const operatorOrderView = orderView
  .extend({
    ownerId: z.string(),
    lastErrorDetail: z.string().optional().describe('The whole story behind lastError (upstream statuses, payment ids)'),
    resolution: resolutionView.optional(),
  })
  .meta({ id: 'OperatorOrder' });

export const operatorOrderPageView = z
  .object({ orders: z.array(operatorOrderView), nextCursor: z.string().nullable() })
  .meta({ id: 'OperatorOrderPage' });

export const operatorListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().max(512).optional().describe('nextCursor of the previous page'),
});
