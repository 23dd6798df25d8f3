import { systemClock, type Clock } from './clock';

/** Milliseconds kept back from the Lambda's remaining time to write the reply. */
const REPLY_MARGIN_MS = 1000;

/**
 * One deadline per request, below the API Gateway/Lambda limit; every
 * upstream call takes its timeout from what is left of it.
 */
export class Deadline {
  private constructor(
    readonly at: number,
    private readonly clock: Clock,
  ) {}

  static fromNow(budgetMs: number, options: { lambdaRemainingMs?: number; clock?: Clock } = {}): Deadline {
    const { lambdaRemainingMs, clock = systemClock } = options;
    const lambdaBudget = lambdaRemainingMs !== undefined && lambdaRemainingMs > 0 ? lambdaRemainingMs - REPLY_MARGIN_MS : budgetMs;
    return new Deadline(clock.now() + Math.max(0, Math.min(budgetMs, lambdaBudget)), clock);
  }

  remainingMs(): number {
    return Math.max(0, this.at - this.clock.now());
  }

  /** The timeout for one call: its own cap, or less when the request has less left. */
  timeoutFor(callCapMs: number): number {
    return Math.min(callCapMs, this.remainingMs());
  }
}
