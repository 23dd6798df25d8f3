import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

export interface Reply {
  status: number;
  body: unknown;
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Writes a reply unless the client is already gone: JSON, or with `stringsAsText` a string body
 * (every error but a 422) as text/plain.
 */
export function sendReply(res: ServerResponse, reply: Reply, stringsAsText = false): void {
  if (res.destroyed || res.headersSent) return;
  const asText = stringsAsText && typeof reply.body === 'string';
  const payload = asText ? (reply.body as string) : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': asText ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** Waits `ms`; resolves false instead when `signal` aborts first (the server is closing). */
export async function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  try {
    await delay(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
