import { SignJWT, jwtVerify } from 'jose';

const DEFAULT_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

const keyFor = (secret: string): Uint8Array => new TextEncoder().encode(secret);

/** The secret and user of local development: what `npm start` and `npm run upstream` sign dev tokens with. */
export const DEV_JWT_SECRET = 'dev-secret-change-me';
export const DEV_USER = 'cashier@example.com';

/** An HS256 JWT for `sub`, as the upstream expects in `x-auth-user`. A negative lifetime gives an expired token. */
export async function signDevToken(
  secret: string,
  sub: string,
  expiresInSeconds: number = DEFAULT_TOKEN_LIFETIME_SECONDS,
): Promise<string> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + expiresInSeconds)
    .sign(keyFor(secret));
}

export type AuthResult = { ok: true; user: string } | { ok: false; reason: string };

/** Checks the `x-auth-user` header: an HS256 JWT signed with `secret`, unexpired, with a `sub`. */
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
