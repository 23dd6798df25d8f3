/** A uniform draw in [0, 1). */
export type Prng = () => number;

/** mulberry32: a tiny, fast, seedable 32-bit PRNG; plenty for simulating latency and faults. */
export function mulberry32(seed: number): Prng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** z-score of the 99th percentile of the standard normal distribution. */
const Z_P99 = 2.3263;

/** Box–Muller: turns two uniform draws into one standard normal draw. */
function standardNormal(u1: number, u2: number): number {
  return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * A lognormal latency with the given median and 99th percentile, from two uniform draws.
 * Rounded to whole milliseconds (timer resolution).
 */
export function lognormalLatencyMs(medianMs: number, p99Ms: number, u1: number, u2: number): number {
  if (medianMs <= 0) return 0;
  const sigma = Math.log(p99Ms / medianMs) / Z_P99;
  return Math.round(medianMs * Math.exp(sigma * standardNormal(u1, u2)));
}
