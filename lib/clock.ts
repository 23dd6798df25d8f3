import { setTimeout as wait } from 'node:timers/promises';

/**
 * Time as the use-cases see it. The system's in the service; the checkout
 * simulation (tests/simulation) passes a virtual one, so leases, abandonment
 * and expiries follow its schedule instead of real sleeps.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => wait(ms),
};
