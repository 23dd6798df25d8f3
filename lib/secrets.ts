/**
 * Secrets from a secret store, read once per Lambda container before the
 * configuration is parsed. A variable `X_REF` holding the ARN of a Secrets
 * Manager secret (`arn:aws:secretsmanager:…`) or of an SSM SecureString
 * parameter (`arn:aws:ssm:…:parameter/…`) fills `X` with its value; so the
 * values never sit in the function's configuration or the deploy bucket.
 * Local runs keep plain environment variables. Powertools Parameters does the
 * fetching (and caches each value for the container's life).
 */

/** The variables that may come from a store; a deployed stage must take them from one (lib/config.ts). */
export const SECRET_VARIABLES = ['AUTH_JWT_SECRET', 'TOKEN_ENCRYPTION_KEYS', 'DATABASE_URL'] as const;
export type SecretVariable = (typeof SECRET_VARIABLES)[number];

export const referenceOf = <V extends SecretVariable>(variable: V) => `${variable}_REF` as `${V}_REF`;

export interface SecretFetchers {
  secret(arn: string): Promise<string | undefined>;
  parameter(arn: string): Promise<string | undefined>;
}

/** Fetchers that load Powertools Parameters (and its AWS SDK client) only when a reference is set. */
const powertoolsFetchers: SecretFetchers = {
  secret: async (arn) => {
    const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
    const value = await getSecret(arn, { maxAge: Number.MAX_SAFE_INTEGER });
    return typeof value === 'string' ? value : value === undefined ? undefined : Buffer.from(value).toString('utf8');
  },
  parameter: async (arn) => {
    const { getParameter } = await import('@aws-lambda-powertools/parameters/ssm');
    return getParameter(arn, { decrypt: true, maxAge: Number.MAX_SAFE_INTEGER });
  },
};

const SECRETS_MANAGER_ARN = /^arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:.+$/;
const SSM_PARAMETER_ARN = /^arn:aws[\w-]*:ssm:[\w-]+:\d{12}:parameter\/.+$/;

/** Fills each variable that has a `_REF` from the store it names; throws naming the variable when it cannot. */
export async function resolveSecrets(env: NodeJS.ProcessEnv, fetchers: SecretFetchers = powertoolsFetchers): Promise<void> {
  await Promise.all(
    SECRET_VARIABLES.map(async (variable) => {
      const reference = env[referenceOf(variable)];
      if (!reference) return;
      let value: string | undefined;
      if (SECRETS_MANAGER_ARN.test(reference))
        value = await fetchers.secret(reference).catch((error) => failed(variable, reference, error));
      else if (SSM_PARAMETER_ARN.test(reference))
        value = await fetchers.parameter(reference).catch((error) => failed(variable, reference, error));
      else throw new Error(`${referenceOf(variable)} must be the ARN of a Secrets Manager secret or an SSM parameter, got "${reference}"`);
      if (!value) throw new Error(`${referenceOf(variable)}: ${reference} holds no value`);
      env[variable] = value.trim();
    }),
  );
}

function failed(variable: SecretVariable, reference: string, error: unknown): never {
  throw new Error(`${variable} could not be read from ${reference}: ${error instanceof Error ? error.message : String(error)}`);
}

let loaded: Promise<void> | undefined;

/** Once per container: resolves the references in process.env (a failure is retried on the next invocation). */
export function secretsLoaded(): Promise<void> {
  loaded ??= resolveSecrets(process.env).catch((error) => {
    loaded = undefined;
    throw error;
  });
  return loaded;
}
