/** Environments parseConfig (lib/config.ts) accepts, for the unit tests that vary them. */

/** The least a local stack is configured with. */
export const LOCAL_ENV = {
  DATABASE_URL: 'postgres://localhost/db',
  UPSTREAM_BASE_URL: 'http://127.0.0.1:4010',
  AUTH_JWT_SECRET: 'a-secret-of-enough-length',
};

/** A deployed stage: its own database and upstream, tokens verified by an API Gateway authorizer, its own sealing key. */
export const DEPLOYED_ENV = {
  SERVICE_STAGE: 'prod',
  DATABASE_URL: 'postgres://db/pos',
  UPSTREAM_BASE_URL: 'https://pos.example.com',
  AUTH_TRUST_API_GATEWAY: 'true',
  TOKEN_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
};
