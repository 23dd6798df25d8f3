import type { Caller } from '../../lib/auth';
import { parseConfig } from '../../lib/config';
import type { Sql } from '../../lib/db/sql';
import type { Logger, LogFields } from '../../lib/logger';
import { createServices, type Ports, type Services } from '../../lib/services';
import { DEFAULT_PROFILE } from '../simulator/config';
import { UPSTREAM_READINGS } from '../simulator/profiles';
import type { UpstreamProfile } from '../simulator/types';
import type { Plan } from './plan';
import { Runtime, VirtualClock, type Actor, type PromiseScheduler } from './runtime';
import { SimulatedUpstream } from './upstream';

/** Every schedule starts at the same virtual moment. */
export const EPOCH = Date.parse('2030-01-01T00:00:00Z');

/** How long after a request was sent the upstream may still apply it (the service's UPSTREAM_LATE_EFFECT_MS). */
export const LATE_EFFECT_MS = 30_000;

/** The service's settings in the simulation: the defaults a deployment runs with. */
export const SERVICE_ENV = {
  SERVICE_STAGE: 'local',
  AUTH_JWT_SECRET: 'simulation-secret-not-used',
  UPSTREAM_BASE_URL: 'http://upstream.simulation.invalid',
  UPSTREAM_LATE_EFFECT_MS: String(LATE_EFFECT_MS),
} as const;

export interface World {
  runtime: Runtime;
  clock: VirtualClock;
  upstream: SimulatedUpstream;
  profile: UpstreamProfile;
  terminal: Caller;
  operator: Caller;
  basketId: string;
  /** The service as `actor` runs it: the same database and upstream, with every call that actor's gate. */
  servicesFor(actor: Actor): Services;
  /** Closes what servicesFor opened. */
  close(): Promise<void>;
}

/**
 * One schedule's world: the service wired as it is deployed (lib/services.ts)
 * on the simulation's database, with every repository call gated by the
 * runtime, the upstream in-process under the plan's fates, and time virtual.
 */
export function buildWorld(scheduler: PromiseScheduler, sql: Sql, databaseUrl: string, plan: Plan, scheduleNo: number): World {
  const clock = new VirtualClock(EPOCH);
  const runtime = new Runtime(scheduler, clock);
  clock.runtime = runtime;
  const profile: UpstreamProfile = { ...DEFAULT_PROFILE, ...UPSTREAM_READINGS[plan.reading] };
  const unavailableMeansNoEffect = profile.unavailable === 'before_effect';
  const upstream = new SimulatedUpstream(runtime, clock, profile, plan.fates, {
    unavailableMeansNoEffect,
    lateEffectWithinMs: LATE_EFFECT_MS,
  });
  const config = parseConfig({ ...SERVICE_ENV, DATABASE_URL: databaseUrl, UPSTREAM_503_MEANS_NO_EFFECT: String(unavailableMeansNoEffect) });
  const user = `cashier-${scheduleNo}@simulation.test`;
  const opened: Services[] = [];
  return {
    runtime,
    clock,
    upstream,
    profile,
    terminal: { userId: user, token: user, roles: [] },
    operator: { userId: 'operator@simulation.test', token: 'operator@simulation.test', roles: ['operator'] },
    basketId: '',
    servicesFor(actor) {
      const services = createServices(config, sql, {
        transport: upstream.transportFor(actor),
        clock: clock.forActor(actor),
        wrapPorts: (ports) => gatedPorts(runtime, actor, ports),
      });
      opened.push(services);
      return services;
    },
    close: async () => {
      await Promise.all(opened.map((services) => services.close()));
    },
  };
}

/** Each call of a repository or the key store passes the actor's gate, then runs its statements as the runtime's I/O. */
function gatedPorts(runtime: Runtime, actor: Actor, ports: Ports): Ports {
  return {
    ...ports,
    orders: gated(runtime, actor, 'orders', ports.orders),
    baskets: gated(runtime, actor, 'baskets', ports.baskets),
    idempotency: gated(runtime, actor, 'keys', ports.idempotency),
  };
}

function gated<T extends object>(runtime: Runtime, actor: Actor, name: string, port: T): T {
  return new Proxy(port, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await runtime.gate(actor, `${name}.${String(property)}`);
        return runtime.io(() => value.apply(target, args));
      };
    },
  });
}

/** Warnings and errors the service logs become lines of the trace. */
export function traceLogger(runtime: Runtime, who: string, bound: LogFields = {}): Logger {
  const write =
    (level: string) =>
    (message: string, fields: LogFields = {}) => {
      const all = { ...bound, ...fields };
      const error = all.error instanceof Error ? `: ${all.error.message}` : '';
      runtime.note(`log ${level}: ${message}${error}`, who);
    };
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: write('warn'),
    error: write('error'),
    child: (fields) => traceLogger(runtime, who, { ...bound, ...fields }),
  };
  return logger;
}
