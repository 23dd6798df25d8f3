/**
 * The latencies a client has observed, per kind of call, for attempt
 * timeouts derived from them ("The Tail at Scale"): a hung call that can be
 * checked or safely repeated should cost about the upstream's p99, not the
 * fixed per-call cap.
 */
export interface AdaptiveTimeoutOptions {
  /** Never time an attempt out sooner than this. */
  floorMs: number;
  /** The timeout is this multiple of the observed p99. */
  p99Factor: number;
  /** Answers to observe before the timeout adapts (until then: the cap). */
  minSamples: number;
  /** How many of the latest answers the p99 is taken over. */
  windowSize: number;
}

class Window {
  private readonly samples: number[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  add(ms: number): void {
    if (this.samples.length < this.size) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.size;
  }

  get count(): number {
    return this.samples.length;
  }

  percentile(p: number): number {
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  }
}

export class LatencyTracker {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly options: AdaptiveTimeoutOptions) {}

  /** Records how long an attempt took to get an answer (any status: the upstream was there to answer). */
  observe(key: string, ms: number): void {
    let window = this.windows.get(key);
    if (!window) this.windows.set(key, (window = new Window(this.options.windowSize)));
    window.add(ms);
  }

  /** The attempt timeout for this kind of call: factor × observed p99 within [floor, cap], or the cap until enough is observed. */
  timeoutFor(key: string, capMs: number): number {
    const window = this.windows.get(key);
    if (!window || window.count < this.options.minSamples) return capMs;
    const adaptive = Math.ceil(window.percentile(99) * this.options.p99Factor);
    return Math.min(capMs, Math.max(this.options.floorMs, adaptive));
  }

  p99(key: string): number | undefined {
    const window = this.windows.get(key);
    return window && window.count > 0 ? window.percentile(99) : undefined;
  }
}

/** Calls that share a latency profile: the method and the collection, e.g. "GET /orders" for the list and one order alike. */
export function latencyKey(method: string, path: string): string {
  return `${method} /${path.split('/').filter(Boolean)[0] ?? ''}`;
}
