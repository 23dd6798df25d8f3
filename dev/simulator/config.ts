import type { SimulatorConfig, SimulatorConfigPatch, UpstreamProfile } from './types';

export const DEFAULT_PROFILE: UpstreamProfile = {
  orderIds: 'kept',
  payments: 'completed',
  pendingPaymentMs: 300,
  refunds: 'idempotent',
  replies: 'plain',
  unavailable: 'before_effect',
  lateEffects: 0,
  lateEffectMs: 2000,
};

export const DEFAULT_CONFIG: SimulatorConfig = {
  seed: 42,
  latency: { medianMs: 0, p99Ms: 0 },
  faults: { rate503: 0, rate500After: 0, rateHangAfter: 0, rateReset: 0 },
  hangMs: 30000,
  declineRate: 0,
  profile: DEFAULT_PROFILE,
};

/** A problem with one config value; `path` is dotted ("latency.p99Ms"). */
export interface ConfigIssue {
  path: string;
  msg: string;
}

type ConfigResult = { ok: true; config: SimulatorConfig } | { ok: false; issues: ConfigIssue[] };
type ProfileResult = { ok: true; profile: Partial<UpstreamProfile> } | { ok: false; issues: ConfigIssue[] };

type LeafCheck = (value: unknown) => string | null;

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

const numberIn =
  (min: number, max: number): LeafCheck =>
  (value) =>
    isNumber(value) && value >= min && value <= max ? null : `must be a number between ${min} and ${max}`;

const integerIn =
  (min: number, max: number): LeafCheck =>
  (value) =>
    Number.isInteger(value) && (value as number) >= min && (value as number) <= max ? null : `must be an integer between ${min} and ${max}`;

const nonNegative: LeafCheck = (value) => (isNumber(value) && value >= 0 ? null : 'must be a number >= 0');

const oneOf =
  (values: readonly string[]): LeafCheck =>
  (value) =>
    values.includes(value as string) ? null : `must be one of ${values.join(', ')}`;

const probability = numberIn(0, 1);

const PROFILE_CHECKS: Record<keyof UpstreamProfile, LeafCheck> = {
  orderIds: oneOf(['kept', 'deduplicated', 'rejected', 'ignored']),
  payments: oneOf(['completed', 'pending']),
  pendingPaymentMs: nonNegative,
  refunds: oneOf(['idempotent', 'once', 'repeat']),
  replies: oneOf(['plain', 'varied']),
  unavailable: oneOf(['before_effect', 'after_effect']),
  lateEffects: probability,
  lateEffectMs: nonNegative,
};

const LEAF_CHECKS: Record<string, LeafCheck> = {
  seed: integerIn(0, 0xffffffff),
  'latency.medianMs': nonNegative,
  'latency.p99Ms': nonNegative,
  'faults.rate503': probability,
  'faults.rate500After': probability,
  'faults.rateHangAfter': probability,
  'faults.rateReset': probability,
  hangMs: nonNegative,
  declineRate: probability,
  ...Object.fromEntries(Object.entries(PROFILE_CHECKS).map(([key, check]) => [`profile.${key}`, check])),
};

function valueAt(config: SimulatorConfig, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
}

function crossFieldIssues(config: SimulatorConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { medianMs, p99Ms } = config.latency;
  if (p99Ms < medianMs) issues.push({ path: 'latency.p99Ms', msg: 'must be >= latency.medianMs' });
  const { rate503, rate500After, rateHangAfter, rateReset } = config.faults;
  if (rate503 + rate500After + rateHangAfter + rateReset > 1) {
    issues.push({ path: 'faults', msg: 'fault rates must sum to at most 1' });
  }
  return issues;
}

/** Every problem with a complete config (values may come from untyped input). */
function configIssues(config: SimulatorConfig): ConfigIssue[] {
  const leafIssues = Object.entries(LEAF_CHECKS).flatMap(([path, check]) => {
    const msg = check(valueAt(config, path));
    return msg === null ? [] : [{ path, msg }];
  });
  return leafIssues.length > 0 ? leafIssues : crossFieldIssues(config);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownKeyIssues(patch: Record<string, unknown>, known: object, prefix: string): ConfigIssue[] {
  return Object.keys(patch)
    .filter((key) => !Object.hasOwn(known, key))
    .map((key) => ({ path: prefix + key, msg: 'is not a config key' }));
}

function shapeIssues(patch: unknown): ConfigIssue[] {
  if (!isPlainObject(patch)) return [{ path: '', msg: 'config must be an object' }];
  const issues = unknownKeyIssues(patch, DEFAULT_CONFIG, '');
  for (const group of ['latency', 'faults', 'profile'] as const) {
    const value = patch[group];
    if (value === undefined) continue;
    if (isPlainObject(value)) issues.push(...unknownKeyIssues(value, DEFAULT_CONFIG[group], `${group}.`));
    else issues.push({ path: group, msg: 'must be an object' });
  }
  return issues;
}

/** A key set to undefined means "not given", as if it were absent. */
function definedValues<T extends object>(values: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(values ?? {}).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/**
 * Merges an untrusted partial config (nested groups may be partial too) over `base`
 * and validates the result.
 */
export function mergeConfig(base: SimulatorConfig, patch: unknown): ConfigResult {
  const shape = shapeIssues(patch);
  if (shape.length > 0) return { ok: false, issues: shape };
  const partial = patch as SimulatorConfigPatch;
  const config: SimulatorConfig = {
    ...base,
    ...definedValues(partial),
    latency: { ...base.latency, ...definedValues(partial.latency) },
    faults: { ...base.faults, ...definedValues(partial.faults) },
    profile: { ...base.profile, ...definedValues(partial.profile) },
  };
  const issues = configIssues(config);
  return issues.length > 0 ? { ok: false, issues } : { ok: true, config };
}

/** Checks an untrusted partial profile (a per-user override); `path` of an issue is the profile key. */
export function validateProfilePatch(patch: unknown): ProfileResult {
  if (!isPlainObject(patch)) return { ok: false, issues: [{ path: '', msg: 'profile must be an object' }] };
  const given = definedValues(patch);
  const issues = [
    ...unknownKeyIssues(given, DEFAULT_PROFILE, ''),
    ...Object.entries(PROFILE_CHECKS).flatMap(([key, check]) => {
      const msg = Object.hasOwn(given, key) ? check(given[key]) : null;
      return msg === null ? [] : [{ path: key, msg }];
    }),
  ];
  return issues.length > 0 ? { ok: false, issues } : { ok: true, profile: given as Partial<UpstreamProfile> };
}

function describeIssues(issues: ConfigIssue[]): string {
  return issues.map((issue) => `${issue.path || 'config'} ${issue.msg}`).join('; ');
}

/** The config a simulator starts with: defaults overridden by `overrides`; throws when invalid. */
export function resolveConfig(overrides: SimulatorConfigPatch): SimulatorConfig {
  const result = mergeConfig(DEFAULT_CONFIG, overrides);
  if (!result.ok) throw new Error(`Invalid simulator config: ${describeIssues(result.issues)}`);
  return result.config;
}

const ENV_VARS: Record<string, string> = {
  SIM_SEED: 'seed',
  SIM_LATENCY_MEDIAN_MS: 'latency.medianMs',
  SIM_LATENCY_P99_MS: 'latency.p99Ms',
  SIM_RATE_503: 'faults.rate503',
  SIM_RATE_500_AFTER: 'faults.rate500After',
  SIM_RATE_HANG_AFTER: 'faults.rateHangAfter',
  SIM_RATE_RESET: 'faults.rateReset',
  SIM_HANG_MS: 'hangMs',
  SIM_DECLINE_RATE: 'declineRate',
  SIM_ORDER_IDS: 'profile.orderIds',
  SIM_PAYMENTS: 'profile.payments',
  SIM_PENDING_PAYMENT_MS: 'profile.pendingPaymentMs',
  SIM_REFUNDS: 'profile.refunds',
  SIM_REPLIES: 'profile.replies',
  SIM_503: 'profile.unavailable',
};

/** The variables behind a config path; a group path ("faults") names all of its variables. */
function envVarsFor(path: string): string {
  const covers = (name: string) => ENV_VARS[name] === path || ENV_VARS[name].startsWith(`${path}.`);
  return Object.keys(ENV_VARS).filter(covers).join(', ');
}

/** A variable is read as a number or a word, whichever its config value is. */
function parseEnvValue(name: string, raw: string): number | string {
  if (typeof valueAt(DEFAULT_CONFIG, ENV_VARS[name]) === 'string') return raw.trim();
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new Error(`${name} must be a number, got "${raw}"`);
  return value;
}

/** Reads the SIM_* variables into a nested patch of only the values that are set. */
function envPatch(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [name, path] of Object.entries(ENV_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const [group, key] = path.split('.');
    const value = parseEnvValue(name, raw);
    if (key === undefined) patch[group] = value;
    else patch[group] = { ...(patch[group] as object | undefined), [key]: value };
  }
  return patch;
}

/** A median alone means a constant latency; a tail without a median is meaningless. */
function completeLatency(latency: { medianMs?: number; p99Ms?: number }): SimulatorConfig['latency'] {
  if (latency.medianMs === undefined) throw new Error('SIM_LATENCY_MEDIAN_MS must be set when SIM_LATENCY_P99_MS is');
  return { medianMs: latency.medianMs, p99Ms: latency.p99Ms ?? latency.medianMs };
}

/**
 * The simulator config given by SIM_* environment variables (only the ones set).
 * Throws an error naming the variable when a value is invalid.
 */
export function configFromEnv(env: NodeJS.ProcessEnv): SimulatorConfigPatch {
  const patch = envPatch(env) as SimulatorConfigPatch;
  if (patch.latency) patch.latency = completeLatency(patch.latency);
  if (patch.faults) patch.faults = { ...DEFAULT_CONFIG.faults, ...patch.faults };
  const result = mergeConfig(DEFAULT_CONFIG, patch);
  if (!result.ok) {
    throw new Error(result.issues.map((issue) => `${envVarsFor(issue.path)}: ${issue.msg}`).join('; '));
  }
  return patch;
}
