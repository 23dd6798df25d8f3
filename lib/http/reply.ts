import type { APIGatewayProxyResultV2 } from 'aws-lambda';

export interface Reply {
  status: number;
  body?: unknown;
  /** Already-serialised JSON, sent as is (a replayed idempotent response). */
  rawBody?: string;
  headers?: Record<string, string>;
}

export type LambdaResult = Exclude<APIGatewayProxyResultV2, string>;

export function toLambdaResult(reply: Reply): LambdaResult {
  const body = reply.status === 204 ? '' : (reply.rawBody ?? (reply.body === undefined ? '' : JSON.stringify(reply.body)));
  return {
    statusCode: reply.status,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...reply.headers },
    body,
  };
}

export const ok = (body: unknown, headers?: Record<string, string>): Reply => ({ status: 200, body, headers });
export const noContent = (): Reply => ({ status: 204 });
