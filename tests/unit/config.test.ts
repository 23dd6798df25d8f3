import { ConfigError, DEV_TOKEN_ENCRYPTION_KEYS, parseConfig } from '../../lib/config';
import { DEPLOYED_ENV as deployed, LOCAL_ENV as valid } from '../support/config-env';

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
    expect(() => parseConfig({ ...valid, ORDER_ABANDONED_AFTER_SECONDS: '30', REQUEST_DEADLINE_MS: '25000' })).toThrow(
      /ORDER_ABANDONED_AFTER_SECONDS/,
    );
    expect(parseConfig({ ...valid, ORDER_ABANDONED_AFTER_SECONDS: '31', REQUEST_DEADLINE_MS: '25000' }).ORDER_ABANDONED_AFTER_SECONDS).toBe(
      31,
    );
  });

  it('refuses to start without a token secret unless an API Gateway authorizer verifies tokens', () => {
    const { AUTH_JWT_SECRET: _omitted, ...withoutSecret } = valid;

    expect(() => parseConfig(withoutSecret)).toThrow(ConfigError);
    expect(() => parseConfig(withoutSecret)).toThrow(/AUTH_JWT_SECRET/);
    expect(parseConfig({ ...withoutSecret, AUTH_TRUST_API_GATEWAY: 'true' }).AUTH_TRUST_API_GATEWAY).toBe(true);
  });

  describe('outside the local stage', () => {
    it('refuses the published development secret and sealing key', () => {
      expect(() => parseConfig({ ...deployed, AUTH_JWT_SECRET: 'dev-secret-change-me' })).toThrow(
        /AUTH_JWT_SECRET is the published development secret/,
      );
      expect(() =>
        parseConfig({ ...deployed, TOKEN_ENCRYPTION_KEYS: `k2:${Buffer.alloc(32, 8).toString('base64')},${DEV_TOKEN_ENCRYPTION_KEYS}` }),
      ).toThrow(/published development key/);
      const devKeyUnpadded = DEV_TOKEN_ENCRYPTION_KEYS.split(':')[1]!.replace(/=+$/, '');
      expect(() => parseConfig({ ...deployed, TOKEN_ENCRYPTION_KEYS: `mine:${devKeyUnpadded}` })).toThrow(/published development key/);
      expect(parseConfig({ ...deployed, SERVICE_STAGE: 'local', AUTH_JWT_SECRET: 'dev-secret-change-me' }).AUTH_MODE).toBe('jwt');
    });

    it('refuses the local stage inside AWS Lambda, but not under serverless-offline', () => {
      const lambda = {
        ...deployed,
        SERVICE_STAGE: 'local',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
        TOKEN_ENCRYPTION_KEYS_REF: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbCdEf',
        DATABASE_URL_REF: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf',
      };
      expect(() => parseConfig(lambda)).toThrow(/never in AWS Lambda/);
      expect(parseConfig({ ...lambda, IS_OFFLINE: 'true' }).SERVICE_STAGE).toBe('local');
      expect(parseConfig({ ...lambda, SERVICE_STAGE: 'prod' }).SERVICE_STAGE).toBe('prod');
    });

    it('refuses to start without an upstream URL, where locally the simulator is assumed', () => {
      const { UPSTREAM_BASE_URL: _omitted, ...withoutUpstream } = deployed;

      expect(() => parseConfig(withoutUpstream)).toThrow(/UPSTREAM_BASE_URL is required outside the local stage/);
      expect(parseConfig({ ...withoutUpstream, SERVICE_STAGE: 'local' }).UPSTREAM_BASE_URL).toBe('http://127.0.0.1:4010');
      expect(parseConfig({ ...valid, UPSTREAM_BASE_URL: '' }).SERVICE_STAGE).toBe('local');
    });

    it('refuses to start without a database: DATABASE_URL, or the Data API cluster, secret and database', () => {
      const { DATABASE_URL: _omitted, ...withoutDatabase } = deployed;
      const dataApi = {
        DATA_API_CLUSTER_ARN: 'arn:aws:rds:eu-west-1:123456789012:cluster:pos',
        DATA_API_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pos-AbCdEf',
        DATA_API_DATABASE: 'pos',
      };

      expect(() => parseConfig(withoutDatabase)).toThrow(/DATABASE_URL: no database configured/);
      expect(() => parseConfig({ ...withoutDatabase, DATA_API_DATABASE: 'pos' })).toThrow(/no database configured/);
      expect(() => parseConfig({ ...withoutDatabase, DATA_API_CLUSTER_ARN: dataApi.DATA_API_CLUSTER_ARN })).toThrow(
        /the RDS Data API also needs DATA_API_SECRET_ARN, DATA_API_DATABASE/,
      );
      expect(parseConfig({ ...withoutDatabase, ...dataApi, AWS_REGION: 'eu-west-1' }).DATA_API_CLUSTER_ARN).toBe(
        dataApi.DATA_API_CLUSTER_ARN,
      );
      expect(() => parseConfig({ ...withoutDatabase, ...dataApi, AWS_REGION: 'eu-west-1', DATA_API_SECRET_ARN: '' })).toThrow(
        /also needs DATA_API_SECRET_ARN/,
      );
      expect(() => parseConfig({ ...withoutDatabase, ...dataApi, AWS_REGION: 'eu-west-1', DATA_API_CLUSTER_ARN: 'pos-cluster' })).toThrow(
        /DATA_API_CLUSTER_ARN must be an ARN/,
      );
    });

    it('refuses to start without its own key to seal the tokens background work acts with, where locally the dev key serves', () => {
      const { TOKEN_ENCRYPTION_KEYS: _omitted, ...withoutKeys } = deployed;

      expect(() => parseConfig(withoutKeys)).toThrow(/TOKEN_ENCRYPTION_KEYS is required outside the local stage/);
      expect(parseConfig({ ...withoutKeys, SERVICE_STAGE: 'local' }).TOKEN_ENCRYPTION_KEYS).toBe(DEV_TOKEN_ENCRYPTION_KEYS);
      expect(() => parseConfig({ ...deployed, TOKEN_ENCRYPTION_KEYS: 'k1:dG9vIHNob3J0' })).toThrow(
        /TOKEN_ENCRYPTION_KEYS: key "k1" must be 32 bytes/,
      );
    });

    it('accepts AUTH_MODE=upstream without any secret: the upstream checks each token', () => {
      expect(parseConfig({ ...deployed, AUTH_TRUST_API_GATEWAY: 'false', AUTH_MODE: 'upstream' }).AUTH_MODE).toBe('upstream');
    });

    it('still refuses to start without a way to authenticate callers', () => {
      expect(() => parseConfig({ ...deployed, AUTH_TRUST_API_GATEWAY: 'false' })).toThrow(/AUTH_JWT_SECRET/);
    });
  });
});
