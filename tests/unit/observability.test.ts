import '../support/metrics-on';
import '../support/on-demand';
import type { Context } from 'aws-lambda';
import { AppError } from '../../lib/errors';
import { publicEndpoint as endpoint } from '../support/public-endpoint';
import type { ServiceEvent } from '../../lib/http/middleware';
import { captureStart, jsonLines } from '../support/output';

/**
 * The middleware stack every handler shares, invoked in-process as Lambda
 * would: one request's log lines (Powertools fields, our request fields,
 * correlation id, cold start) and the metrics published at its end.
 */
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJvYnMifQ.c2lnbmF0dXJl';

const handler = endpoint({ functionName: 'placeOrder', authenticated: false }, async (request) => {
  request.log.info('inside the handler', { orderId: 'order-1', callerToken: JWT });
  const outcome = (request.headers as unknown as Record<string, string>)['x-test-outcome'];
  if (outcome === 'declined') throw new AppError('PAYMENT_DECLINED', 'declined', { extra: { orderId: 'order-1' } });
  if (outcome === 'unknown') throw new AppError('PAYMENT_STATUS_UNKNOWN', 'unknown', { extra: { orderId: 'order-1' } });
  if (outcome === 'crash') throw new Error(`bug with ${JWT}`);
  if (outcome === 'replayed') return { status: 201, body: { id: 'order-1' }, headers: { 'idempotent-replayed': 'true' } };
  return { status: 201, body: { id: 'order-1' } };
});

function event(requestId: string, outcome: string, routeKey = 'POST /baskets/{basketId}/orders'): ServiceEvent {
  return {
    version: '2.0',
    routeKey,
    rawPath: '/baskets/b-1/orders',
    rawQueryString: '',
    headers: { 'x-request-id': requestId, 'x-test-outcome': outcome, 'x-auth-user': JWT },
    requestContext: { http: { method: 'POST', path: '/baskets/b-1/orders' } },
    isBase64Encoded: false,
  } as unknown as ServiceEvent;
}

const context = (awsRequestId: string) =>
  ({
    awsRequestId,
    functionName: 'pos-basket-service-test-placeOrder',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:pos-basket-service-test-placeOrder',
    memoryLimitInMB: '512',
    getRemainingTimeInMillis: () => 20_000,
  }) as unknown as Context;

async function invoke(requestId: string, outcome: string, routeKey?: string) {
  const capture = captureStart();
  let output = '';
  const response = await handler(event(requestId, outcome, routeKey), context(`lambda-${requestId}`)).finally(
    () => (output = capture.stop()),
  );
  const entries = jsonLines(output);
  return { response, output, logs: entries.filter((entry) => !entry._aws), metrics: entries.filter((entry) => entry._aws) };
}

/** The names of the metrics in one EMF line, and its dimension sets. */
const namesOf = (emf: Record<string, any>): string[] => emf._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name);
const setsOf = (emf: Record<string, any>): string[][] => emf._aws.CloudWatchMetrics[0].Dimensions;
/** The invocation's log line with this message. */
const logLine = (run: { logs: Record<string, any>[] }, message: string) => run.logs.find((entry) => entry.message === message);

describe('every handler: Powertools logs and metrics per invocation', () => {
  it('logs the request with its correlation id and cold start, redacts the token, and counts a paid checkout', async () => {
    const first = await invoke('obs-req-1', 'paid');
    const second = await invoke('obs-req-2', 'paid');

    expect(first.response).toMatchObject({ statusCode: 201 });
    expect(first.output).not.toContain(JWT);
    expect(logLine(first, 'inside the handler')).toMatchObject({
      level: 'INFO',
      service: 'pos-basket-service',
      correlation_id: 'obs-req-1',
      requestId: 'obs-req-1',
      route: 'POST /baskets/{basketId}/orders',
      orderId: 'order-1',
      callerToken: '[redacted]',
      cold_start: true,
      function_name: 'pos-basket-service-test-placeOrder',
      function_request_id: 'lambda-obs-req-1',
    });
    expect(logLine(first, 'request finished')).toMatchObject({
      correlation_id: 'obs-req-1',
      requestId: 'obs-req-1',
      method: 'POST',
      path: '/baskets/b-1/orders',
      status: 201,
      durationMs: expect.any(Number),
    });
    expect(logLine(second, 'request finished')).toMatchObject({
      correlation_id: 'obs-req-2',
      cold_start: false,
    });

    const checkouts = first.metrics.filter((emf) => namesOf(emf).includes('Checkouts'));
    expect(checkouts).toHaveLength(1);
    expect(checkouts[0]).toMatchObject({
      Checkouts: 1,
      outcome: 'paid',
      route: 'POST /baskets/{basketId}/orders',
      service: 'pos-basket-service',
      requestId: 'obs-req-1',
    });
    expect(checkouts[0]!._aws.CloudWatchMetrics[0].Namespace).toBe('PosBasketService');
    expect(setsOf(checkouts[0]!)).toEqual([
      ['service', 'stage', 'route', 'outcome'],
      ['service', 'stage', 'outcome'],
    ]);
    // Cold start once per container.
    expect(first.metrics.filter((emf) => namesOf(emf).includes('ColdStart'))).toHaveLength(1);
    expect(second.metrics.filter((emf) => namesOf(emf).includes('ColdStart'))).toHaveLength(0);
  });

  it.each([
    ['declined', 402, 'declined'],
    ['unknown', 502, 'unknown'],
    ['crash', 500, 'error'],
    ['replayed', 201, 'replayed'],
  ])('counts a %s checkout answer (%i) as outcome %s, with the code in the access line', async (kind, status, outcome) => {
    const run = await invoke(`obs-${kind}`, kind);

    expect(run.response).toMatchObject({ statusCode: status });
    expect(run.output).not.toContain(JWT);
    expect(run.metrics.find((emf) => namesOf(emf).includes('Checkouts'))).toMatchObject({
      Checkouts: 1,
      outcome,
      requestId: `obs-${kind}`,
    });
    const access = logLine(run, 'request finished');
    expect(access).toMatchObject({ status, correlation_id: `obs-${kind}` });
    if (status >= 400)
      expect(access!.code).toBe(kind === 'crash' ? 'INTERNAL' : kind === 'declined' ? 'PAYMENT_DECLINED' : 'PAYMENT_STATUS_UNKNOWN');
  });

  it('counts no checkout for other routes', async () => {
    const run = await invoke('obs-other', 'paid', 'GET /orders/{orderId}');
    expect(run.response).toMatchObject({ statusCode: 201 });
    expect(run.metrics.filter((emf) => namesOf(emf).includes('Checkouts'))).toEqual([]);
  });
});
