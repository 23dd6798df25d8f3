/**
 * Test instrumentation for crash recovery: with CRASH_AT=<point> the process
 * dies at that point, as a Lambda killed mid-request would, leaving only what
 * was already committed. Unset in production, where this is a no-op.
 */
export type CrashPoint =
  | 'after-order-row'
  | 'after-order-created'
  | 'after-order-placed'
  | 'after-payment-recorded'
  | 'after-payment-sent'
  | 'after-payment-paid';

export const CRASH_EXIT_CODE = 86;

export function crashPoint(point: CrashPoint): void {
  if (process.env.CRASH_AT !== point) return;
  process.stderr.write(`crash point ${point}: exiting\n`);
  process.exit(CRASH_EXIT_CODE);
}
