import { signDevToken, startSimulator, type RunningSimulator } from '../../dev/simulator';
import { Deadline } from '../../lib/deadline';
import { createLogger } from '../../lib/logger';
import { UpstreamClient, type UpstreamClientOptions } from '../../lib/upstream/client';

const log = createLogger({}, 'error');

/**
 * For one suite: a simulator of its own (seeded) and upstream clients against
 * it with short timeouts and backoff, all closed after the suite.
 */
export function upstreamTestBed(settings: { secret: string; seed: number; user: string }) {
  let sim: RunningSimulator | undefined;
  let token = '';
  const clients: UpstreamClient[] = [];
  beforeAll(async () => {
    sim = await startSimulator({ jwtSecret: settings.secret, seed: settings.seed, hangMs: 1000 });
    token = await signDevToken(settings.secret, settings.user);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sim?.close();
  });
  const url = () => sim!.url;
  return {
    url,
    /** A client with fast timeouts and backoff, no breaker to speak of and no adaptive timeouts, unless overridden. */
    client(overrides: Partial<UpstreamClientOptions> = {}): UpstreamClient {
      const created = new UpstreamClient({
        baseUrl: url(),
        callTimeoutMs: 400,
        maxAttempts: 4,
        backoffBaseMs: 5,
        backoffCapMs: 20,
        breakerFailureThreshold: 1000,
        breakerHalfOpenAfterMs: 300,
        unavailableMeansNoEffect: true,
        adaptiveTimeout: { floorMs: 50, p99Factor: 1.5, minSamples: 1_000_000, windowSize: 10 },
        ...overrides,
      });
      clients.push(created);
      return created;
    },
    /** One call's options, on behalf of the suite's user, with `deadlineMs` left. */
    options: (deadlineMs = 5000) => ({ token, deadline: Deadline.fromNow(deadlineMs), log }),
    /** A request to the simulator's admin routes (/__faults, /__reset, …). */
    admin: (path: string, body?: unknown, method = 'POST') =>
      fetch(`${url()}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
  };
}
