import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { allRoutes } from '../../lib/http/routes';
import { renderError } from '../../lib/http/error-response';
import { AppError } from '../../lib/errors';
import { freePort, preferredOrFreePort } from './ports';

export interface GatewayOptions {
  /** serverless-offline's base URL. */
  target: string;
  preferredPort?: number;
  /** Invocations of one function at once, as a function's reserved concurrency bounds it on AWS. */
  concurrency: number;
  /** How long a request over the bound waits for a free slot before it is shed (429, Retry-After). */
  queueMs: number;
  /** An invocation that has not answered by then gets 503 (API Gateway's integration timeout, 30 s, plays it on AWS). */
  integrationTimeoutMs: number;
}

export interface GatewayHandle {
  url: string;
  /** Invocations in flight and waiting, per function (for tests). */
  load(): Record<string, { running: number; waiting: number }>;
  stop(): Promise<void>;
}

/** The local defaults: sized for a 2-core machine, where each extra worker thread costs a bundle load. */
export const LOCAL_GATEWAY_DEFAULTS = { concurrency: 8, queueMs: 20_000, integrationTimeoutMs: 30_000 };

/** The bound on one function's invocations, with the requests over it waiting in arrival order. */
class FunctionSlots {
  running = 0;
  private readonly waiting: Array<{ admit: () => void }> = [];

  constructor(private readonly limit: number) {}

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves true once a slot is held, false if none came free within `waitMs`. */
  acquire(waitMs: number): Promise<boolean> {
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const entry = {
        admit: () => {
          clearTimeout(timer);
          this.running++;
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(entry), 1);
        resolve(false);
      }, waitMs);
      this.waiting.push(entry);
    });
  }

  release(): void {
    this.running--;
    this.waiting.shift()?.admit();
  }
}

/** Which function of serverless.yml serves a request, from the route registry (lib/http/routes.ts). */
function functionOf(method: string, pathname: string): string {
  for (const route of allRoutes) {
    if (route.method !== method) continue;
    const pattern = new RegExp(`^${route.path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (pattern.test(pathname)) return route.functionName;
  }
  return 'notFound';
}

/** serverless-offline's own answer to an invocation it timed out or that crashed: never what a caller should see. */
function isEmulatorFailure(body: string): boolean {
  return body.includes('"errorMessage"') && body.includes('"errorType"');
}

function send(res: ServerResponse, error: AppError, requestId?: string): void {
  const rendered = renderError(error);
  res.writeHead(rendered.status, {
    'content-type': 'application/json',
    ...rendered.headers,
    ...(requestId ? { 'x-request-id': requestId } : {}),
  });
  res.end(rendered.body);
}

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

/**
 * The local stack's API Gateway in front of serverless-offline: what AWS does
 * with reserved concurrency and throttling, and what serverless-offline does
 * not. At most `concurrency` invocations of one function run at once (a burst
 * otherwise starts a worker thread, a bundle load and a database pool per
 * request on two cores); the rest wait briefly in arrival order, then get 429
 * with Retry-After in our error shape. An invocation the emulator timed out or
 * that does not answer in time becomes our 503 with Retry-After, never the
 * emulator's body or a hang.
 */
export async function startGateway(options: GatewayOptions): Promise<GatewayHandle> {
  const slots = new Map<string, FunctionSlots>();
  const slotsOf = (name: string) => {
    let found = slots.get(name);
    if (!found) slots.set(name, (found = new FunctionSlots(options.concurrency)));
    return found;
  };

  const server = createServer(async (req, res) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://gateway');
    const functionSlots = slotsOf(functionOf(method, url.pathname));
    const body = await readBody(req);
    if (!(await functionSlots.acquire(options.queueMs))) {
      return send(
        res,
        new AppError('THROTTLED', 'Too many requests for this route right now; retry shortly with the same Idempotency-Key', {
          retryAfterSeconds: 1,
        }),
      );
    }
    try {
      // No accept-encoding: fetch would unzip what hapi zipped, and the caller would get a plain body labelled gzip.
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length', 'accept-encoding'].includes(name)),
      ) as Record<string, string>;
      const answer = await fetch(`${options.target}${url.pathname}${url.search}`, {
        method,
        headers,
        body: body.length > 0 ? body : undefined,
        signal: AbortSignal.timeout(options.integrationTimeoutMs),
      });
      const text = await answer.text();
      if (isEmulatorFailure(text)) {
        return send(
          res,
          new AppError('SERVICE_UNAVAILABLE', 'The service could not answer in time; retry shortly with the same Idempotency-Key', {
            retryAfterSeconds: 2,
          }),
        );
      }
      const passed: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)) passed[name] = value;
      });
      res.writeHead(answer.status, passed);
      res.end(text);
    } catch {
      send(
        res,
        new AppError('SERVICE_UNAVAILABLE', 'The service could not answer in time; retry shortly with the same Idempotency-Key', {
          retryAfterSeconds: 2,
        }),
      );
    } finally {
      functionSlots.release();
    }
  });
  server.keepAliveTimeout = 5000;
  const port = options.preferredPort ? await preferredOrFreePort(options.preferredPort) : await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    load: () => Object.fromEntries([...slots.entries()].map(([name, s]) => [name, { running: s.running, waiting: s.queued }])),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
