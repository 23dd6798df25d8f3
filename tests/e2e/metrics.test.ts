import { randomUUID } from 'node:crypto';
import { invokeLambda } from '../../dev/infra/offline';
import { PIZZA } from '../support/catalogue';
import { api, simulator, tokenFor, uniqueUser } from '../support/http';
import { handlerOutput } from '../support/output';
import { waitFor } from '../support/wait';

/**
 * The metrics a checkout and a reconciler run emit, read back from the
 * handlers' own output (global setup writes serverless-offline's output to
 * TEST_OFFLINE_LOG): CloudWatch Embedded Metric Format lines, as CloudWatch
 * Logs would receive them, told apart from other tests' by the request id
 * (x-request-id) or the scheduled event's id they carry.
 */
type Entry = Record<string, any>;

const isEmf = (entry: Entry) => entry._aws?.CloudWatchMetrics !== undefined;
const directive = (emf: Entry) =>
  emf._aws.CloudWatchMetrics[0] as { Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> };
const has = (emf: Entry, metric: string) => directive(emf).Metrics.some((m) => m.Name === metric);

/** The EMF lines carrying `key: value`, once at least `atLeast(lines)` holds (output reaches the file a little after the answer). */
async function emfLines(key: string, value: string, atLeast: (lines: Entry[]) => boolean): Promise<Entry[]> {
  let lines: Entry[] = [];
  await waitFor(`metrics with ${key} ${value} in the handler output`, async () => {
    lines = handlerOutput().filter((entry) => isEmf(entry) && entry[key] === value);
    return atLeast(lines);
  });
  return lines;
}

async function basketWithPizzas(token: string): Promise<string> {
  const basket = (await api('/baskets', { method: 'POST', token })).body;
  await api(`/baskets/${basket.id}/items/${PIZZA}`, { method: 'PUT', token, body: { quantity: 2 } });
  return basket.id;
}

describe('metrics in the handler output (EMF)', () => {
  it('a paid checkout: Checkouts outcome paid, and the upstream calls POST /orders/ and POST /payments/ with their latency', async () => {
    const token = await tokenFor(uniqueUser('metrics'));
    const basketId = await basketWithPizzas(token);
    const requestId = `metrics-paid-${randomUUID()}`;

    const ordered = await api(`/baskets/${basketId}/orders`, {
      method: 'POST',
      token,
      headers: { 'idempotency-key': randomUUID(), 'x-request-id': requestId },
    });

    expect(ordered.status).toBe(201);
    expect(ordered.headers.get('x-request-id')).toBe(requestId);
    const lines = await emfLines(
      'requestId',
      requestId,
      (found) =>
        found.some((emf) => has(emf, 'Checkouts')) &&
        found.some((emf) => emf.route === 'POST /payments/') &&
        found.some((emf) => emf.route === 'PATCH /orders/{id}'),
    );

    const checkout = lines.filter((emf) => has(emf, 'Checkouts'));
    expect(checkout).toHaveLength(1);
    expect(checkout[0]).toMatchObject({
      service: 'pos-basket-service',
      stage: 'local',
      route: 'POST /baskets/{basketId}/orders',
      outcome: 'paid',
      Checkouts: 1,
    });
    expect(directive(checkout[0]!)).toMatchObject({ Namespace: 'PosBasketService', Metrics: [{ Name: 'Checkouts', Unit: 'Count' }] });
    expect(directive(checkout[0]!).Dimensions).toContainEqual(['service', 'stage', 'outcome']);

    for (const route of ['POST /orders/', 'POST /payments/']) {
      const calls = lines.filter((emf) => emf.route === route && has(emf, 'UpstreamCalls'));
      expect({ route, lines: calls.length }).toEqual({ route, lines: 1 });
      const [call] = calls;
      expect(call).toMatchObject({ outcome: '2xx', UpstreamCalls: 1, service: 'pos-basket-service' });
      expect(directive(call!).Metrics).toEqual([
        { Name: 'UpstreamCalls', Unit: 'Count' },
        { Name: 'UpstreamLatency', Unit: 'Milliseconds' },
      ]);
      expect(directive(call!).Dimensions[0]).toEqual(['service', 'stage', 'route', 'outcome']);
      expect(call!.UpstreamLatency).toBeGreaterThanOrEqual(0);
      expect(call!.UpstreamLatency).toBeLessThan(1500);
    }
    // Completing the order upstream after the reply: published on its own, still with this request's id.
    const completion = lines.filter((emf) => emf.route === 'PATCH /orders/{id}' && has(emf, 'UpstreamCalls'));
    expect(completion).toEqual([expect.objectContaining({ outcome: '2xx', UpstreamCalls: 1 })]);
    expect(checkout[0]).not.toHaveProperty('UpstreamCalls');
    // No retries, no breaker in a clean checkout.
    expect(lines.filter((emf) => has(emf, 'UpstreamRetries') || has(emf, 'BreakerOpened'))).toEqual([]);

    // The request's log lines carry the same id as their correlation id, and never the token.
    const logs = handlerOutput().filter((entry) => !isEmf(entry) && entry.requestId === requestId);
    expect(logs.find((entry) => entry.message === 'request finished')).toMatchObject({
      level: 'INFO',
      correlation_id: requestId,
      route: 'POST /baskets/{basketId}/orders',
      method: 'POST',
      status: 201,
      durationMs: expect.any(Number),
      cold_start: expect.any(Boolean),
      service: 'pos-basket-service',
    });
    expect(
      logs.filter((entry) => entry.message === 'upstream call').map((entry) => [entry.method, entry.path.split('?')[0], entry.status]),
    ).toEqual(
      expect.arrayContaining([
        ['POST', '/orders/', 201],
        ['POST', '/payments/', 201],
      ]),
    );
    expect(JSON.stringify(logs)).not.toContain(token);
  });

  it('a payment whose outcome is unknown: Checkouts outcome unknown, POST /payments/ 5xx; then the reconciler reports it in its gauges with its heartbeat', async () => {
    const user = uniqueUser('metrics-unknown');
    const token = await tokenFor(user);
    const basketId = await basketWithPizzas(token);
    const requestId = `metrics-unknown-${randomUUID()}`;
    await simulator.queueFault({ method: 'POST', path: '/payments/', kind: '500_after', user });

    const ordered = await api(`/baskets/${basketId}/orders`, {
      method: 'POST',
      token,
      headers: { 'idempotency-key': randomUUID(), 'x-request-id': requestId },
    });

    expect(ordered.status).toBe(502);
    expect(ordered.body.error.code).toBe('PAYMENT_STATUS_UNKNOWN');
    const lines = await emfLines('requestId', requestId, (found) => found.some((emf) => has(emf, 'Checkouts')));
    expect(lines.find((emf) => has(emf, 'Checkouts'))).toMatchObject({ outcome: 'unknown', Checkouts: 1 });
    expect(lines.find((emf) => emf.route === 'POST /payments/' && has(emf, 'UpstreamCalls'))).toMatchObject({
      outcome: '5xx',
      UpstreamCalls: 1,
    });

    // A scheduled run: EventBridge gives the event an id, which the run's metrics carry.
    const runId = `metrics-run-${randomUUID()}`;
    const report = (await invokeLambda(process.env.TEST_LAMBDA_URL!, 'reconciler', {
      id: runId,
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
    })) as Entry;
    expect(report).toMatchObject({ examined: expect.any(Number), errors: expect.any(Number) });
    const runLines = await emfLines('runId', runId, (found) => found.some((emf) => has(emf, 'ReconcilerRun')));

    // One line for the run (its upstream calls have lines of their own, by route and outcome).
    const runs = runLines.filter((emf) => has(emf, 'ReconcilerRun'));
    expect(runs).toHaveLength(1);
    const [run] = runs;
    expect(directive(run!).Dimensions).toEqual([['service', 'stage']]);
    expect(Object.fromEntries(directive(run!).Metrics.map((m) => [m.Name, m.Unit]))).toEqual({
      ReconcilerRun: 'Count',
      ReconcilerSettled: 'Count',
      ReconcilerFailed: 'Count',
      ReconcilerErrors: 'Count',
      ReconcilerWithoutCredentials: 'Count',
      UnknownOrders: 'Count',
      OldestUnknownOrderSeconds: 'Seconds',
      StuckOrders: 'Count',
      ReconcilerLagSeconds: 'Seconds',
    });
    expect(run).toMatchObject({
      ReconcilerRun: 1,
      ReconcilerErrors: report.errors,
      ReconcilerWithoutCredentials: report.withoutCredentials,
      ReconcilerFailed: report.failed,
    });
    expect(run!.ReconcilerSettled).toBe(report.completed + report.failed + report.refunded + report.unknown);
    // Our order is unknown (and stays so until a person resolves it), so the gauge counts at least it.
    expect(run!.UnknownOrders).toBeGreaterThanOrEqual(1);
    for (const gauge of ['OldestUnknownOrderSeconds', 'StuckOrders', 'ReconcilerLagSeconds']) {
      expect({ gauge, value: Number.isInteger(run![gauge]) && run![gauge] >= 0 }).toEqual({ gauge, value: true });
    }
  });
});
