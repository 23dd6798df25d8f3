import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { observability } from '../lib/http/observability';
import { powertoolsLogger, rootLogger } from '../lib/logger';
import { recordOrderGauges, recordReconcilerRun } from '../lib/metrics';
import type { ReconcileReport } from '../lib/orders/reconciler';
import { secretsLoaded } from '../lib/secrets';
import { services } from '../lib/services';

/** An EventBridge scheduled event carries its own id; the run's correlation id. */
type ScheduledEvent = { id?: string } | null | undefined;

/**
 * Scheduled (every minute): drives unsettled orders to rest (lib/orders/reconciler.ts), then
 * publishes the run's counts, its heartbeat and the gauges the alarms watch (docs/operations.md: Metrics).
 */
export const handler = middy<ScheduledEvent, ReconcileReport, Error, Context>()
  .use(observability<ScheduledEvent, ReconcileReport>((request) => ({ runId: runIdOf(request.event, request.context) })))
  .before(() => secretsLoaded())
  .handler(async (event, context) => {
    const runId = runIdOf(event, context);
    powertoolsLogger.setCorrelationId(runId);
    const log = rootLogger.child({ function: 'reconciler', correlation_id: runId, runId });
    const report = await services().reconciler.run(log);
    recordReconcilerRun({
      settled: report.completed + report.failed + report.refunded + report.unknown,
      failed: report.failed,
      errors: report.errors,
      withoutCredentials: report.withoutCredentials,
    });
    if (report.gauges) recordOrderGauges(report.gauges);
    return report;
  });

function runIdOf(event: ScheduledEvent, context: Context | undefined): string {
  const id = event?.id;
  return typeof id === 'string' && /^[\w.:-]{1,128}$/.test(id) ? id : context?.awsRequestId || 'reconciler';
}
