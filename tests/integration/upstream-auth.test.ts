import { SignJWT } from 'jose';
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
    ((await (await fetch(`${sim.url}/__ledger`)).json()) as { calls: { path: string; status: number }[] }).calls.filter((c) => c.path === '/products/');

  beforeAll(async () => {
    sim = await startSimulator({ jwtSecret: SECRET, seed: 3 });
    client = new UpstreamClient({
      baseUrl: sim.url,
      callTimeoutMs: 500,
      maxAttempts: 2,
      backoffBaseMs: 5,
      backoffCapMs: 10,
      breakerFailureThreshold: 1000,
      breakerHalfOpenAfterMs: 100,
      unavailableMeansNoEffect: true,
      adaptiveTimeout: { floorMs: 50, p99Factor: 1.5, minSamples: 1_000_000, windowSize: 10 },
    });
    api = new PosApi(client);
  });
  beforeEach(() => fetch(`${sim.url}/__reset`, { method: 'POST' }));
  afterAll(async () => {
    await client.close();
    await sim.close();
  });

  it('accepts a token the upstream accepts, as its sub, and asks only once while the answer is cached', async () => {
    const verify = upstreamVerifier(api, { cacheMs: 60_000, checkTimeoutMs: 1000 });
    const token = await signDevToken(SECRET, 'cashier@example.com', null);

    expect(await verify(token, { log })).toEqual({ userId: 'cashier@example.com', token });
    expect(await verify(token, { log })).toEqual({ userId: 'cashier@example.com', token });
    expect(await checks()).toHaveLength(1);
  });

  it('asks again once the cached answer is older than the cache time', async () => {
    const verify = upstreamVerifier(api, { cacheMs: 0, checkTimeoutMs: 1000 });
    const token = await signDevToken(SECRET, 'cashier@example.com');

    await verify(token, { log });
    await verify(token, { log });

    expect(await checks()).toHaveLength(2);
  });

  it('refuses with 401 a token the upstream refuses (signed with another secret), and one that is not a JWT, without caching a refusal', async () => {
    const verify = upstreamVerifier(api, { cacheMs: 60_000, checkTimeoutMs: 1000 });
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('cashier@example.com').sign(new TextEncoder().encode('not-the-upstream-secret'));

    await expect(verify(forged, { log })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(verify(forged, { log })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(verify('not-a-jwt', { log })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await checks()).map((c) => c.status)).toEqual([401, 401]);
  });

  it('answers 503 when the upstream cannot be asked, rather than letting anyone in', async () => {
    const verify = upstreamVerifier(api, { cacheMs: 60_000, checkTimeoutMs: 1000 });
    await fetch(`${sim.url}/__faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'GET', path: '/products/', kind: '503', times: 2 }) });

    await expect(verify(await signDevToken(SECRET, 'cashier@example.com'), { log })).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });
});
