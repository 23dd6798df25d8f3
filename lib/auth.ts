import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { Deadline } from './deadline';
import { AppError } from './errors';
import type { Config } from './config';
import type { Logger } from './logger';
import type { PosApi } from './upstream/pos-api';

export interface Caller {
  /** The upstream user id: the token's `sub` (an e-mail address upstream). */
  userId: string;
  /** The raw token, forwarded upstream as `x-auth-user`. Never logged. */
  token: string;
  /** From the token's `roles` claim; `operator` may resolve orders that need a person (docs/api.md, Operators). */
  roles: readonly string[];
}

export const OPERATOR_ROLE = 'operator';

export const isOperator = (caller: Caller): boolean => caller.roles.includes(OPERATOR_ROLE);

/**
 * The `roles` claim: an array of strings, or (as an API Gateway JWT
 * authorizer passes arrays on) one string such as "[operator cashier]".
 */
export function rolesFrom(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((role): role is string => typeof role === 'string');
  if (typeof claim === 'string')
    return claim
      .replace(/^\[|\]$/g, '')
      .split(/[\s,]+/)
      .filter(Boolean);
  return [];
}

/** Roles from a verified source, with the operators named in configuration added. */
export function withConfiguredOperators(verify: TokenVerifier, operatorUserIds: ReadonlySet<string>): TokenVerifier {
  if (operatorUserIds.size === 0) return verify;
  return async (token, context) => {
    const caller = await verify(token, context);
    return operatorUserIds.has(caller.userId) && !isOperator(caller) ? { ...caller, roles: [...caller.roles, OPERATOR_ROLE] } : caller;
  };
}

export interface VerifyContext {
  /** Claims an API Gateway JWT authorizer verified, when the service runs behind one. */
  gatewayClaims?: Record<string, unknown>;
  log: Logger;
}

export type TokenVerifier = (token: string, context: VerifyContext) => Promise<Caller>;

/** Our owner_id columns hold at most this many characters. */
export const MAX_USER_ID_LENGTH = 320;
// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

function unauthenticated(message: string, cause?: unknown): AppError {
  return new AppError('UNAUTHENTICATED', message, { cause });
}

/** The caller's user id from a token's `sub`: a non-empty string we can store, or 401. */
export function userIdFrom(sub: unknown): string {
  if (typeof sub !== 'string' || sub.length === 0) throw unauthenticated('Token has no subject (sub)');
  if (sub.length > MAX_USER_ID_LENGTH) throw unauthenticated(`Token subject is longer than ${MAX_USER_ID_LENGTH} characters`);
  if (CONTROL_CHARACTER.test(sub)) throw unauthenticated('Token subject contains control characters');
  return sub;
}

/** HS256 verification with the shared secret; expiry honoured when the token has one, `sub` required. */
export function hs256Verifier(secret: string): TokenVerifier {
  const key = new TextEncoder().encode(secret);
  return async (token) => {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'] }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthenticated('Token has expired', error);
      throw unauthenticated('Token is not valid', error);
    }
    return { userId: userIdFrom(payload.sub), token, roles: rolesFrom(payload.roles) };
  };
}

/**
 * Behind an API Gateway JWT authorizer the gateway has verified the token
 * already; its claims arrive in the request context and only they are trusted.
 */
export const gatewayVerifier: TokenVerifier = async (token, { gatewayClaims }) => {
  if (!gatewayClaims) throw unauthenticated('Request did not pass the API Gateway authorizer');
  return { userId: userIdFrom(gatewayClaims.sub), token, roles: rolesFrom(gatewayClaims.roles) };
};

export interface UpstreamVerifierOptions {
  /** How long an accepted token is trusted without asking again. */
  cacheMs: number;
  /** How long a refused token is refused without asking again (a flood of bad tokens does not reach the upstream). */
  refusalCacheMs?: number;
  /** Budget for the one upstream call that checks a token. */
  checkTimeoutMs: number;
  /** Most tokens remembered per container; the oldest is forgotten first. */
  maxEntries?: number;
  /** The users who are operators (OPERATOR_USER_IDS): in this mode the only source of roles. */
  operatorUserIds?: ReadonlySet<string>;
  /** Clock for expiry (tests). */
  now?: () => number;
}

/** Leeway for clocks that differ between the token's issuer and us. */
const CLOCK_SKEW_SECONDS = 30;

/**
 * What can be checked of a token without its secret: a signed JWT (never
 * `alg: none`, never an empty signature), not expired, not used before its
 * time, with a subject we can store.
 */
function unverifiedClaims(token: string, nowMs: number): { sub: string } {
  let claims;
  let header;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch (error) {
    throw unauthenticated('Token is not a JWT', error);
  }
  if (typeof header.alg !== 'string' || header.alg.toLowerCase() === 'none' || token.split('.')[2] === '')
    throw unauthenticated('Token is not signed');
  const now = nowMs / 1000;
  if (claims.exp !== undefined && (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_SECONDS <= now))
    throw unauthenticated('Token has expired');
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf - CLOCK_SKEW_SECONDS > now))
    throw unauthenticated('Token is not valid yet');
  return { sub: userIdFrom(claims.sub) };
}

/**
 * For a hosted upstream whose signing secret we do not have: a token is
 * accepted when the upstream accepts it for the very user it names (a read of
 * that user's own orders, which answers only that user's), remembered per
 * token hash for a short time; a refusal is remembered too, for less. What
 * this cannot prove: that the token was not revoked within the cache time, or
 * any claim beyond `sub` and expiry. So roles never come from the token here,
 * only from OPERATOR_USER_IDS.
 */
export function upstreamVerifier(api: PosApi, options: UpstreamVerifierOptions): TokenVerifier {
  const answers = new Map<string, { accepted: boolean; until: number }>();
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const operators = options.operatorUserIds ?? new Set<string>();
  const remember = (hash: string, accepted: boolean) => {
    answers.delete(hash);
    answers.set(hash, { accepted, until: now() + (accepted ? options.cacheMs : (options.refusalCacheMs ?? 10_000)) });
    if (answers.size > maxEntries) answers.delete(answers.keys().next().value!);
  };
  return async (token, { log }) => {
    const { sub: userId } = unverifiedClaims(token, now());
    const caller = { userId, token, roles: operators.has(userId) ? [OPERATOR_ROLE] : [] };
    const hash = createHash('sha256').update(token).digest('hex');
    const cached = answers.get(hash);
    if (cached && cached.until > now()) {
      if (cached.accepted) return caller;
      throw unauthenticated('The POS system does not accept this token');
    }
    const call = { token, deadline: Deadline.fromNow(options.checkTimeoutMs), log };
    const vouched = await api.vouchesFor(userId, call);
    remember(hash, vouched);
    if (!vouched) throw unauthenticated('The POS system does not accept this token');
    return caller;
  };
}

/** The verifier AUTH_MODE names, with operators from OPERATOR_USER_IDS in every mode. */
export function tokenVerifierFor(c: Config, api: PosApi): TokenVerifier {
  switch (c.AUTH_MODE) {
    case 'jwt':
      return withConfiguredOperators(hs256Verifier(c.AUTH_JWT_SECRET!), c.OPERATOR_USER_IDS);
    case 'gateway':
      return withConfiguredOperators(gatewayVerifier, c.OPERATOR_USER_IDS);
    case 'upstream':
      return upstreamVerifier(api, {
        cacheMs: c.AUTH_UPSTREAM_CACHE_SECONDS * 1000,
        refusalCacheMs: c.AUTH_UPSTREAM_REFUSAL_CACHE_SECONDS * 1000,
        checkTimeoutMs: c.UPSTREAM_CALL_TIMEOUT_MS,
        operatorUserIds: c.OPERATOR_USER_IDS,
      });
    default:
      throw new Error('No token verifier configured');
  }
}
