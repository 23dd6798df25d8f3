import { invokeLambda } from '../../dev/infra/offline';
import { signDevToken } from '../../dev/simulator';
import type { FaultKind, Ledger, SimulatorConfig } from '../../dev/simulator';
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
  if (base === process.env.TEST_API_URL) recordCall(url, method, response, text);
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON; tests assert on it as text
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

export const api = <T = any>(path: string, options?: CallOptions) => call<T>(apiUrl(), path, options);

/** Runs the scheduled reconciler once through serverless-offline's Lambda invoke endpoint; returns its report. */
export function runReconciler(): Promise<any> {
  return invokeLambda(requiredEnv('TEST_LAMBDA_URL'), 'reconciler');
}

/** The simulator's admin routes: faults, config, ledger. */
async function admin(path: string, options: CallOptions): Promise<ApiResponse> {
  const response = await call(simulatorUrl(), path, options);
  if (response.status >= 300) throw new Error(`simulator ${options.method} ${path} answered ${response.status}: ${response.text}`);
  return response;
}

export const simulator = {
  reset: () => admin('/__reset', { method: 'POST' }),
  configure: (config: Partial<SimulatorConfig>) => admin('/__config', { method: 'PUT', body: config }),
  queueFault: (fault: { method: string; path: string; kind: FaultKind; times?: number; user?: string }) =>
    admin('/__faults', { method: 'POST', body: fault }),
  ledger: async (user?: string): Promise<Ledger> =>
    (await call<Ledger>(simulatorUrl(), `/__ledger${user ? `?user=${encodeURIComponent(user)}` : ''}`)).body,
};
