import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { powertoolsLogger } from '../logger';
import { recorder } from '../metrics';

type Metadata = Record<string, string | undefined>;

/**
 * What every handler does once per invocation, for logs and metrics:
 * Powertools' injectLambdaContext gives the logger the Lambda context
 * (cold_start, function_name, function_request_id…) and a fresh debug
 * sampling decision, and clears the invocation's keys (correlation_id) at
 * the end; then the ColdStart metric, and every metric recorded during the
 * invocation is published at its end (answer or error), carrying `metadata`
 * (e.g. the request id) as plain keys of the EMF line.
 */
export function observability<E, R>(
  metadataOf: (request: middy.Request<E, R, Error, Context>) => Metadata = () => ({}),
): Array<middy.MiddlewareObj<E, R, Error, Context>> {
  const flush = (request: middy.Request<E, R, Error, Context>) => recorder.flush(metadataOf(request));
  return [
    injectLambdaContext(powertoolsLogger, { resetKeys: true }) as middy.MiddlewareObj<E, R, Error, Context>,
    {
      before: (request) => {
        recorder.begin();
        recorder.metrics.captureColdStartMetric(request.context?.functionName);
      },
      after: flush,
      onError: flush,
    },
  ];
}
