/**
 * One checkout in a process of its own, for the crash-recovery tests: it takes
 * the Idempotency-Key and calls services().checkout.placeOrder exactly as
 * functions/orders/place.ts does, and with CRASH_AT=<point> it dies at that
 * point (exit code CRASH_EXIT_CODE), leaving only what was committed.
 *
 * Usage: tsx tests/support/crash-runner.ts <user> <basketId> <idempotencyKey>
 * Environment: the handlers' own (DATABASE_URL, UPSTREAM_BASE_URL, AUTH_JWT_SECRET, timeouts) plus CRASH_AT.
 * Without a crash it prints the order's state and exits 0, or prints the error code and exits 1.
 */
import { signDevToken } from '../../dev/simulator';
import { config } from '../../lib/config';
import { closeDb } from '../../lib/db/sql';
import { Deadline } from '../../lib/deadline';
import { isAppError } from '../../lib/errors';
import { routes } from '../../lib/http/routes';
import { rootLogger } from '../../lib/logger';
import { idempotently, paymentReply } from '../../lib/orders/http';
import { services } from '../../lib/services';

async function main(): Promise<number> {
  const [user, basketId, key] = process.argv.slice(2);
  if (!user || !basketId || !key) throw new Error('usage: crash-runner.ts <user> <basketId> <idempotencyKey>');
  const caller = { userId: user, token: await signDevToken(config().AUTH_JWT_SECRET!, user), roles: [] };
  const deadline = Deadline.fromNow(config().REQUEST_DEADLINE_MS);
  const log = rootLogger.child({ crashAt: process.env.CRASH_AT, basketId });
  const request = { caller, deadline, headers: { 'idempotency-key': key }, params: { basketId }, body: undefined };
  try {
    const reply = await idempotently(request, routes.placeOrder, async (idempotencyKey) => {
      const order = await services().checkout.placeOrder(caller, basketId, idempotencyKey, undefined, { token: caller.token, deadline, log });
      return paymentReply(order);
    });
    process.stdout.write(`${JSON.stringify({ outcome: 'returned', reply })}\n`);
    return 0;
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ outcome: 'threw', code: isAppError(error) ? error.code : String(error) })}\n`);
    return 1;
  } finally {
    await closeDb();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`crash-runner failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(2);
  },
);
