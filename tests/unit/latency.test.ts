import { LatencyTracker, latencyKey } from '../../lib/upstream/latency';

const tracker = (overrides: Partial<ConstructorParameters<typeof LatencyTracker>[0]> = {}) =>
  new LatencyTracker({ floorMs: 200, p99Factor: 1.5, minSamples: 10, windowSize: 100, ...overrides });

describe('attempt timeouts from observed latency', () => {
  it('without an initial estimate, uses the cap until enough answers have been observed', () => {
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

describe('a cold tracker starts from the initial estimate, not the cap', () => {
  const cold = (overrides: Partial<ConstructorParameters<typeof LatencyTracker>[0]> = {}) =>
    tracker({ floorMs: 500, minSamples: 20, windowSize: 200, initialMs: 1000, ...overrides });

  it('times out at the estimate before any answer, for every kind of call', () => {
    const latency = cold();
    expect(latency.timeoutFor('POST /orders', 8000)).toBe(1000);
    expect(latency.timeoutFor('GET /orders', 8000)).toBe(1000);
  });

  it('moves from the estimate to factor × observed p99 in step with the answers', () => {
    const latency = cold();
    for (let i = 0; i < 5; i++) latency.observe('POST /orders', 2000); // factor × p99 = 3000
    expect(latency.timeoutFor('POST /orders', 8000)).toBe(1500); // a quarter of the way from 1000
    for (let i = 0; i < 5; i++) latency.observe('POST /orders', 2000);
    expect(latency.timeoutFor('POST /orders', 8000)).toBe(2000); // half way
    for (let i = 0; i < 10; i++) latency.observe('POST /orders', 2000);
    expect(latency.timeoutFor('POST /orders', 8000)).toBe(3000); // 20 answers: the observed p99 alone
  });

  it('converges to factor × the observed p99, whether the upstream is faster or slower than estimated', () => {
    const fast = cold();
    const slow = cold();
    for (let i = 1; i <= 200; i++) {
      fast.observe('POST /orders', i * 2); // p99 = 396 ms
      slow.observe('POST /orders', i * 20); // p99 = 3960 ms
    }
    expect(fast.timeoutFor('POST /orders', 8000)).toBe(594);
    expect(slow.timeoutFor('POST /orders', 8000)).toBe(5940);
  });

  it('a few quick answers barely move it: one early answer is not a p99', () => {
    const latency = cold();
    latency.observe('POST /orders', 5);
    expect(latency.timeoutFor('POST /orders', 8000)).toBe(951); // 1/20 of the way from 1000 to 7.5 ms
  });

  it('stays within the floor and the cap whatever the estimate', () => {
    expect(cold({ initialMs: 100 }).timeoutFor('POST /orders', 8000)).toBe(500);
    expect(cold({ initialMs: 12000 }).timeoutFor('POST /orders', 8000)).toBe(8000);
    expect(cold().timeoutFor('POST /orders', 700)).toBe(700);
    const slow = cold({ initialMs: 12000 });
    for (let i = 0; i < 10; i++) slow.observe('POST /orders', 10);
    expect(slow.timeoutFor('POST /orders', 8000)).toBe(6008); // half way from 12000 to 15 ms, under the cap
    for (let i = 0; i < 10; i++) slow.observe('POST /orders', 10);
    expect(slow.timeoutFor('POST /orders', 8000)).toBe(500); // 15 ms observed: the floor
  });

  it('with more answers needed than the window holds, keeps to the estimate', () => {
    const latency = cold({ minSamples: 1_000_000, windowSize: 10 });
    for (let i = 0; i < 50; i++) latency.observe('POST /orders', 3000);
    expect(latency.timeoutFor('POST /orders', 8000)).toBe(1001); // 10 answers of a million: 1000 + 3500 × 10⁻⁵, rounded up
  });
});
