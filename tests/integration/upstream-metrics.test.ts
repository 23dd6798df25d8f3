import { signDevToken, startSimulator, type RunningSimulator } from '../../dev/simulator';
import { Deadline } from '../../lib/deadline';
import { createLogger } from '../../lib/logger';
import type { UpstreamAttempt, UpstreamMetrics } from '../../lib/metrics';
import { UpstreamClient } from '../../lib/upstream/client';

const SECRET = 'metrics-test-secret-0123456789';
const log = createLogger({}, 'error');

/** What the upstream client tells its metrics recorder, against the simulator with scripted faults. */
describe('the upstream client reports every attempt and the breaker to its metrics', () => {
  let sim: RunningSimulator;
  let token: string;
  const clients: UpstreamClient[] = [];

  const recording = () => {
    const attempts: UpstreamAttempt[] = [];
    let breakerOpened = 0;
    const metrics: UpstreamMetrics = { attempt: (attempt) => attempts.push(attempt), breakerOpened: () => breakerOpened++ };
    return { attempts, metrics, breakerOpened: () => breakerOpened };
  };
  const client = (metrics: UpstreamMetrics, overrides: { breakerFailureThreshold?: number; maxAttempts?: number } = {}) => {
    const created = new UpstreamClient({
      baseUrl: sim.url,
      callTimeoutMs: 400,
      maxAttempts: overrides.maxAttempts ?? 4,
      backoffBaseMs: 5,
      backoffCapMs: 20,
      breakerFailureThreshold: overrides.breakerFailureThreshold ?? 1000,
      breakerHalfOpenAfterMs: 60_000,
      unavailableMeansNoEffect: true,
      adaptiveTimeout: { floorMs: 50, p99Factor: 1.5, minSamples: 1_000_000, windowSize: 10 },
      metrics,
    });
    clients.push(created);
    return created;
  };
  const options = () => ({ token, deadline: Deadline.fromNow(5000), log });
  const fault = (body: unknown) => fetch(`${sim.url}/__faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    sim = await startSimulator({ jwtSecret: SECRET, seed: 11, hangMs: 1000 });
    token = await signDevToken(SECRET, 'metrics@example.com');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sim.close();
  });

  it('reports each attempt with its number, status or failure, and duration', async () => {
    const { attempts, metrics } = recording();
    await fault({ method: 'GET', path: '/products/', kind: '503', times: 1 });
    await fault({ method: 'GET', path: '/products/', kind: 'hang_after', times: 1 });

    expect((await client(metrics).get('/products/', options())).status).toBe(200);

    expect(attempts.map(({ method, path, attempt, status, outcome }) => ({ method, path, attempt, status, outcome }))).toEqual([
      { method: 'GET', path: '/products/', attempt: 1, status: 503, outcome: undefined },
      { method: 'GET', path: '/products/', attempt: 2, status: undefined, outcome: 'timeout' },
      { method: 'GET', path: '/products/', attempt: 3, status: 200, outcome: undefined },
    ]);
    for (const attempt of attempts) expect(attempt.durationMs).toEqual(expect.any(Number));
    expect(attempts[1]!.durationMs).toBeGreaterThanOrEqual(350); // the 400 ms attempt timeout
  });

  it('reports the breaker opening once, then calls refused while it is open', async () => {
    const { attempts, metrics, breakerOpened } = recording();
    const guarded = client(metrics, { breakerFailureThreshold: 2, maxAttempts: 1 });
    await fault({ method: 'GET', path: '/products/', kind: '500_after', times: 2 });

    for (let i = 0; i < 2; i++) await guarded.get('/products/', options()).catch(() => undefined);
    expect(breakerOpened()).toBe(1);
    await expect(guarded.get('/products/', options())).rejects.toMatchObject({ outcome: { type: 'circuit_open' } });

    expect(attempts.map(({ status, outcome }) => status ?? outcome)).toEqual([500, 500, 'circuit_open']);
    expect(attempts[2]!.durationMs).toBeUndefined();
    expect(breakerOpened()).toBe(1);
  });
});
