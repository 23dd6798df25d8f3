/**
 * Runs work(0..count-1) with at most `concurrency` in flight (the terminals);
 * results keep their index. `onDone` is called after each item (progress).
 */
export async function runPool<T>(
  count: number,
  concurrency: number,
  work: (index: number) => Promise<T>,
  onDone?: (done: number) => void,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await work(index);
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** Prints "label: done/total" on one line at most every 10 % (and at the end). */
export function progress(label: string, total: number): (done: number) => void {
  const step = Math.max(1, Math.floor(total / 10));
  return (done) => {
    if (done % step === 0 || done === total) process.stdout.write(`  ${label}: ${done}/${total}\n`);
  };
}

/**
 * At most `slots` holders at once; the others wait in arrival order. The
 * prepared flow uses it to keep exactly as many requests in flight as the
 * other flows while its customers pause between prepare and pay.
 */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(slots: number) {
    this.free = slots;
  }

  async hold<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
