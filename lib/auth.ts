import { createHash } from 'node:crypto';
import { decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import { Deadline } from './deadline';
import { AppError } from './errors';
import type { Logger } from './logger';
import type { PosApi } from './upstream/pos-api';

export interface Caller {
  /** The upstream user id: the token's `sub` (an e-mail address upstream). */
  userId: string;
  /** The raw token, forwarded upstream as `x-auth-user`. Never logged. */
  token: string;
  /** From the token's `roles` claim; `operator` may resolve orders that need a person (README, Operations). */
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
  if (typeof claim === 'string') return claim.replace(/^\[|\]$/g, '').split(/[\s,]+/).filter(Boolean);
  return [];
}

export interface VerifyContext {
  /** Claims an API Gateway JWT authorizer verified, when the service runs behind one. */
  gatewayClaims?: Record<string, unknown>;
  log: Logger;
}

export type TokenVerifier = (token: string, context: VerifyContext) => Promise<Caller>;

/** Our owner_id columns hold at most this many characters. */
export const MAX_USER_ID_LENGTH = 320;
// eslint-disable-next-line no-control-regex
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
  /** Budget for the one upstream call that checks a token. */
  checkTimeoutMs: number;
  /** Most tokens remembered per container; the oldest is forgotten first. */
  maxEntries?: number;
}

/**
 * For a hosted upstream whose signing secret we do not have: a token is
 * accepted when the upstream accepts it (one cheap authenticated read),
 * remembered per token hash for a short time. The `sub` and `roles` are read
 * from the token itself, unverified by us, which is safe because the upstream
 * has accepted that very token, signature and all.
 */
export function upstreamVerifier(api: PosApi, options: UpstreamVerifierOptions): TokenVerifier {
  const accepted = new Map<string, { until: number }>();
  const maxEntries = options.maxEntries ?? 10_000;
  return async (token, { log }) => {
    let claims;
    try {
      claims = decodeJwt(token);
    } catch (error) {
      throw unauthenticated('Token is not a JWT', error);
    }
    const userId = userIdFrom(claims.sub);
    const roles = rolesFrom(claims.roles);
    const hash = createHash('sha256').update(token).digest('hex');
    const cached = accepted.get(hash);
    if (cached && cached.until > Date.now()) return { userId, roles, token };
    const call = { token, deadline: Deadline.fromNow(options.checkTimeoutMs), log };
    if (!(await api.acceptsToken(call))) throw unauthenticated('The POS system does not accept this token');
    accepted.delete(hash);
    accepted.set(hash, { until: Date.now() + options.cacheMs });
    if (accepted.size > maxEntries) accepted.delete(accepted.keys().next().value!);
    return { userId, roles, token };
  };
}
