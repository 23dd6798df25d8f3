import { parseConfig } from '../../lib/config';
import { resolveSecrets, type SecretFetchers } from '../../lib/secrets';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pos-keys-AbCdEf';
const PARAMETER_ARN = 'arn:aws:ssm:eu-west-1:123456789012:parameter/pos/prod/jwt-secret';
const KEYS = `k1:${Buffer.alloc(32, 5).toString('base64')}`;

function fakeStore(values: Record<string, string | undefined>): SecretFetchers & { asked: string[] } {
  const asked: string[] = [];
  const read = async (arn: string) => {
    asked.push(arn);
    if (!(arn in values)) throw new Error('AccessDeniedException');
    return values[arn];
  };
  return { asked, secret: read, parameter: read };
}

describe('secrets from a secret store (lib/secrets.ts)', () => {
  it('fills each variable whose _REF names a Secrets Manager secret or an SSM parameter, and asks for nothing else', async () => {
    const env: NodeJS.ProcessEnv = { TOKEN_ENCRYPTION_KEYS_REF: SECRET_ARN, AUTH_JWT_SECRET_REF: PARAMETER_ARN };
    const store = fakeStore({ [SECRET_ARN]: `${KEYS}\n`, [PARAMETER_ARN]: 'a-long-enough-signing-secret' });

    await resolveSecrets(env, store);

    expect(env).toMatchObject({ TOKEN_ENCRYPTION_KEYS: KEYS, AUTH_JWT_SECRET: 'a-long-enough-signing-secret' });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(store.asked.sort()).toEqual([PARAMETER_ARN, SECRET_ARN].sort());
  });

  it('stops with the variable named when a reference is not an ARN, cannot be read, or holds nothing', async () => {
    await expect(resolveSecrets({ DATABASE_URL_REF: '/pos/prod/db' }, fakeStore({}))).rejects.toThrow(/DATABASE_URL_REF must be the ARN/);
    await expect(resolveSecrets({ DATABASE_URL_REF: SECRET_ARN }, fakeStore({}))).rejects.toThrow(
      /DATABASE_URL could not be read from .*AccessDeniedException/,
    );
    await expect(resolveSecrets({ DATABASE_URL_REF: SECRET_ARN }, fakeStore({ [SECRET_ARN]: '' }))).rejects.toThrow(/holds no value/);
  });

  it('inside AWS Lambda, refuses a secret given as a plain environment variable', () => {
    const deployed = {
      SERVICE_STAGE: 'prod',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
      DATA_API_CLUSTER_ARN: 'arn:aws:rds:eu-west-1:123456789012:cluster:pos',
      DATA_API_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db',
      DATA_API_DATABASE: 'pos',
      AWS_REGION: 'eu-west-1',
      UPSTREAM_BASE_URL: 'https://pos.example.com',
      AUTH_MODE: 'upstream',
      TOKEN_ENCRYPTION_KEYS: KEYS,
    };
    expect(() => parseConfig(deployed)).toThrow(/TOKEN_ENCRYPTION_KEYS must come from a secret store/);
    expect(parseConfig({ ...deployed, TOKEN_ENCRYPTION_KEYS_REF: SECRET_ARN }).SERVICE_STAGE).toBe('prod');
    expect(parseConfig({ ...deployed, IS_OFFLINE: 'true' }).SERVICE_STAGE).toBe('prod');
  });
});
