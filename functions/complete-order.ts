import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { config } from '../lib/config';
import { observability } from '../lib/http/observability';
import { powertoolsLogger, rootLogger } from '../lib/logger';
import type { CompletionOutcome } from '../lib/orders/completion';
import { secretsLoaded } from '../lib/secrets';
import { services } from '../lib/services';

/** What a checkout hands over (lib/completion/lambda.ts): the order, and the paying request's id. Never a token. */
const completionEvent = z.object({
  orderId: z.uuid(),
  requestId: z
    .string()
    .regex(/^[\w.:-]{1,128}$/)
    .optional(),
});

type CompletionEvent = Partial<z.input<typeof completionEvent>> | null | undefined;

interface CompletionResult {
  orderId: string;
  outcome: CompletionOutcome | 'failed';
}

/**
 * Invoked asynchronously by a paid checkout before its reply (InvocationType
 * 'Event'): completes the order upstream and here, acting as its owner with
 * the token sealed beside it (lib/orders/completion.ts). An order that is not
 * paid any more, or that someone else holds, is an answer (nothing to do). An
 * upstream failure throws: Lambda runs the event again (maximumRetryAttempts),
 * then sends it to the completion dead-letter queue (serverless.yml; runbook in
 * docs/operations.md), and the order stays paid for the reconciler.
 */
export const handler = middy<CompletionEvent, CompletionResult, Error, Context>()
  .use(observability<CompletionEvent, CompletionResult>((request) => ({ requestId: correlationIdOf(request.event, request.context) })))
  .before(() => secretsLoaded())
  .handler(async (event, context) => {
    const correlationId = correlationIdOf(event, context);
    powertoolsLogger.setCorrelationId(correlationId);
    const log = rootLogger.child({ function: 'completeOrder', correlation_id: correlationId, requestId: correlationId });
    const orderId = completionEvent.safeParse(event).data?.orderId;
    try {
      // Not something a checkout sends: thrown, so that it ends in the dead-letter queue where a person sees it.
      if (!orderId) throw new Error('completeOrder: the event names no order (an orderId UUID)');
      const outcome = await services().completion.complete(orderId, log.child({ orderId }));
      log.info('completion finished', { orderId, outcome });
      return { orderId, outcome };
    } catch (error) {
      if (!config().IS_OFFLINE) {
        log.warn('completion failed; Lambda retries it, then the dead-letter queue keeps it (the order stays paid for the reconciler)', {
          orderId,
          error,
        });
        throw error;
      }
      // serverless-offline 13 runs an 'Event' invocation without catching its failure (one would end the whole local
      // stack), and neither retries it nor has a destination: the order stays paid, and the reconciler completes it.
      log.warn('completion failed; the order stays paid for the reconciler (serverless-offline: no retry, no dead-letter queue)', {
        orderId,
        error,
      });
      return { orderId: orderId ?? '', outcome: 'failed' };
    }
  });

function correlationIdOf(event: CompletionEvent, context: Context | undefined): string {
  const id = event?.requestId;
  return typeof id === 'string' && /^[\w.:-]{1,128}$/.test(id) ? id : context?.awsRequestId || 'completeOrder';
}
