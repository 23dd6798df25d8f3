import {
  signDevToken,
  startSimulator,
  type Ledger,
  type RunningSimulator,
  type ScriptedFault,
  type SimulatorConfigPatch,
  type UpstreamProfile,
} from '../../dev/simulator';

export const SECRET = 'simulator-test-secret';
export const ALICE = 'alice@example.com';
export const BOB = 'bob@example.com';

export interface HttpResult {
  status: number;
  /** Parsed JSON, or the text of a text/plain reply. */
  body: unknown;
}

export interface RawResult extends HttpResult {
  contentType: string;
}

export interface CallOptions {
  /** Sign a token for this user (default ALICE); ignored when `token` is given. */
  as?: string;
  /** Send exactly this x-auth-user header; null sends none. */
  token?: string | null;
  body?: unknown;
  /** Send this text as the body instead of JSON-encoding `body`. */
  rawBody?: string;
  signal?: AbortSignal;
}

export interface Harness {
  url: string;
  call(method: string, path: string, options?: CallOptions): Promise<HttpResult>;
  /** Like `call`, with the reply's content type. */
  callRaw(method: string, path: string, options?: CallOptions): Promise<RawResult>;
  admin(method: string, path: string, body?: unknown): Promise<HttpResult>;
  ledger(user?: string): Promise<Ledger>;
  setConfig(patch: SimulatorConfigPatch | Record<string, unknown>): Promise<void>;
  /** Replaces `user`'s profile override. */
  setProfile(user: string, profile: Partial<UpstreamProfile>): Promise<void>;
  queueFault(fault: Partial<ScriptedFault>): Promise<void>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

async function requestRaw(url: string, init: RequestInit): Promise<RawResult> {
  const response = await fetch(url, init);
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  const isJson = contentType.startsWith('application/json');
  return { status: response.status, body: isJson && text !== '' ? JSON.parse(text) : text || undefined, contentType };
}

async function request(url: string, init: RequestInit): Promise<HttpResult> {
  const { status, body } = await requestRaw(url, init);
  return { status, body };
}

function bodyOf(options: CallOptions): string | undefined {
  if (options.rawBody !== undefined) return options.rawBody;
  return options.body === undefined ? undefined : JSON.stringify(options.body);
}

export async function startHarness(config: SimulatorConfigPatch = {}): Promise<Harness> {
  const sim: RunningSimulator = await startSimulator({ ...config, jwtSecret: SECRET });
  const tokens = new Map<string, Promise<string>>();
  const tokenFor = (user: string): Promise<string> => {
    if (!tokens.has(user)) tokens.set(user, signDevToken(SECRET, user));
    return tokens.get(user) as Promise<string>;
  };

  const admin = async (method: string, path: string, body?: unknown): Promise<HttpResult> =>
    request(`${sim.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const expectOk = async (method: string, path: string, body?: unknown): Promise<HttpResult> => {
    const result = await admin(method, path, body);
    if (result.status >= 300) throw new Error(`${method} ${path} answered ${result.status}: ${JSON.stringify(result.body)}`);
    return result;
  };

  const callRaw = async (method: string, path: string, options: CallOptions = {}): Promise<RawResult> => {
    const token = options.token === undefined ? await tokenFor(options.as ?? ALICE) : options.token;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers['x-auth-user'] = token;
    return requestRaw(`${sim.url}${path}`, { method, headers, body: bodyOf(options), signal: options.signal });
  };

  return {
    url: sim.url,
    async call(method, path, options) {
      const { status, body } = await callRaw(method, path, options);
      return { status, body };
    },
    callRaw,
    admin,
    async ledger(user) {
      const query = user === undefined ? '' : `?user=${encodeURIComponent(user)}`;
      return (await expectOk('GET', `/__ledger${query}`)).body as Ledger;
    },
    async setConfig(patch) {
      await expectOk('PUT', '/__config', patch);
    },
    async setProfile(user, profile) {
      await expectOk('PUT', `/__profiles/${encodeURIComponent(user)}`, profile);
    },
    async queueFault(fault) {
      await expectOk('POST', '/__faults', fault);
    },
    async reset() {
      await expectOk('POST', '/__reset');
    },
    close: () => sim.close(),
  };
}
