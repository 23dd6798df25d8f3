import { DEFAULT_CONFIG } from '../../dev/simulator';
import { drawForRequest } from '../../dev/simulator/faults';
import { lognormalLatencyMs, mulberry32 } from '../../dev/simulator/random';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.floor(p * (sorted.length - 1))];
}

describe('latency distribution', () => {
  it('has the configured median and 99th percentile', () => {
    const prng = mulberry32(1);
    const samples = Array.from({ length: 50000 }, () => lognormalLatencyMs(100, 1000, prng(), prng()));
    const sorted = [...samples].sort((a, b) => a - b);
    expect(percentile(sorted, 0.5)).toBeGreaterThan(95);
    expect(percentile(sorted, 0.5)).toBeLessThan(105);
    expect(percentile(sorted, 0.99)).toBeGreaterThan(900);
    expect(percentile(sorted, 0.99)).toBeLessThan(1100);
  });

  it('is zero when the median is zero and constant when p99 equals the median', () => {
    expect(lognormalLatencyMs(0, 0, 0.3, 0.7)).toBe(0);
    expect(lognormalLatencyMs(50, 50, 0.3, 0.7)).toBe(50);
  });
});

describe('drawForRequest', () => {
  it('splits one draw between the fault kinds in proportion to their rates', () => {
    const prng = mulberry32(3);
    const config = { ...DEFAULT_CONFIG, faults: { rate503: 0.1, rate500After: 0.2, rateHangAfter: 0.05, rateReset: 0.15 } };
    const counts = new Map<string | null, number>();
    for (let i = 0; i < 20000; i++) {
      const { fault } = drawForRequest(prng, config);
      counts.set(fault, (counts.get(fault) ?? 0) + 1);
    }
    const share = (kind: string | null) => (counts.get(kind) ?? 0) / 20000;
    expect(share('503')).toBeCloseTo(0.1, 1);
    expect(share('500_after')).toBeCloseTo(0.2, 1);
    expect(share('hang_after')).toBeCloseTo(0.05, 1);
    expect(share('reset')).toBeCloseTo(0.15, 1);
    expect(share(null)).toBeCloseTo(0.5, 1);
  });

  it('keeps the latency sequence of a seed when fault rates change', () => {
    const latencies = (faults: typeof DEFAULT_CONFIG.faults) => {
      const prng = mulberry32(9);
      const config = { ...DEFAULT_CONFIG, latency: { medianMs: 10, p99Ms: 100 }, faults };
      return Array.from({ length: 50 }, () => drawForRequest(prng, config).latencyMs);
    };
    expect(latencies({ rate503: 0.5, rate500After: 0, rateHangAfter: 0, rateReset: 0 })).toEqual(latencies(DEFAULT_CONFIG.faults));
  });
});
