import type { UpstreamAttempt, UpstreamMetrics } from '../../lib/metrics';
import { upstreamTestBed } from '../support/upstream-bed';

/** What the upstream client tells its metrics recorder, against the simulator with scripted faults. */
describe('the upstream client reports every attempt and the breaker to its metrics', () => {
  const bed = upstreamTestBed({ secret: 'metrics-test-secret-0123456789', seed: 11, user: 'metrics@example.com' });
  const { options } = bed;
  const recording = () => {
    const attempts: UpstreamAttempt[] = [];
    let breakerOpened = 0;
    const metrics: UpstreamMetrics = { attempt: (attempt) => attempts.push(attempt), breakerOpened: () => breakerOpened++ };
    return { attempts, metrics, breakerOpened: () => breakerOpened };
  };
  const client = (metrics: UpstreamMetrics, overrides: { breakerFailureThreshold?: number; maxAttempts?: number } = {}) =>
    bed.client({ breakerHalfOpenAfterMs: 60_000, metrics, ...overrides });
  const fault = (body: unknown) => bed.admin('/__faults', body);

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
