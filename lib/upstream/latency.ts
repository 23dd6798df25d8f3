/**
 * The latencies a client has observed, per kind of call, for attempt
 * timeouts derived from them ("The Tail at Scale"): a hung call that can be
 * checked or safely repeated should cost about the upstream's p99, not the
 * fixed per-call cap. A new container starts from a configured estimate of
 * that timeout (its first hung call then costs the estimate too, not the cap)
 * and hands over to what it observes, answer by answer.
 */
export interface AdaptiveTimeoutOptions {
  /** Never time an attempt out sooner than this. */
  floorMs: number;
  /** The timeout is this multiple of the observed p99. */
  p99Factor: number;
  /**
   * Answers to observe before the timeout is factor × observed p99 alone. Before that it moves from
   * `initialMs` towards it in step with the answers (after k of n answers, k/n of the way); with no
   * `initialMs`, it is the cap until then.
   */
  minSamples: number;
  /** How many of the latest answers the p99 is taken over. */
  windowSize: number;
  /**
   * The attempt timeout before anything is observed (within floor and cap): the configured estimate
   * of factor × the upstream's p99. Absent: the cap.
   */
  initialMs?: number;
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

  /**
   * The attempt timeout for this kind of call, within [floor, cap]: factor × observed p99 once
   * `minSamples` answers are in; before that a blend that starts at `initialMs` (the cap without one)
   * and moves to factor × observed p99 in step with the answers.
   */
  timeoutFor(key: string, capMs: number): number {
    const { floorMs, p99Factor, minSamples, initialMs } = this.options;
    const window = this.windows.get(key);
    const seen = window?.count ?? 0;
    const observed = window && seen > 0 ? window.percentile(99) * p99Factor : undefined;
    let timeout: number;
    if (observed !== undefined && seen >= minSamples) timeout = observed;
    else if (initialMs === undefined) return capMs;
    else timeout = observed === undefined ? initialMs : initialMs + (seen / minSamples) * (observed - initialMs);
    return Math.min(capMs, Math.max(floorMs, Math.ceil(timeout)));
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
