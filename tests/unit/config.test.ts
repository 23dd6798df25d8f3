import { ConfigError, parseConfig } from '../../lib/config';

const valid = { DATABASE_URL: 'postgres://localhost/db', UPSTREAM_BASE_URL: 'http://127.0.0.1:4010', AUTH_JWT_SECRET: 'a-secret-of-enough-length' };

describe('configuration read at cold start', () => {
  it('applies documented defaults', () => {
    const config = parseConfig(valid);

    expect(config.REQUEST_DEADLINE_MS).toBe(25000);
    expect(config.UPSTREAM_CALL_TIMEOUT_MS).toBe(8000);
    expect(config.AUTH_TRUST_API_GATEWAY).toBe(false);
  });

  it('names the variable that is wrong', () => {
    expect(() => parseConfig({ ...valid, UPSTREAM_BASE_URL: 'not a url' })).toThrow(/UPSTREAM_BASE_URL/);
    expect(() => parseConfig({ ...valid, REQUEST_DEADLINE_MS: '60000' })).toThrow(/REQUEST_DEADLINE_MS/);
    expect(() => parseConfig({ ...valid, DATABASE_URL: '' })).toThrow(/DATABASE_URL/);
  });

  it('refuses an abandonment delay a live request could outlast', () => {
    expect(() => parseConfig({ ...valid, ORDER_ABANDONED_AFTER_SECONDS: '30', REQUEST_DEADLINE_MS: '25000' })).toThrow(/ORDER_ABANDONED_AFTER_SECONDS/);
    expect(parseConfig({ ...valid, ORDER_ABANDONED_AFTER_SECONDS: '31', REQUEST_DEADLINE_MS: '25000' }).ORDER_ABANDONED_AFTER_SECONDS).toBe(31);
  });

  it('refuses to start without a token secret unless an API Gateway authorizer verifies tokens', () => {
    const { AUTH_JWT_SECRET: _omitted, ...withoutSecret } = valid;

    expect(() => parseConfig(withoutSecret)).toThrow(ConfigError);
    expect(() => parseConfig(withoutSecret)).toThrow(/AUTH_JWT_SECRET/);
    expect(parseConfig({ ...withoutSecret, AUTH_TRUST_API_GATEWAY: 'true' }).AUTH_TRUST_API_GATEWAY).toBe(true);
  });
});
