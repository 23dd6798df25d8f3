import { SignJWT } from 'jose';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signDevToken, startSimulator, type RunningSimulator } from '../../dev/simulator';
import { upstreamVerifier } from '../../lib/auth';
import { createLogger } from '../../lib/logger';
import { UpstreamClient } from '../../lib/upstream/client';
import { PosApi } from '../../lib/upstream/pos-api';

const SECRET = 'upstream-auth-secret-0123456789';
const log = createLogger({}, 'error');

/**
 * AUTH_MODE=upstream, for a hosted upstream whose signing secret we do not
 * have: the upstream itself decides, once per token for a short while.
 */
describe('verifying tokens by asking the upstream', () => {
  let sim: RunningSimulator;
  let client: UpstreamClient;
  let api: PosApi;
  const checks = async () =>
    ((await (await fetch(`${sim.url}/__ledger`)).json()) as { calls: { path: string; status: number }[] }).calls.filter(
      (c) => c.path === '/orders/',
    );

  beforeAll(async () => {
    sim = await startSimulator({ jwtSecret: SECRET, seed: 3 });
    client = new UpstreamClient({ ...clientOptions, baseUrl: sim.url });
    api = new PosApi(client);
  });
  const clientOptions = {
    baseUrl: '',
    callTimeoutMs: 500,
    maxAttempts: 2,
    backoffBaseMs: 5,
    backoffCapMs: 10,
    breakerFailureThreshold: 1000,
    breakerHalfOpenAfterMs: 100,
    unavailableMeansNoEffect: true,
    adaptiveTimeout: { floorMs: 50, p99Factor: 1.5, minSamples: 1_000_000, windowSize: 10 },
  };
  beforeEach(() => fetch(`${sim.url}/__reset`, { method: 'POST' }));
  afterAll(async () => {
    await client.close();
    await sim.close();
  });

  it('accepts a token the upstream accepts, as its sub, and asks only once while the answer is cached', async () => {
    const verify = upstreamVerifier(api, { cacheMs: 60_000, checkTimeoutMs: 1000 });
    const token = await signDevToken(SECRET, 'cashier@example.com', null);

    expect(await verify(token, { log })).toEqual({ userId: 'cashier@example.com', token, roles: [] });
    expect(await verify(token, { log })).toEqual({ userId: 'cashier@example.com', token, roles: [] });
    expect(await checks()).toHaveLength(1);
  });

  it('asks again once the cached answer is older than the cache time', async () => {
    const verify = upstreamVerifier(api, { cacheMs: 0, checkTimeoutMs: 1000 });
    const token = await signDevToken(SECRET, 'cashier@example.com');

    await verify(token, { log });
    await verify(token, { log });

    expect(await checks()).toHaveLength(2);
  });

  it('refuses with 401 a token the upstream refuses (signed with another secret), and one that is not a JWT; a refusal is remembered briefly', async () => {
    let clock = Date.now();
    const verify = upstreamVerifier(api, { cacheMs: 60_000, refusalCacheMs: 10_000, checkTimeoutMs: 1000, now: () => clock });
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('cashier@example.com')
      .sign(new TextEncoder().encode('not-the-upstream-secret'));

    await expect(verify(forged, { log })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(verify(forged, { log })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(verify('not-a-jwt', { log })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await checks()).map((c) => c.status)).toEqual([401]);
    clock += 10_001;
    await expect(verify(forged, { log })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await checks()).map((c) => c.status)).toEqual([401, 401]);
  });

  it('refuses alg none, an empty signature, an expired token and one not valid yet, without asking the upstream', async () => {
    const verify = upstreamVerifier(api, { cacheMs: 60_000, checkTimeoutMs: 1000 });
    const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'cashier@example.com', roles: ['operator'] })}.`;
    const emptySignature = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: 'cashier@example.com' })}.`;
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('cashier@example.com')
      .setExpirationTime(now - 120)
      .sign(new TextEncoder().encode(SECRET));
    const early = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('cashier@example.com')
      .setNotBefore(now + 600)
      .sign(new TextEncoder().encode(SECRET));

    for (const token of [unsigned, emptySignature])
      await expect(verify(token, { log })).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'Token is not signed' });
    await expect(verify(expired, { log })).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'Token has expired' });
    await expect(verify(early, { log })).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'Token is not valid yet' });
    expect(await checks()).toHaveLength(0);
  });

  it('takes roles only from OPERATOR_USER_IDS, never from the token the upstream accepted', async () => {
    const verify = upstreamVerifier(api, { cacheMs: 60_000, checkTimeoutMs: 1000, operatorUserIds: new Set(['alice@corp.example']) });
    const selfPromoted = await new SignJWT({ roles: ['operator'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory@example.com')
      .sign(new TextEncoder().encode(SECRET));
    const operator = await signDevToken(SECRET, 'alice@corp.example');

    expect(await verify(selfPromoted, { log })).toMatchObject({ userId: 'mallory@example.com', roles: [] });
    expect(await verify(operator, { log })).toMatchObject({ userId: 'alice@corp.example', roles: ['operator'] });
  });

  it('answers 503 when the upstream cannot be asked, rather than letting anyone in', async () => {
    const verify = upstreamVerifier(api, { cacheMs: 60_000, checkTimeoutMs: 1000 });
    await fetch(`${sim.url}/__faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'GET', path: '/orders/', kind: '503', times: 2 }),
    });

    await expect(verify(await signDevToken(SECRET, 'cashier@example.com'), { log })).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
    });
  });

  it("refuses a token whose user's orders, as the upstream lists them, belong to someone else", async () => {
    const impostor = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify([
          {
            id: '7',
            amount_total: 1,
            basket_id: null,
            user_id: 'someone-else@example.com',
            created_at: '2026-12-03T00:00:00Z',
            status: 'completed',
          },
        ]),
      );
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const other = new UpstreamClient({ ...clientOptions, baseUrl: `http://127.0.0.1:${(impostor.address() as AddressInfo).port}` });
    try {
      const verify = upstreamVerifier(new PosApi(other), { cacheMs: 60_000, checkTimeoutMs: 1000 });
      await expect(verify(await signDevToken(SECRET, 'cashier@example.com'), { log })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    } finally {
      await other.close();
      await new Promise<void>((resolve) => impostor.close(() => resolve()));
    }
  });
});
