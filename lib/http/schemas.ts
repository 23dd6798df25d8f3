import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../errors';

export const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

/** Every error answer: `{ "error": { code, message, details?, … } }` (lib/http/error-response.ts renders it). */
export const errorEnvelope = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).describe('Stable; see the table of codes'),
      message: z.string().describe('For people; may change'),
      details: z
        .array(z.looseObject({ path: z.string().optional().describe('e.g. body.quantity, headers.if-match'), message: z.string() }))
        .optional()
        .describe('VALIDATION_FAILED: one entry per invalid field'),
      orderId: z.uuid().optional().describe('The order the error is about (PAYMENT_DECLINED, PAYMENT_STATUS_UNKNOWN, BASKET_LOCKED, …)'),
      currentVersion: z.int().optional().describe("VERSION_MISMATCH: the basket's current version"),
    }),
  })
  .meta({ id: 'Error' });

export const healthView = z.object({ status: z.literal('ok'), database: z.literal('ok') }).meta({ id: 'Health' });
