import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { AppError } from './errors';

export interface Caller {
  /** The upstream user id: the token's `sub` (an e-mail address upstream). */
  userId: string;
  /** The raw token, forwarded upstream as `x-auth-user`. Never logged. */
  token: string;
}

export type TokenVerifier = (token: string, gatewayClaims?: Record<string, unknown>) => Promise<Caller>;

function unauthenticated(message: string, cause?: unknown): AppError {
  return new AppError('UNAUTHENTICATED', message, { cause });
}

/** HS256 verification with the shared secret; expiry honoured, `sub` required. */
export function hs256Verifier(secret: string): TokenVerifier {
  const key = new TextEncoder().encode(secret);
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw unauthenticated('Token has no subject (sub)');
      return { userId: payload.sub, token };
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw unauthenticated('Token has expired', error);
      throw unauthenticated('Token is not valid', error);
    }
  };
}

/**
 * Behind an API Gateway JWT authorizer the gateway has verified the token
 * already; its claims arrive in the request context and only they are trusted.
 */
export const gatewayVerifier: TokenVerifier = async (token, gatewayClaims) => {
  const sub = gatewayClaims?.sub;
  if (typeof sub !== 'string' || sub.length === 0) throw unauthenticated('Request did not pass the API Gateway authorizer');
  return { userId: sub, token };
};

/**
 * A short-lived upstream token for `sub`, for work done on a user's behalf
 * without their request (the reconciler). Needs the secret the upstream
 * shares with us.
 */
export async function mintUpstreamToken(secret: string, sub: string, ttlSeconds = 300): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(secret));
}
