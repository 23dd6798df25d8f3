import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { startGateway, type GatewayHandle } from '../../dev/infra/gateway';

/**
 * The local stack's API Gateway (dev/infra/gateway.ts) in front of a stand-in
 * for serverless-offline: at most `concurrency` invocations of a function at
 * once, the rest waiting in order and shed with 429 + Retry-After in our error
 * shape, and the emulator's own failure bodies (or no answer) turned into our 503.
 */
let target: Server;
let targetUrl: string;
let running = 0;
let mostAtOnce = 0;

beforeAll(async () => {
  target = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://target');
    const wait = Number(url.searchParams.get('ms') ?? 0);
    running++;
    mostAtOnce = Math.max(mostAtOnce, running);
    setTimeout(() => {
      running--;
      if (url.searchParams.get('as') === 'emulator-timeout') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errorMessage: '[504] - Lambda timeout.', errorType: 'LambdaTimeoutError', stackTrace: [] }));
        return;
      }
      if (url.searchParams.get('as') === 'large' && /gzip/.test(String(req.headers['accept-encoding'] ?? ''))) {
        // hapi (serverless-offline) zips a larger body whenever the request allows it.
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipSync(JSON.stringify({ items: 'x'.repeat(4096) })));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'r-1' });
      res.end(JSON.stringify(url.searchParams.get('as') === 'large' ? { items: 'x'.repeat(4096) } : { status: 'ok' }));
    }, wait);
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => target.close(() => resolve())));

async function withGateway(
  options: { concurrency: number; queueMs: number; integrationTimeoutMs?: number },
  body: (gateway: GatewayHandle) => Promise<void>,
): Promise<void> {
  const gateway = await startGateway({ target: targetUrl, integrationTimeoutMs: 5_000, ...options });
  try {
    await body(gateway);
  } finally {
    await gateway.stop();
  }
}

const get = async (url: string) => {
  const answer = await fetch(url);
  return { status: answer.status, retryAfter: answer.headers.get('retry-after'), body: await answer.json() };
};

beforeEach(() => {
  mostAtOnce = 0;
});

it('runs at most `concurrency` invocations of a function at once and serves the rest in turn', async () => {
  await withGateway({ concurrency: 2, queueMs: 5_000 }, async (gateway) => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => get(`${gateway.url}/health?ms=100`)));

    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    expect(mostAtOnce).toBe(2);
  });
});

it('sheds what waited longer than queueMs with 429 THROTTLED and Retry-After, in our error shape', async () => {
  await withGateway({ concurrency: 1, queueMs: 100 }, async (gateway) => {
    const answers = await Promise.all(Array.from({ length: 3 }, () => get(`${gateway.url}/health?ms=400`)));

    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    const shed = answers.filter((a) => a.status !== 200);
    expect(shed).toEqual(
      Array(2).fill({ status: 429, retryAfter: '1', body: { error: { code: 'THROTTLED', message: expect.any(String) } } }),
    );
  });
});

it('passes a body the emulator would zip to a caller that accepts gzip, readable as sent', async () => {
  await withGateway({ concurrency: 2, queueMs: 1_000 }, async (gateway) => {
    const answer = await fetch(`${gateway.url}/products?as=large`, { headers: { 'accept-encoding': 'gzip, deflate' } });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { items: string }).items).toHaveLength(4096);
  });
});

it('bounds each function on its own: a busy one does not hold another back', async () => {
  await withGateway({ concurrency: 1, queueMs: 50 }, async (gateway) => {
    const slow = get(`${gateway.url}/health?ms=300`);
    const other = await get(`${gateway.url}/products?ms=0`);
    expect(other.status).toBe(200);
    expect((await slow).status).toBe(200);
  });
});

it('answers our 503 with Retry-After instead of the emulator timing a function out, or no answer in time', async () => {
  await withGateway({ concurrency: 4, queueMs: 1_000, integrationTimeoutMs: 200 }, async (gateway) => {
    const timedOut = await get(`${gateway.url}/health?as=emulator-timeout`);
    const tooSlow = await get(`${gateway.url}/health?ms=1000`);

    for (const answer of [timedOut, tooSlow]) {
      expect(answer).toEqual({
        status: 503,
        retryAfter: '2',
        body: { error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } },
      });
    }
  });
});
