/**
 * One checkout in a process of its own, for the crash-recovery tests: it
 * claims the Idempotency-Key (taken by the checkout's first write) and calls
 * checkout.placeOrder as functions/orders/place.ts does, with the ports wrapped so that the process
 * dies right after the step CRASH_AT names (tests/support/crash-points.ts),
 * leaving only what was committed.
 *
 * Usage: tsx tests/support/crash-runner.ts <user> <basketId> <idempotencyKey>
 * Environment: the handlers' own (DATABASE_URL, UPSTREAM_BASE_URL, AUTH_JWT_SECRET, timeouts) plus CRASH_AT.
 * Without a crash it prints the order's state and exits 0, or prints the error code and exits 1.
 */
import { signDevToken } from '../../dev/simulator';
import { config } from '../../lib/config';
import { closeDb, db } from '../../lib/db/sql';
import { Deadline } from '../../lib/deadline';
import { isAppError } from '../../lib/errors';
import { renderError } from '../../lib/http/error-response';
import { routeKey, routes } from '../../lib/http/routes';
import { claimRequest, finishClaim } from '../../lib/idempotency/lifecycle';
import { rootLogger } from '../../lib/logger';
import { paymentReply } from '../../lib/orders/http';
import { createServices } from '../../lib/services';
import { crashAt, isCrashPoint } from './crash-points';

async function main(): Promise<number> {
  const [user, basketId, key] = process.argv.slice(2);
  if (!user || !basketId || !key) throw new Error('usage: crash-runner.ts <user> <basketId> <idempotencyKey>');
  const point = process.env.CRASH_AT;
  if (point !== undefined && !isCrashPoint(point)) throw new Error(`unknown crash point ${point}`);
  const services = createServices(config(), db(), { wrapPorts: point ? crashAt(point) : undefined });
  const caller = { userId: user, token: await signDevToken(config().AUTH_JWT_SECRET!, user), roles: [] };
  const deadline = Deadline.fromNow(config().REQUEST_DEADLINE_MS);
  const log = rootLogger.child({ crashAt: point, basketId });
  const route = routeKey(routes.placeOrder);
  try {
    const claim = claimRequest(services.idempotency, {
      ownerId: user,
      key,
      method: 'POST',
      route,
      params: { basketId },
      body: null,
      lockMs: deadline.remainingMs() + 5000,
    });
    try {
      const order = await services.checkout.placeOrder(
        caller,
        basketId,
        key,
        undefined,
        { token: caller.token, deadline, log },
        { pay: true, key: claim },
      );
      const reply = paymentReply(order);
      await finishClaim(services.idempotency, claim, {
        status: reply.status,
        body: JSON.stringify(reply.body),
        headers: reply.headers ?? {},
      });
      process.stdout.write(`${JSON.stringify({ outcome: 'returned', reply })}\n`);
      return 0;
    } catch (error) {
      await finishClaim(services.idempotency, claim, isAppError(error) ? renderError(error) : undefined);
      throw error;
    }
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ outcome: 'threw', code: isAppError(error) ? error.code : String(error) })}\n`);
    return 1;
  } finally {
    await services.close();
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
