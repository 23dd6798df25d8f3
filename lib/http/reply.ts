import type { APIGatewayProxyResultV2 } from 'aws-lambda';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type LambdaResult = Exclude<APIGatewayProxyResultV2, string>;

export function toLambdaResult(reply: Reply): LambdaResult {
  const hasBody = reply.body !== undefined && reply.status !== 204;
  return {
    statusCode: reply.status,
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...reply.headers },
    body: hasBody ? JSON.stringify(reply.body) : '',
  };
}

export const ok = (body: unknown, headers?: Record<string, string>): Reply => ({ status: 200, body, headers });
export const created = (body: unknown, headers?: Record<string, string>): Reply => ({ status: 201, body, headers });
export const noContent = (): Reply => ({ status: 204 });
