/**
 * Crash injection for the crash-recovery tests, installed around the ports of
 * a checkout that runs in a process of its own (tests/support/crash-runner.ts):
 * when the chosen step has returned, the process dies as a Lambda killed
 * mid-request would, leaving only what was already committed or sent.
 * Production code knows nothing of it.
 */
import type { Ports, WrapPorts } from '../../lib/services';

export const CRASH_POINTS = [
  'after-order-row',
  'after-order-created',
  // A one-shot checkout adopts the upstream order and records the payment in one write (pending → paying):
  // nothing commits between the two, so after-payment-recorded is the step after the order was created.
  'after-payment-recorded',
  'after-payment-sent',
  'after-payment-paid',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

export const CRASH_EXIT_CODE = 86;

export function isCrashPoint(value: string | undefined): value is CrashPoint {
  return CRASH_POINTS.includes(value as CrashPoint);
}

function crash(point: CrashPoint): never {
  process.stderr.write(`crash point ${point}: exiting\n`);
  process.exit(CRASH_EXIT_CODE);
}

type Steps<T> = { [K in keyof T]?: T[K] extends (...args: never[]) => Promise<infer R> ? (result: Awaited<R>) => boolean : never };

/** `port` with `isStep` checked after each call of `method` resolves: true means the step is done, so crash now. */
function crashAfter<T extends object>(port: T, point: CrashPoint, steps: Steps<T>): T {
  return new Proxy(port, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      const isStep = steps[name as keyof T] as ((result: unknown) => boolean) | undefined;
      if (typeof value !== 'function' || !isStep) return value;
      return async (...args: unknown[]) => {
        const result = await value.apply(target, args);
        if (isStep(result)) crash(point);
        return result;
      };
    },
  });
}

/** Which port call ends each step. */
const STEP_ENDS: { [P in CrashPoint]: (ports: Ports) => Partial<Ports> } = {
  'after-order-row': ({ orders }) => ({ orders: crashAfter(orders, 'after-order-row', { open: (opened) => opened !== undefined }) }),
  'after-order-created': ({ upstreamOrders }) => ({
    upstreamOrders: crashAfter(upstreamOrders, 'after-order-created', { createOrder: () => true }),
  }),
  'after-payment-recorded': ({ orders }) => ({
    orders: crashAfter(orders, 'after-payment-recorded', { startPayment: (started) => started !== undefined }),
  }),
  'after-payment-sent': ({ payments }) => ({ payments: crashAfter(payments, 'after-payment-sent', { createPayment: () => true }) }),
  'after-payment-paid': ({ orders }) => ({
    orders: crashAfter(orders, 'after-payment-paid', { finishPayment: (order) => order?.state === 'paid' }),
  }),
};

/** Wraps the ports so that the process dies right after `point`'s step. */
export function crashAt(point: CrashPoint): WrapPorts {
  return (ports) => ({ ...ports, ...STEP_ENDS[point](ports) });
}
