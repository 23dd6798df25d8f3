import { LatencyTracker, latencyKey } from '../../lib/upstream/latency';

const tracker = (overrides: Partial<ConstructorParameters<typeof LatencyTracker>[0]> = {}) =>
  new LatencyTracker({ floorMs: 200, p99Factor: 1.5, minSamples: 10, windowSize: 100, ...overrides });

describe('attempt timeouts from observed latency', () => {
  it('uses the cap until enough answers have been observed', () => {
    const latency = tracker();
    for (let i = 0; i < 9; i++) latency.observe('POST /orders', 50);
    expect(latency.timeoutFor('POST /orders', 8000)).toBe(8000);
    latency.observe('POST /orders', 50);
    expect(latency.timeoutFor('POST /orders', 8000)).toBe(200);
  });

  it('is the p99 times the factor, within the floor and the cap', () => {
    const latency = tracker();
    for (let i = 1; i <= 100; i++) latency.observe('GET /orders', i * 10); // p99 = 990 ms
    expect(latency.p99('GET /orders')).toBe(990);
    expect(latency.timeoutFor('GET /orders', 8000)).toBe(1485);
    expect(latency.timeoutFor('GET /orders', 1000)).toBe(1000);
  });

  it('follows the latest answers only: a slow spell ages out of the window', () => {
    const latency = tracker({ windowSize: 20 });
    for (let i = 0; i < 20; i++) latency.observe('GET /orders', 3000);
    expect(latency.timeoutFor('GET /orders', 8000)).toBe(4500);
    for (let i = 0; i < 20; i++) latency.observe('GET /orders', 100);
    expect(latency.timeoutFor('GET /orders', 8000)).toBe(200);
  });

  it('keeps each kind of call apart', () => {
    const latency = tracker({ minSamples: 1 });
    latency.observe('POST /orders', 2000);
    latency.observe('GET /orders', 10);
    expect(latency.timeoutFor('POST /orders', 8000)).toBe(3000);
    expect(latency.timeoutFor('GET /orders', 8000)).toBe(200);
    expect(latency.timeoutFor('POST /payments', 8000)).toBe(8000);
  });

  it('groups calls by method and collection', () => {
    expect(latencyKey('GET', '/orders/')).toBe('GET /orders');
    expect(latencyKey('GET', '/orders/abc')).toBe('GET /orders');
    expect(latencyKey('PATCH', '/orders/abc')).toBe('PATCH /orders');
    expect(latencyKey('GET', '/products/')).toBe('GET /products');
  });
});
