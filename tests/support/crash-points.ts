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
  'after-order-placed',
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

type Step<T> = { [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R> ? (result: Awaited<R>, args: A) => boolean : never };

/** `port` with `steps[method]` checked after each call of that method resolves: true means crash now. */
function crashAfter<T extends object>(port: T, point: CrashPoint, steps: Partial<Step<T>>): T {
  return new Proxy(port, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      const isStep = steps[name as keyof T] as ((result: unknown, args: unknown[]) => boolean) | undefined;
      if (typeof value !== 'function' || !isStep) return value;
      return async (...args: unknown[]) => {
        const result = await value.apply(target, args);
        if (isStep(result, args)) crash(point);
        return result;
      };
    },
  });
}

/** Wraps the ports so that the process dies right after `point`'s step. */
export function crashAt(point: CrashPoint): WrapPorts {
  return (ports: Ports): Ports => {
    switch (point) {
      case 'after-order-row':
        return { ...ports, orders: crashAfter(ports.orders, point, { open: (opened) => opened !== undefined }) };
      case 'after-order-created':
        return { ...ports, upstreamOrders: crashAfter(ports.upstreamOrders, point, { createOrder: () => true }) };
      case 'after-order-placed':
        return { ...ports, orders: crashAfter(ports.orders, point, { transition: (order) => order?.state === 'placed' }) };
      case 'after-payment-recorded':
        return { ...ports, orders: crashAfter(ports.orders, point, { startPayment: (started) => started !== undefined }) };
      case 'after-payment-sent':
        return { ...ports, payments: crashAfter(ports.payments, point, { createPayment: () => true }) };
      case 'after-payment-paid':
        return { ...ports, orders: crashAfter(ports.orders, point, { finishPayment: (order) => order?.state === 'paid' }) };
    }
  };
}
