import { signDevToken } from './auth';
import type { ConfigIssue } from './config';
import type { Reply } from './http';
import { matchRoute, pathMatches, routeTable } from './routing';
import type { Simulator } from './simulator';
import type { FaultKind, ScriptedFault } from './types';
import { boolean, integer, number, oneOf, optional, parseJsonObject, string, validateBody, type ValidationIssue } from './validation';

export const ADMIN_PREFIX = '/__';

export interface AdminRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  rawBody: string;
}

interface HandlerInput extends AdminRequest {
  /** The route's `*` segment, URL-decoded (a user id for /__profiles/*). */
  id: string;
}

type Handler = (request: HandlerInput, sim: Simulator) => Reply | Promise<Reply>;

const FAULT_KINDS: readonly FaultKind[] = [
  '503',
  '503_after',
  '500_after',
  'hang_after',
  'reset',
  'reset_after',
  'decline',
  'wrong_total',
  'late_effect',
];

const ok = (body: unknown, status = 200): Reply => ({ status, body });
const invalid = (issues: ValidationIssue[]): Reply => ({ status: 422, body: { detail: issues } });

function configIssuesReport(issues: ConfigIssue[]): Reply {
  return invalid(
    issues.map((issue) => ({
      loc: ['body', ...issue.path.split('.').filter((key) => key !== '')],
      msg: issue.msg,
      type: 'value_error',
    })),
  );
}

const health: Handler = () => ok({ ok: true });

const ledger: Handler = ({ query }, sim) => ok(sim.state.ledger(query.get('user') ?? undefined));

const reset: Handler = (_request, sim) => {
  sim.reset();
  return ok({ ok: true });
};

const getConfig: Handler = (_request, sim) => ok(sim.config);

const putConfig: Handler = ({ rawBody }, sim) => {
  const body = parseJsonObject(rawBody);
  if (!body.ok) return invalid(body.issues);
  const result = sim.updateConfig(body.value);
  return result.ok ? ok(result.config) : configIssuesReport(result.issues);
};

/** Faults that are an outcome of one route only: a decline of a payment, a misrecorded total of an order. */
const ROUTE_OF_OUTCOME: Partial<Record<FaultKind, string>> = { decline: '/payments', wrong_total: '/orders' };

function misplacedOutcome(fault: ScriptedFault): ValidationIssue[] {
  const route = ROUTE_OF_OUTCOME[fault.kind];
  if (!route || (fault.method === 'POST' && pathMatches(route, fault.path))) return [];
  return [{ loc: ['body', 'kind'], msg: `'${fault.kind}' only applies to POST ${route}/`, type: 'value_error' }];
}

const getProfile: Handler = ({ id }, sim) => ok(sim.profileFor(id));

const putProfile: Handler = ({ id, rawBody }, sim) => {
  const body = parseJsonObject(rawBody);
  if (!body.ok) return invalid(body.issues);
  const result = sim.overrideProfile(id, body.value);
  return result.ok ? ok(result.profile) : configIssuesReport(result.issues);
};

const deleteProfile: Handler = ({ id }, sim) => {
  sim.clearProfile(id);
  return ok(sim.profileFor(id));
};

const queueFault: Handler = ({ rawBody }, sim) => {
  const body = validateBody(rawBody, {
    method: string(),
    path: string(),
    kind: oneOf(FAULT_KINDS),
    times: optional(integer({ min: 1 })),
    user: optional(string()),
  });
  if (!body.ok) return invalid(body.issues);
  const { method, path, kind, times, user } = body.value;
  const fault: ScriptedFault = { method: method.toUpperCase(), path, kind, times: times ?? 1, user: user ?? null };
  const issues = misplacedOutcome(fault);
  if (issues.length > 0) return invalid(issues);
  sim.faults.add(fault);
  return ok(fault, 201);
};

const listFaults: Handler = (_request, sim) => ok(sim.faults.list());

/** `expires: false` gives a token without `exp`, like the real upstream's. */
const issueToken: Handler = async ({ rawBody }, sim) => {
  const body = validateBody(rawBody, { sub: string(), expiresIn: optional(number()), expires: optional(boolean()) });
  if (!body.ok) return invalid(body.issues);
  const { sub, expiresIn, expires } = body.value;
  if (expires === false && expiresIn !== undefined) {
    return invalid([{ loc: ['body', 'expiresIn'], msg: 'must not be given with expires false', type: 'value_error' }]);
  }
  return ok({ token: await signDevToken(sim.jwtSecret, sub, expires === false ? null : expiresIn) });
};

const ROUTES = routeTable<Handler>({
  'GET /__health': health,
  'GET /__ledger': ledger,
  'POST /__reset': reset,
  'GET /__config': getConfig,
  'PUT /__config': putConfig,
  'POST /__faults': queueFault,
  'GET /__faults': listFaults,
  'POST /__token': issueToken,
  'GET /__profiles/*': getProfile,
  'PUT /__profiles/*': putProfile,
  'DELETE /__profiles/*': deleteProfile,
});

/** Serves the unauthenticated admin routes (never faulted, never delayed, not recorded). */
export async function routeAdmin(request: AdminRequest, sim: Simulator): Promise<Reply> {
  const match = matchRoute(ROUTES, request.method, request.path);
  if (match.kind === 'not_found') return { status: 404, body: 'Not Found' };
  if (match.kind === 'method_not_allowed') return { status: 405, body: 'Method Not Allowed' };
  return match.handler({ ...request, id: match.id ?? '' }, sim);
}
