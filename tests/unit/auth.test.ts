import { SignJWT } from 'jose';
import { gatewayVerifier, hs256Verifier, MAX_USER_ID_LENGTH, userIdFrom } from '../../lib/auth';
import { createLogger } from '../../lib/logger';

const SECRET = 'unit-test-secret-0123456789';
const log = createLogger({}, 'error');
const sign = (claims: { sub?: string; exp?: number }) => {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' });
  if (claims.sub !== undefined) jwt.setSubject(claims.sub);
  if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
  return jwt.sign(new TextEncoder().encode(SECRET));
};

describe('who the caller is', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['too long for our columns', 'a'.repeat(MAX_USER_ID_LENGTH + 1)],
    ['holding a NUL', 'a\u0000b@example.com'],
    ['holding a tab', 'a\tb@example.com'],
    ['holding DEL', 'a\u007fb@example.com'],
  ])('refuses a sub that is %s with 401 UNAUTHENTICATED', (_what, sub) => {
    expect(() => userIdFrom(sub)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED', status: 401 }));
  });

  it('accepts an e-mail address up to the column length', () => {
    const longest = `${'a'.repeat(MAX_USER_ID_LENGTH - 12)}@example.com`;
    expect(userIdFrom(longest)).toBe(longest);
  });

  it('verifies HS256 tokens, with or without exp (the upstream owner issues them without)', async () => {
    const verify = hs256Verifier(SECRET);
    const withoutExp = await sign({ sub: 'cashier@example.com' });

    expect(await verify(withoutExp, { log })).toEqual({ userId: 'cashier@example.com', token: withoutExp, roles: [] });
    await expect(
      verify(await sign({ sub: 'cashier@example.com', exp: Math.floor(Date.now() / 1000) - 10 }), { log }),
    ).rejects.toMatchObject({ message: 'Token has expired' });
    await expect(verify(await sign({ sub: 'x'.repeat(400) }), { log })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('reads roles from the roles claim: an array, or the string an API Gateway authorizer makes of one', async () => {
    const withRoles = await new SignJWT({ roles: ['operator', 'cashier'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('op@example.com')
      .sign(new TextEncoder().encode(SECRET));

    expect((await hs256Verifier(SECRET)(withRoles, { log })).roles).toEqual(['operator', 'cashier']);
    expect((await gatewayVerifier('t', { log, gatewayClaims: { sub: 'op@example.com', roles: '[operator cashier]' } })).roles).toEqual([
      'operator',
      'cashier',
    ]);
    expect((await gatewayVerifier('t', { log, gatewayClaims: { sub: 'op@example.com', roles: 42 } })).roles).toEqual([]);
  });

  it('behind an API Gateway authorizer, trusts only its claims, and checks their sub the same way', async () => {
    await expect(gatewayVerifier('token', { log, gatewayClaims: { sub: 'cashier@example.com' } })).resolves.toEqual({
      userId: 'cashier@example.com',
      token: 'token',
      roles: [],
    });
    await expect(gatewayVerifier('token', { log })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(gatewayVerifier('token', { log, gatewayClaims: { sub: 'nul\u0000' } })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
