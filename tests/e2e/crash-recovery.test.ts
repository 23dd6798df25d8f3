import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Sql } from '../../lib/db/sql';
import type { OrderState } from '../../lib/orders/state-machine';
import { PIZZA } from '../support/catalogue';
import { CRASH_EXIT_CODE, type CrashPoint } from '../support/crash-points';
import { basketStatus, emptyBasket, newCashier, paymentAttemptOutcomes, submitCheckout, type Checkout } from '../support/checkout';
import { E2E_HANDLER_ENV } from '../support/e2e-env';
import { api, runReconciler, simulator } from '../support/http';
import { ledgerProblems, NO_MONEY_PROBLEMS, testDb } from '../support/ledger';

const PROJECT_ROOT = path.resolve(__dirname, '../..');
const TOTAL_MINOR = 2880; // two pizzas: 2 × 12.00 net + 20 % VAT

/**
 * What each crash must end as. The Record makes the compiler insist on every
 * crash point tests/support/crash-points.ts declares.
 */
interface Expectation {
  /** Our order's state when the process dies. */
  stateAtCrash: OrderState;
  /** Whether the upstream holds our order when the process dies. */
  upstreamOrderAtCrash: boolean;
  /** Whether the upstream has charged the card when the process dies. */
  chargedAtCrash: boolean;
  /** The write that recorded the payment's outcome stored the answer for the key before the process died: every retry replays it. */
  answerStoredAtCrash?: boolean;
  /** A retry of the same request: the answer it must get and the states the order may be in after it. */
  retry: { status: number; code?: string; states: OrderState[]; charges: number };
  /** No retry; the reconciler settles the abandoned order instead. */
  reconciled: {
    state: OrderState;
    basket: 'open' | 'locked' | 'closed';
    upstreamStatus?: 'pending' | 'completed' | 'failed';
    charges: number;
  };
}

const PAID = ['paid', 'completed'] as OrderState[];
/** A retry with the same key finishes the checkout: paid once. */
const RETRY_PAYS: Expectation['retry'] = { status: 201, states: PAID, charges: 1 };
/** A retry with the same key finds the payment's outcome unknown (never sent again). */
const retryUnknown = (charges: number): Expectation['retry'] => ({
  status: 502,
  code: 'PAYMENT_STATUS_UNKNOWN',
  states: ['unknown'],
  charges,
});
const atCrash = (stateAtCrash: OrderState, upstreamOrderAtCrash: boolean, chargedAtCrash: boolean) => ({
  stateAtCrash,
  upstreamOrderAtCrash,
  chargedAtCrash,
});

const EXPECTED: Record<CrashPoint, Expectation> = {
  'after-order-row': {
    ...atCrash('pending', false, false),
    retry: RETRY_PAYS,
    reconciled: { state: 'failed', basket: 'open', charges: 0 },
  },
  'after-order-created': {
    ...atCrash('pending', true, false),
    retry: RETRY_PAYS,
    reconciled: { state: 'failed', basket: 'open', upstreamStatus: 'failed', charges: 0 },
  },
  'after-payment-recorded': {
    ...atCrash('paying', true, false),
    retry: retryUnknown(0),
    reconciled: { state: 'unknown', basket: 'locked', upstreamStatus: 'pending', charges: 0 },
  },
  'after-payment-sent': {
    ...atCrash('paying', true, true),
    retry: retryUnknown(1),
    reconciled: { state: 'unknown', basket: 'locked', upstreamStatus: 'pending', charges: 1 },
  },
  'after-payment-paid': {
    ...atCrash('paid', true, true),
    answerStoredAtCrash: true,
    retry: RETRY_PAYS,
    reconciled: { state: 'completed', basket: 'closed', upstreamStatus: 'completed', charges: 1 },
  },
};

const CRASH_POINTS = Object.keys(EXPECTED) as CrashPoint[];
const TERMINAL: OrderState[] = ['completed', 'failed', 'unknown', 'refunded'];

interface ChildResult {
  exitCode: number | null;
  output: string;
}

/** Checkout processes run at once: each loads the whole service, and a starved one could miss its own deadline. */
const PARALLEL_PROCESSES = 4;
let runningProcesses = 0;
const waitingForProcess: Array<() => void> = [];

async function withProcessSlot<T>(work: () => Promise<T>): Promise<T> {
  while (runningProcesses >= PARALLEL_PROCESSES) await new Promise<void>((resolve) => waitingForProcess.push(resolve));
  runningProcesses++;
  try {
    return await work();
  } finally {
    runningProcesses--;
    waitingForProcess.shift()?.();
  }
}

/** Runs the checkout in its own process, as a Lambda would, and waits for it to die (or finish). */
function runCheckoutProcess(checkout: Checkout, crashAt: CrashPoint): Promise<ChildResult> {
  const child = spawn(
    path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'),
    ['tests/support/crash-runner.ts', checkout.user, checkout.basketId, checkout.key],
    {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        ...E2E_HANDLER_ENV,
        LOG_LEVEL: 'warn',
        DATABASE_URL: process.env.DATABASE_URL,
        UPSTREAM_BASE_URL: process.env.TEST_SIMULATOR_URL,
        AUTH_JWT_SECRET: process.env.AUTH_JWT_SECRET,
        CRASH_AT: crashAt,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => {
      clearTimeout(killer);
      resolve({ exitCode, output });
    });
  });
}

async function newCheckout(label: string): Promise<Checkout> {
  const cashier = await newCashier(label);
  const basketId = await emptyBasket(cashier);
  const filled = await api(`/baskets/${basketId}/items/${PIZZA}`, { method: 'PUT', token: cashier.token, body: { quantity: 2 } });
  expect(filled.body.totals.gross).toBe(TOTAL_MINOR);
  return { ...cashier, basketId, key: randomUUID() };
}

/** A checkout whose process died at `point`, with the evidence that it really died there. */
async function crashedCheckout(label: string, point: CrashPoint): Promise<Checkout & { child: ChildResult }> {
  const checkout = await newCheckout(label);
  return { ...checkout, child: await withProcessSlot(() => runCheckoutProcess(checkout, point)) };
}

// Thirteen child processes start TypeScript from scratch; on a loaded 2-core machine that takes a while.
jest.setTimeout(120_000);

describe('crash recovery: a checkout killed between any two steps', () => {
  let sql: Sql;
  const crashedForRetry = new Map<CrashPoint, Promise<Checkout & { child: ChildResult }>>();
  const crashedForReconciler = new Map<CrashPoint, Promise<Checkout & { child: ChildResult }>>();
  let crashedWhilePayingForFreshRetry: Promise<Checkout & { child: ChildResult }>;

  // Every crash is independent (its own user, basket and key), so the processes run side by side.
  beforeAll(() => {
    sql = testDb();
    for (const point of CRASH_POINTS) {
      crashedForRetry.set(point, crashedCheckout('crash-retry', point));
      crashedForReconciler.set(point, crashedCheckout('crash-reconcile', point));
    }
    crashedWhilePayingForFreshRetry = crashedCheckout('crash-fresh-retry', 'after-payment-recorded');
    return Promise.all([...crashedForRetry.values(), ...crashedForReconciler.values(), crashedWhilePayingForFreshRetry]);
  }, 240_000);

  afterAll(() => sql.end());

  async function orderOf(basketId: string) {
    const [order] = await sql<{ id: string; state: OrderState; total_minor: number; payment_attempts: number }[]>`
      select id, state, total_minor, payment_attempts from orders where basket_id = ${basketId}`;
    return order;
  }

  /** What the upstream saw for this user: orders with our id, charges, and how often each kind of request was sent. */
  async function upstream(user: string) {
    const ledger = await simulator.ledger(user);
    const sent = (method: string, prefix: string) =>
      ledger.calls.filter((call) => call.method === method && call.path.startsWith(prefix)).length;
    return {
      orders: ledger.orders,
      charges: ledger.payments.filter((payment) => payment.status === 'completed' || payment.status === 'refunded'),
      orderPosts: sent('POST', '/orders'),
      paymentPosts: sent('POST', '/payments'),
      problems: await ledgerProblems(ledger, sql),
    };
  }

  /**
   * Sets when the dead request's Idempotency-Key lock runs out: still held, or
   * expired (as it is a few seconds after the Lambda died).
   */
  async function setKeyLock(checkout: Checkout, lock: 'held' | 'expired'): Promise<void> {
    const until = lock === 'held' ? sql`now() + interval '1 minute'` : sql`now() - interval '1 second'`;
    const updated = await sql`
      update idempotency_keys set locked_until = ${until}
      where owner_id = ${checkout.user} and idempotency_key = ${checkout.key} and status = 'in_progress'`;
    expect(updated.count).toBe(1);
  }

  async function keyStatus(checkout: Checkout): Promise<string | undefined> {
    const [key] = await sql<{ status: string }[]>`
      select status from idempotency_keys where owner_id = ${checkout.user} and idempotency_key = ${checkout.key}`;
    return key?.status;
  }

  /** As if an hour had passed since the order last changed and its payment (if any) was sent. */
  async function ageOrder(orderId: string): Promise<void> {
    await sql`update orders set updated_at = now() - interval '1 hour' where id = ${orderId}`;
    await sql`update payment_attempts set created_at = now() - interval '1 hour' where order_id = ${orderId}`;
  }

  it.each(CRASH_POINTS)('the process dies at %s, leaving the order and the upstream as far as it got', async (point) => {
    const expected = EXPECTED[point];
    for (const crashed of [await crashedForRetry.get(point)!, await crashedForReconciler.get(point)!]) {
      expect({ exitCode: crashed.child.exitCode, output: crashed.child.output }).toMatchObject({ exitCode: CRASH_EXIT_CODE });
      expect(crashed.child.output).toContain(`crash point ${point}`);
      const order = await orderOf(crashed.basketId);
      expect(order).toMatchObject({ state: expected.stateAtCrash, total_minor: TOTAL_MINOR });
      expect(await basketStatus(sql, crashed.basketId)).toBe('locked');
      const seen = await upstream(crashed.user);
      expect(seen.orders.map((o) => o.id)).toEqual(expected.upstreamOrderAtCrash ? [order.id] : []);
      expect(seen.charges.length).toBe(expected.chargedAtCrash ? 1 : 0);
    }
  });

  describe.each(CRASH_POINTS)('after a crash %s', (point) => {
    const expected = EXPECTED[point];

    it('a retry with the same Idempotency-Key resumes from the recorded state: one upstream order, never a second payment', async () => {
      const crashed = await crashedForRetry.get(point)!;
      expect(crashed.child.exitCode).toBe(CRASH_EXIT_CODE);
      const before = await orderOf(crashed.basketId);

      if (expected.answerStoredAtCrash) {
        expect(await keyStatus(crashed)).toBe('completed');
      } else {
        await setKeyLock(crashed, 'held');
        const whileLocked = await submitCheckout(crashed);
        expect(whileLocked.status).toBe(409);
        expect(whileLocked.body.error.code).toBe('REQUEST_IN_PROGRESS');

        await setKeyLock(crashed, 'expired');
      }
      // A payment left in flight is only given up once it is older than any live request could be.
      if (before.state === 'paying') await ageOrder(before.id);
      const resumed = await submitCheckout(crashed);

      expect(resumed.status).toBe(expected.retry.status);
      if (expected.retry.code) expect(resumed.body.error).toMatchObject({ code: expected.retry.code, orderId: before.id });
      else expect(resumed.body).toMatchObject({ id: before.id, basketId: crashed.basketId, total: TOTAL_MINOR, paymentAttempts: 1 });
      const after = await orderOf(crashed.basketId);
      expect(after.id).toBe(before.id);
      expect(expected.retry.states).toContain(after.state);
      expect(after.payment_attempts).toBe(1);
      const seen = await upstream(crashed.user);
      expect(seen.orders.map((o) => ({ id: o.basket_id, amount: o.amount_total }))).toEqual([{ id: before.id, amount: TOTAL_MINOR / 100 }]);
      expect(seen.orderPosts).toBe(1);
      expect(seen.paymentPosts).toBe(expected.retry.charges);
      expect(seen.charges.length).toBe(expected.retry.charges);
      expect(seen.problems).toEqual(NO_MONEY_PROBLEMS);
      if (after.state === 'unknown') expect(await paymentAttemptOutcomes(sql, after.id)).toEqual(['unknown']);

      const again = await submitCheckout(crashed);
      expect(again.status).toBe(resumed.status);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect((await upstream(crashed.user)).paymentPosts).toBe(expected.retry.charges);
    });

    it('without a retry, the reconciler drives the abandoned order to rest', async () => {
      const crashed = await crashedForReconciler.get(point)!;
      expect(crashed.child.exitCode).toBe(CRASH_EXIT_CODE);
      const before = await orderOf(crashed.basketId);
      await ageOrder(before.id);

      // Other reconciler runs (other test files) may hold the row's lease for a moment; a later run settles it.
      let after = before;
      for (let run = 0; run < 3 && !TERMINAL.includes(after.state); run++) {
        await runReconciler();
        after = await orderOf(crashed.basketId);
      }

      expect(after.state).toBe(expected.reconciled.state);
      expect(await basketStatus(sql, crashed.basketId)).toBe(expected.reconciled.basket);
      const seen = await upstream(crashed.user);
      expect(seen.orders.map((o) => o.status)).toEqual(expected.reconciled.upstreamStatus ? [expected.reconciled.upstreamStatus] : []);
      expect(seen.orderPosts).toBe(expected.upstreamOrderAtCrash ? 1 : 0);
      expect(seen.paymentPosts).toBe(expected.reconciled.charges);
      expect(seen.charges.length).toBe(expected.reconciled.charges);
      expect(seen.problems).toEqual(NO_MONEY_PROBLEMS);
      if (after.state === 'unknown') expect(await paymentAttemptOutcomes(sql, after.id)).toEqual(['unknown']);
    });
  });

  it('a retry while the dead payment is still recent is told it is in progress, and once it is abandoned learns the outcome is unknown', async () => {
    const crashed = await crashedWhilePayingForFreshRetry;
    expect(crashed.child.exitCode).toBe(CRASH_EXIT_CODE);
    const order = await orderOf(crashed.basketId);
    await setKeyLock(crashed, 'expired');

    const early = await submitCheckout(crashed);
    expect(early.status).toBe(409);
    expect(early.body.error).toMatchObject({ code: 'REQUEST_IN_PROGRESS', orderId: order.id });
    expect(early.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await orderOf(crashed.basketId)).state).toBe('paying');

    await ageOrder(order.id);
    const later = await submitCheckout(crashed);

    expect((await upstream(crashed.user)).paymentPosts).toBe(0);
    expect(later.status).toBe(502);
    expect(later.body.error).toMatchObject({ code: 'PAYMENT_STATUS_UNKNOWN', orderId: order.id });
    expect((await orderOf(crashed.basketId)).state).toBe('unknown');
  });
});
