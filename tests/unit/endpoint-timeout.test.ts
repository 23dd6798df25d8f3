import type { Context } from 'aws-lambda';
import { publicEndpoint as endpoint } from '../support/public-endpoint';
import type { ServiceEvent } from '../../lib/http/middleware';

/**
 * A handler still running close to its Lambda's timeout answers our 503 with
 * Retry-After before the platform kills it (the caller never sees the
 * platform's, or the emulator's, own answer to a timeout).
 */
const slow = endpoint({ functionName: 'health', authenticated: false }, async () => {
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  return { status: 200, body: { status: 'ok' } };
});

const event = {
  version: '2.0',
  routeKey: 'GET /health',
  rawPath: '/health',
  rawQueryString: '',
  headers: {},
  requestContext: { http: { method: 'GET', path: '/health' } },
  isBase64Encoded: false,
} as unknown as ServiceEvent;

it('answers 503 SERVICE_UNAVAILABLE with Retry-After half a second before the Lambda would time out', async () => {
  const deadline = Date.now() + 1_500;
  const context = {
    awsRequestId: 'timeout-1',
    functionName: 'health',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  } as unknown as Context;

  const started = Date.now();
  const response = await slow(event, context);

  expect(Date.now() - started).toBeLessThan(1_400);
  expect(response.statusCode).toBe(503);
  expect(response.headers).toMatchObject({ 'retry-after': '1' });
  expect(JSON.parse(response.body as string)).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } });
});
