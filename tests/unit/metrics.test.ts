import '../support/metrics-on';
import {
  afterTheReply,
  checkoutOutcome,
  createMetrics,
  MetricName,
  MetricsRecorder,
  recordCheckout,
  recordOrderGauges,
  recordReconcilerRun,
  upstreamMetrics,
  upstreamOutcome,
  upstreamRoute,
} from '../../lib/metrics';

type Emf = Record<string, any>;

/** The EMF lines a recorder publishes while `work` runs. */
async function published(work: (recorder: MetricsRecorder) => void | Promise<void>): Promise<Emf[]> {
  const chunks: string[] = [];
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await work(new MetricsRecorder(createMetrics()));
  } finally {
    out.mockRestore();
  }
  return chunks
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Emf)
    .filter((entry) => entry._aws);
}

const directive = (emf: Emf) =>
  emf._aws.CloudWatchMetrics[0] as { Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> };

describe('metric names, units and dimensions', () => {
  it('classifies checkout answers into outcomes', () => {
    expect(
      [
        [201],
        [202],
        [402, 'PAYMENT_DECLINED'],
        [502, 'PAYMENT_STATUS_UNKNOWN'],
        [503, 'UPSTREAM_UNAVAILABLE'],
        [504, 'UPSTREAM_TIMEOUT'],
        [409, 'BASKET_LOCKED'],
        [412, 'VERSION_MISMATCH'],
        [422, 'IDEMPOTENCY_KEY_REUSED'],
        [502, 'UPSTREAM_ERROR'],
        [500, 'INTERNAL'],
      ].map(([status, code]) => checkoutOutcome(status as number, code as string | undefined)),
    ).toEqual(['paid', 'pending', 'declined', 'unknown', 'retry_later', 'retry_later', 'refused', 'refused', 'refused', 'error', 'error']);
    expect(checkoutOutcome(402, 'PAYMENT_DECLINED', true)).toBe('replayed');
  });

  it('names upstream routes by method and template, and outcomes by status class or failure', () => {
    expect(upstreamRoute('POST', '/orders/')).toBe('POST /orders/');
    expect(upstreamRoute('GET', '/orders/?basket_id=abc')).toBe('GET /orders/');
    expect(upstreamRoute('GET', '/orders/4a3f004f-4b76-4796-adea-308a7c22a40e')).toBe('GET /orders/{id}');
    expect(upstreamRoute('patch', '/orders/42')).toBe('PATCH /orders/{id}');
    expect(upstreamRoute('DELETE', '/payments/p-1')).toBe('DELETE /payments/{id}');
    expect(upstreamRoute('GET', '/products/')).toBe('GET /products/');
    expect([
      upstreamOutcome({ status: 201 }),
      upstreamOutcome({ status: 404 }),
      upstreamOutcome({ status: 503, outcome: 'unavailable' }),
      upstreamOutcome({ outcome: 'timeout' }),
    ]).toEqual(['2xx', '4xx', '5xx', 'timeout']);
  });

  it('publishes a checkout as Checkouts (Count) by route and outcome, and by outcome alone', async () => {
    const [emf, ...rest] = await published((recorder) => {
      recorder.begin();
      recordCheckout('POST /orders/{orderId}/payments', 402, 'PAYMENT_DECLINED', false, recorder);
      recordCheckout('GET /orders/{orderId}', 200, undefined, false, recorder); // not a checkout route
      recorder.flush({ requestId: 'req-7' });
    });
    expect(rest).toEqual([]);
    expect(directive(emf!)).toEqual({
      Namespace: 'PosBasketService',
      Dimensions: [
        ['service', 'stage', 'route', 'outcome'],
        ['service', 'stage', 'outcome'],
      ],
      Metrics: [{ Name: 'Checkouts', Unit: 'Count' }],
    });
    expect(emf).toMatchObject({
      service: 'pos-basket-service',
      stage: 'local',
      route: 'POST /orders/{orderId}/payments',
      outcome: 'declined',
      Checkouts: 1,
      requestId: 'req-7',
    });
  });

  it('publishes upstream attempts: calls and latency by route and outcome, retries by route, breaker opens', async () => {
    const emfs = await published((recorder) => {
      const upstream = upstreamMetrics(recorder);
      recorder.begin();
      upstream.attempt({ method: 'POST', path: '/payments/', attempt: 1, durationMs: 40, status: 201 });
      upstream.attempt({ method: 'GET', path: '/orders/o-1', attempt: 1, durationMs: 1500, outcome: 'timeout' });
      upstream.attempt({ method: 'GET', path: '/orders/o-1', attempt: 2, durationMs: 20, status: 200 });
      upstream.attempt({ method: 'GET', path: '/orders/o-2', attempt: 1, durationMs: 30, status: 200 });
      upstream.attempt({ method: 'GET', path: '/orders/o-3', attempt: 1, outcome: 'circuit_open' });
      upstream.breakerOpened();
      recorder.flush();
    });
    const find = (route: string | undefined, outcome?: string, metric = 'UpstreamCalls') =>
      emfs.filter((emf) => emf.route === route && emf.outcome === outcome && directive(emf).Metrics.some((m) => m.Name === metric));

    const [payments] = find('POST /payments/', '2xx');
    expect(directive(payments!).Dimensions).toEqual([
      ['service', 'stage', 'route', 'outcome'],
      ['service', 'stage', 'route'],
      ['service', 'stage', 'outcome'],
    ]);
    expect(directive(payments!).Metrics).toEqual([
      { Name: 'UpstreamCalls', Unit: 'Count' },
      { Name: 'UpstreamLatency', Unit: 'Milliseconds' },
    ]);
    expect(payments).toMatchObject({ UpstreamCalls: 1, UpstreamLatency: 40 });
    // Two answered reads of one route share a line, as arrays of values.
    expect(find('GET /orders/{id}', '2xx')[0]).toMatchObject({ UpstreamCalls: [1, 1], UpstreamLatency: [20, 30] });
    expect(find('GET /orders/{id}', 'timeout')[0]).toMatchObject({ UpstreamCalls: 1, UpstreamLatency: 1500 });
    // Nothing was sent while the breaker was open: counted, no latency.
    const [open] = find('GET /orders/{id}', 'circuit_open');
    expect(open).toMatchObject({ UpstreamCalls: 1 });
    expect(open).not.toHaveProperty('UpstreamLatency');
    expect(find('GET /orders/{id}', undefined, 'UpstreamRetries')[0]).toMatchObject({ UpstreamRetries: 1 });
    expect(directive(find('GET /orders/{id}', undefined, 'UpstreamRetries')[0]!).Dimensions).toEqual([['service', 'stage', 'route']]);
    const [breaker] = find(undefined, undefined, 'BreakerOpened');
    expect(breaker).toMatchObject({ BreakerOpened: 1 });
    expect(directive(breaker!).Dimensions).toEqual([['service', 'stage']]);
  });

  it('publishes a reconciler run: heartbeat, counts and gauges under service and stage only', async () => {
    const [emf, ...rest] = await published((recorder) => {
      recorder.begin();
      recordReconcilerRun({ settled: 3, failed: 1, errors: 2, withoutCredentials: 0 }, recorder);
      recordOrderGauges({ unknownOrders: 4, oldestUnknownOrderSeconds: 3725.4, stuckOrders: 1, reconcilerLagSeconds: 61.6 }, recorder);
      recorder.flush({ runId: 'run-1' });
    });
    expect(rest).toEqual([]);
    expect(directive(emf!).Dimensions).toEqual([['service', 'stage']]);
    expect(directive(emf!).Metrics).toEqual([
      { Name: MetricName.ReconcilerRun, Unit: 'Count' },
      { Name: MetricName.ReconcilerSettled, Unit: 'Count' },
      { Name: MetricName.ReconcilerFailed, Unit: 'Count' },
      { Name: MetricName.ReconcilerErrors, Unit: 'Count' },
      { Name: MetricName.ReconcilerWithoutCredentials, Unit: 'Count' },
      { Name: MetricName.UnknownOrders, Unit: 'Count' },
      { Name: MetricName.OldestUnknownOrderSeconds, Unit: 'Seconds' },
      { Name: MetricName.StuckOrders, Unit: 'Count' },
      { Name: MetricName.ReconcilerLagSeconds, Unit: 'Seconds' },
    ]);
    expect(emf).toMatchObject({
      runId: 'run-1',
      ReconcilerRun: 1,
      ReconcilerSettled: 3,
      ReconcilerFailed: 1,
      ReconcilerErrors: 2,
      ReconcilerWithoutCredentials: 0,
      UnknownOrders: 4,
      OldestUnknownOrderSeconds: 3725,
      StuckOrders: 1,
      ReconcilerLagSeconds: 62,
    });
  });

  it('holds points until the invocation ends; points recorded after a reply, or outside any invocation, are published on their own', async () => {
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    const emfs = await published(async (recorder) => {
      recorder.begin();
      recordCheckout('POST /baskets/{basketId}/orders', 201, undefined, false, recorder);
      await tick();
      expect(recorder.metrics.hasStoredMetrics()).toBe(false);
      // After the reply to r-1, completing its order upstream: the answer lands later.
      let land!: () => void;
      afterTheReply({ requestId: 'r-1' }, () => {
        void new Promise<void>((resolve) => (land = resolve)).then(() =>
          upstreamMetrics(recorder).attempt({ method: 'PATCH', path: '/orders/o-1', attempt: 1, durationMs: 25, status: 200 }),
        );
      });
      recorder.flush({ requestId: 'r-1' });
      // Work outside any invocation.
      upstreamMetrics(recorder).attempt({ method: 'PATCH', path: '/orders/o-2', attempt: 1, durationMs: 30, status: 200 });
      await tick();
      // The next invocation has begun when r-1's completion lands: it is not r-2's.
      recorder.begin();
      land();
      await tick();
      await tick();
      recordCheckout('POST /orders/{orderId}/payments', 201, undefined, false, recorder);
      recorder.flush({ requestId: 'r-2' });
    });
    expect(emfs.map((emf) => [emf.route, emf.requestId, emf.UpstreamLatency])).toEqual([
      ['POST /baskets/{basketId}/orders', 'r-1', undefined],
      ['PATCH /orders/{id}', undefined, 30],
      ['PATCH /orders/{id}', 'r-1', 25],
      ['POST /orders/{orderId}/payments', 'r-2', undefined],
    ]);
  });
});
