import { decodeJwt, SignJWT, jwtVerify } from 'jose';

const DEFAULT_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

const keyFor = (secret: string): Uint8Array => new TextEncoder().encode(secret);

/** The secret and user of local development: what `npm start` and `npm run upstream` sign dev tokens with. */
export { DEV_JWT_SECRET } from '../../lib/dev-secrets';
export const DEV_USER = 'cashier@example.com';

/**
 * An HS256 JWT for `sub`, as the upstream expects in `x-auth-user`. A negative lifetime gives an expired
 * token; null gives a token without `exp`, like the real upstream's.
 */
export async function signDevToken(
  secret: string,
  sub: string,
  expiresInSeconds: number | null = DEFAULT_TOKEN_LIFETIME_SECONDS,
): Promise<string> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(sub).setIssuedAt(nowSeconds);
  if (expiresInSeconds !== null) jwt.setExpirationTime(nowSeconds + expiresInSeconds);
  return jwt.sign(keyFor(secret));
}

export type AuthResult = { ok: true; user: string } | { ok: false; reason: string };

/** Checks the `x-auth-user` header: an HS256 JWT signed with `secret`, with a `sub`, unexpired if it has an `exp`. */
export async function authenticate(header: string | string[] | undefined, secret: string): Promise<AuthResult> {
  if (typeof header !== 'string' || header === '') return { ok: false, reason: 'Not authenticated' };
  try {
    const { payload } = await jwtVerify(header, keyFor(secret), { algorithms: ['HS256'] });
    if (typeof payload.sub !== 'string' || payload.sub === '') return { ok: false, reason: 'Token has no subject' };
    return { ok: true, user: payload.sub };
  } catch {
    return { ok: false, reason: 'Invalid or expired token' };
  }
}

/** The `sub` a token claims, unverified: only for choosing how to word a refusal. */
export function claimedSubject(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  try {
    const { sub } = decodeJwt(header);
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}
