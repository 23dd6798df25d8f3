import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_PREFIX, routeAdmin } from './admin-routes';
import { authenticate, claimedSubject } from './auth';
import { resolveConfig } from './config';
import type { RequestDraws } from './faults';
import { readBody, sendReply, wait, type Reply } from './http';
import { Simulator } from './simulator';
import type { FaultKind, RunningSimulator, SimulatorOptions, UpstreamProfile } from './types';
import { routeUpstream } from './upstream-routes';
import { jsonOrText } from './validation';

/** How an upstream request ends: a reply, or a destroyed socket (reset, hang), after `delayMs`. */
interface Outcome {
  reply: Reply | null;
  delayMs: number;
  fault: FaultKind | null;
  effectApplied: boolean;
}

interface UpstreamCall {
  method: string;
  path: string;
  user: string;
  rawBody: string;
  draws: RequestDraws;
  profile: UpstreamProfile;
}

const SERVICE_UNAVAILABLE: Reply = { status: 503, body: 'Service Unavailable' };
const INTERNAL_ERROR: Reply = { status: 500, body: 'Internal Server Error' };

/** Whether the reading makes this changing request one the upstream is still working on when the caller gives up. */
function landsLate(call: UpstreamCall): boolean {
  return call.method !== 'GET' && call.draws.fault === null && call.draws.faultDraw >= 1 - call.profile.lateEffects;
}

/** Applies the request's fault (scripted first, else drawn) around serving it. */
function decideOutcome(sim: Simulator, call: UpstreamCall, closing: AbortSignal): Outcome {
  const scripted = sim.faults.take(call.method, call.path, call.user);
  const fault = scripted ?? (landsLate(call) ? 'late_effect' : call.draws.fault);
  const beforeEffect = { delayMs: call.draws.latencyMs, fault, effectApplied: false };
  const unavailableFirst = fault === '503' && call.profile.unavailable === 'before_effect';
  if (unavailableFirst) return { ...beforeEffect, reply: SERVICE_UNAVAILABLE };
  if (fault === 'reset') return { ...beforeEffect, reply: null };

  const declined = scripted === null ? call.draws.declined : scripted === 'decline';
  const rawBody = scripted === 'wrong_total' ? misrecordTotal(call.rawBody) : call.rawBody;
  const serve = () => routeUpstream({ ...call, rawBody, declined, state: sim.state });
  if (fault === 'late_effect') {
    // Nothing answers; the effect lands after the caller gave up (and after any read it made meanwhile saw nothing).
    const landsAfterMs = sim.config.hangMs + call.profile.lateEffectMs;
    void wait(landsAfterMs, closing).then((waited) => waited && serve());
    return { ...beforeEffect, reply: null, delayMs: sim.config.hangMs };
  }
  const result = serve();
  const afterEffect = { ...beforeEffect, effectApplied: result.effectApplied };
  switch (fault) {
    case '503':
    case '503_after':
      return { ...afterEffect, reply: SERVICE_UNAVAILABLE };
    case '500_after':
      return { ...afterEffect, reply: INTERNAL_ERROR };
    case 'hang_after':
      return { ...afterEffect, reply: null, delayMs: sim.config.hangMs };
    case 'reset_after':
      return { ...afterEffect, reply: null };
    default:
      return { ...afterEffect, reply: result, fault: result.declined ? 'decline' : fault };
  }
}

/** An upstream that records another total than the one sent: one cent more. */
function misrecordTotal(rawBody: string): string {
  const body = jsonOrText(rawBody) as { total?: unknown } | null;
  return typeof body?.total === 'number' ? JSON.stringify({ ...body, total: Math.round(body.total * 100 + 1) / 100 }) : rawBody;
}

/** Faults and latency are drawn at arrival, so the same request sequence gets the same fates. */
async function handleUpstream(sim: Simulator, req: IncomingMessage, res: ServerResponse, closing: AbortSignal) {
  const at = new Date().toISOString();
  const { seq, draws } = sim.nextRequest();
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://simulator').pathname;
  const rawBody = await readBody(req);
  const header = req.headers['x-auth-user'];
  const auth = await authenticate(header, sim.jwtSecret);
  // A refusal is worded in the reading of the user the token claims to be.
  const profile = sim.profileFor(auth.ok ? auth.user : claimedSubject(header));
  const outcome: Outcome = auth.ok
    ? decideOutcome(sim, { method, path, user: auth.user, rawBody, draws, profile }, closing)
    : { reply: { status: 401, body: auth.reason }, delayMs: draws.latencyMs, fault: null, effectApplied: false };
  sim.state.recordCall({
    seq,
    method,
    path,
    user: auth.ok ? auth.user : null,
    status: outcome.reply?.status ?? 0,
    fault: outcome.fault,
    latencyMs: outcome.delayMs,
    effectApplied: outcome.effectApplied,
    at,
  });
  const waited = await wait(outcome.delayMs, closing);
  if (waited && outcome.reply) sendReply(res, outcome.reply, profile.replies === 'varied');
  else req.socket.destroy();
}

async function handleAdmin(sim: Simulator, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const rawBody = await readBody(req);
  const request = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, rawBody };
  sendReply(res, await routeAdmin(request, sim));
}

function requestHandler(sim: Simulator, closing: AbortSignal) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const isAdmin = (req.url ?? '/').startsWith(ADMIN_PREFIX);
    const handled = isAdmin ? handleAdmin(sim, req, res) : handleUpstream(sim, req, res, closing);
    handled.catch((error: unknown) => {
      console.error('upstream simulator: request failed', error);
      sendReply(res, { status: 500, body: 'Simulator error' });
    });
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closer(server: Server, closing: AbortController): () => Promise<void> {
  let closed: Promise<void> | undefined;
  return () => {
    closed ??= new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      closing.abort();
      server.closeAllConnections();
    });
    return closed;
  };
}

/** Starts the upstream POS API simulator; resolves once it listens. */
export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const { port = 0, host = '127.0.0.1', jwtSecret, ...overrides } = options;
  if (!jwtSecret) throw new Error('startSimulator: jwtSecret is required');
  const sim = new Simulator(resolveConfig(overrides), jwtSecret);
  const closing = new AbortController();
  const server = createServer(requestHandler(sim, closing.signal));
  const boundPort = await listen(server, port, host);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${urlHost}:${boundPort}`, port: boundPort, close: closer(server, closing) };
}
