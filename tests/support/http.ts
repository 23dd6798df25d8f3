import { invokeLambda } from '../../dev/infra/offline';
import { signDevToken } from '../../dev/simulator';
import type { FaultKind, Ledger, SimulatorConfigPatch, UpstreamProfile } from '../../dev/simulator';
import { recordCall } from './contract';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run the tests through jest so global setup starts the stack`);
  return value;
}

export const apiUrl = () => requiredEnv('TEST_API_URL');
export const simulatorUrl = () => requiredEnv('TEST_SIMULATOR_URL');

export function tokenFor(sub: string, expiresInSeconds?: number): Promise<string> {
  return signDevToken(requiredEnv('AUTH_JWT_SECRET'), sub, expiresInSeconds);
}

/** A user id no other test uses, so tests never see each other's data. */
export function uniqueUser(label = 'cashier'): string {
  return `${label}-${process.pid}-${Math.random().toString(36).slice(2, 10)}@example.com`;
}

export interface CallOptions {
  method?: string;
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export async function call<T = any>(base: string, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['x-auth-user'] = options.token;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const url = new URL(`${base}${path}`);
  const method = options.method ?? 'GET';
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  // Every answer of our API is checked against its OpenAPI document at the end of the run (tests/support/contract.ts).
  if (base === process.env.TEST_API_URL || base === process.env.TEST_API_URL_AMBIGUOUS_503) recordCall(url, method, response, text);
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON; tests assert on it as text
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

export const api = <T = any>(path: string, options?: CallOptions) => call<T>(apiUrl(), path, options);

/**
 * Which of the test stack's APIs a test talks to: the default one, or the
 * one whose handlers read the upstream's 503 as ambiguous as a 500
 * (UPSTREAM_503_MEANS_NO_EFFECT=false), for the reading where a 503 may come
 * after the effect.
 */
export type ApiVariant = 'default' | 'ambiguous-503';

export function apiOf(variant: ApiVariant) {
  const base = variant === 'default' ? apiUrl() : requiredEnv('TEST_API_URL_AMBIGUOUS_503');
  return <T = any>(path: string, options?: CallOptions) => call<T>(base, path, options);
}

/** Runs the scheduled reconciler once through serverless-offline's Lambda invoke endpoint; returns its report. */
export function runReconciler(variant: ApiVariant = 'default'): Promise<any> {
  return invokeLambda(requiredEnv(variant === 'default' ? 'TEST_LAMBDA_URL' : 'TEST_LAMBDA_URL_AMBIGUOUS_503'), 'reconciler');
}

/** The simulator's admin routes: faults, config, ledger. */
async function admin(path: string, options: CallOptions): Promise<ApiResponse> {
  const response = await call(simulatorUrl(), path, options);
  if (response.status >= 300) throw new Error(`simulator ${options.method} ${path} answered ${response.status}: ${response.text}`);
  return response;
}

export const simulator = {
  reset: () => admin('/__reset', { method: 'POST' }),
  configure: (config: SimulatorConfigPatch) => admin('/__config', { method: 'PUT', body: config }),
  /** The user's own reading of the contract, over the simulator's global one. */
  setProfile: (user: string, profile: Partial<UpstreamProfile>) =>
    admin(`/__profiles/${encodeURIComponent(user)}`, { method: 'PUT', body: profile }),
  /** A token as the upstream's owner issues them: `sub` and no `exp`. */
  tokenWithoutExpiry: async (sub: string): Promise<string> =>
    (await admin('/__token', { method: 'POST', body: { sub, expires: false } })).body.token,
  queueFault: (fault: { method: string; path: string; kind: FaultKind; times?: number; user?: string }) =>
    admin('/__faults', { method: 'POST', body: fault }),
  ledger: async (user?: string): Promise<Ledger> =>
    (await call<Ledger>(simulatorUrl(), `/__ledger${user ? `?user=${encodeURIComponent(user)}` : ''}`)).body,
};
