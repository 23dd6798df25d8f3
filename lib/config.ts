import { z } from 'zod';
import { referenceOf, SECRET_VARIABLES } from './secrets';
import { parseSealingKeys } from './credentials';
import { DEV_JWT_SECRET, DEV_TOKEN_ENCRYPTION_KEYS } from './dev-secrets';
import { chooseDriver } from './db/driver';

export { DEV_TOKEN_ENCRYPTION_KEYS } from './dev-secrets';

const booleanFromEnv = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

/** The upstream when the local stage sets none: the simulator npm start runs on its default port. */
const LOCAL_SIMULATOR_URL = 'http://127.0.0.1:4010';

const envSchema = z
  .object({
    /** 'local' under npm start / npm test (serverless-offline); serverless.yml sets ${sls:stage} everywhere. */
    SERVICE_STAGE: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,32}$/, 'Must be a stage name')
      .default('local'),
    // The database driver: DATABASE_URL (postgres.js), or the RDS Data API (cluster, secret, database; region from AWS_REGION).
    DATABASE_URL: z.string().min(1).optional(),
    DATA_API_CLUSTER_ARN: z.string().startsWith('arn:', 'DATA_API_CLUSTER_ARN must be an ARN').optional(),
    DATA_API_SECRET_ARN: z.string().startsWith('arn:', 'DATA_API_SECRET_ARN must be an ARN').optional(),
    DATA_API_DATABASE: z.string().min(1).optional(),
    DATA_API_ENDPOINT: z.url().optional(),
    AWS_REGION: z.string().min(1).optional(),
    // Set by the Lambda runtime (AWS_Lambda_nodejs20.x) and by serverless-offline (IS_OFFLINE): where the code runs.
    AWS_EXECUTION_ENV: z.string().optional(),
    IS_OFFLINE: z.string().optional(),
    // Where lib/secrets.ts read these from (an ARN), on a deployed stage.
    AUTH_JWT_SECRET_REF: z.string().optional(),
    TOKEN_ENCRYPTION_KEYS_REF: z.string().optional(),
    DATABASE_URL_REF: z.string().optional(),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(50).default(3),
    DATABASE_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(20),
    /** Benchmarks only: ms every database round trip waits first, standing in for the RDS Data API's network (lib/db/delayed.ts). */
    DATABASE_CALL_DELAY_MS: z.coerce.number().int().min(0).max(1000).default(0),
    UPSTREAM_BASE_URL: z.url().optional(),
    UPSTREAM_CALL_TIMEOUT_MS: z.coerce.number().int().min(50).max(28000).default(8000),
    UPSTREAM_503_MEANS_NO_EFFECT: booleanFromEnv.default(true),
    /**
     * How long after we sent it the upstream may still apply a request whose answer we did not get (the
     * contract's "applied later, after a read in between showed nothing"). Until then a read proves
     * nothing: no refund is judged not applied, no resolution is taken, duplicates are checked after it.
     */
    UPSTREAM_LATE_EFFECT_MS: z.coerce.number().int().min(1000).max(3_600_000).default(30000),
    UPSTREAM_ADAPTIVE_TIMEOUT_FLOOR_MS: z.coerce.number().int().min(50).max(28000).default(1000),
    UPSTREAM_ADAPTIVE_TIMEOUT_P99_FACTOR: z.coerce.number().min(1).max(10).default(1.5),
    /**
     * The attempt timeout of reads and order creation in a container that has observed no answers yet
     * (within the floor and UPSTREAM_CALL_TIMEOUT_MS), handed over to factor × observed p99 as answers come
     * in. 900: 1.5 × the 600 ms p99 the simulated upstream plays (raised to the floor, 1000 by default).
     */
    UPSTREAM_ADAPTIVE_TIMEOUT_INITIAL_MS: z.coerce.number().int().min(50).max(28000).default(900),
    PAYMENT_TIMEOUT_MS: z.coerce.number().int().min(50).max(28000).default(10000),
    PAYMENT_MIN_WINDOW_MS: z.coerce.number().int().min(50).max(28000).default(10000),
    REQUEST_DEADLINE_MS: z.coerce.number().int().min(500).max(28000).default(25000),
    UPSTREAM_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(4),
    UPSTREAM_BACKOFF_BASE_MS: z.coerce.number().int().min(1).default(100),
    UPSTREAM_BACKOFF_CAP_MS: z.coerce.number().int().min(1).default(2000),
    BREAKER_FAILURE_THRESHOLD: z.coerce.number().int().min(1).default(10),
    BREAKER_HALF_OPEN_AFTER_MS: z.coerce.number().int().min(100).default(5000),
    CATALOGUE_TTL_SECONDS: z.coerce.number().int().min(0).default(60),
    CATALOGUE_MAX_STALE_SECONDS: z.coerce.number().int().min(0).default(900),
    IDEMPOTENCY_KEY_TTL_HOURS: z.coerce.number().int().min(1).default(24),
    ORDER_ABANDONED_AFTER_SECONDS: z.coerce.number().int().min(30).default(120),
    ORDER_DECLINED_EXPIRY_MINUTES: z.coerce.number().min(0).default(30),
    RECONCILER_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(50),
    OPERATOR_STUCK_AFTER_MINUTES: z.coerce.number().min(1).default(15),
    AUTH_JWT_SECRET: z.string().min(16, 'AUTH_JWT_SECRET must be at least 16 characters').optional(),
    AUTH_TRUST_API_GATEWAY: booleanFromEnv.default(false),
    AUTH_MODE: z.enum(['jwt', 'gateway', 'upstream']).optional(),
    AUTH_UPSTREAM_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
    AUTH_UPSTREAM_REFUSAL_CACHE_SECONDS: z.coerce.number().int().min(0).max(600).default(10),
    /** Users who are operators whatever their token says (comma-separated `sub` values); in AUTH_MODE=upstream the only source of roles. */
    OPERATOR_USER_IDS: z
      .string()
      .default('')
      .transform(
        (value) =>
          new Set(
            value
              .split(',')
              .map((id) => id.trim())
              .filter(Boolean),
          ),
      ),
    TOKEN_ENCRYPTION_KEYS: z
      .string()
      .optional()
      .superRefine((value, ctx) => {
        if (value === undefined) return;
        try {
          parseSealingKeys(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /** Share of invocations (0–1) that log at debug whatever LOG_LEVEL says (lib/logger.ts reads it). */
    LOG_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0),
    /** Unsettled orders overdue for the reconciler by more than this count as stuck (the StuckOrders gauge). */
    STUCK_ORDER_MINUTES: z.coerce.number().min(1).default(15),
    /** The completeOrder function a paid checkout hands its completion to (serverless.yml sets it); unset: completed in the paying process. */
    COMPLETION_FUNCTION_NAME: z.string().min(1).optional(),
    /** Where that function is invoked instead of AWS: serverless-offline's Lambda port (dev/infra sets it locally); unset on AWS. */
    COMPLETION_INVOKE_ENDPOINT: z.url().optional(),
    /** How long a checkout waits for the hand-off before completing in its own process instead. */
    COMPLETION_HANDOFF_TIMEOUT_MS: z.coerce.number().int().min(50).max(5000).default(1000),
  })
  .superRefine((env, ctx) => {
    const choice = chooseDriver(env);
    if ('problem' in choice) ctx.addIssue({ code: 'custom', message: choice.problem, path: [choice.variable] });
  })
  .refine((env) => env.ORDER_ABANDONED_AFTER_SECONDS * 1000 > env.REQUEST_DEADLINE_MS + 5000, {
    message:
      'ORDER_ABANDONED_AFTER_SECONDS must outlast a request (REQUEST_DEADLINE_MS + 5 s), or the reconciler could settle an order a live request is still working on',
    path: ['ORDER_ABANDONED_AFTER_SECONDS'],
  })
  .refine((env) => env.PAYMENT_MIN_WINDOW_MS <= env.REQUEST_DEADLINE_MS, {
    message: 'PAYMENT_MIN_WINDOW_MS must fit in REQUEST_DEADLINE_MS, or no payment would ever be sent',
    path: ['PAYMENT_MIN_WINDOW_MS'],
  })
  .transform(({ AUTH_MODE, ...env }) => ({
    ...env,
    AUTH_MODE: AUTH_MODE ?? (env.AUTH_JWT_SECRET ? 'jwt' : env.AUTH_TRUST_API_GATEWAY ? 'gateway' : undefined),
  }))
  .refine((env) => env.AUTH_MODE !== undefined, {
    message:
      'choose how callers are authenticated: AUTH_MODE=jwt with AUTH_JWT_SECRET, AUTH_MODE=gateway (behind an API Gateway JWT authorizer) or AUTH_MODE=upstream (the upstream checks each token)',
    path: ['AUTH_MODE'],
  })
  .refine((env) => env.AUTH_MODE !== 'jwt' || env.AUTH_JWT_SECRET !== undefined, {
    message: 'AUTH_JWT_SECRET is required with AUTH_MODE=jwt',
    path: ['AUTH_JWT_SECRET'],
  })
  .superRefine(requireDeployedSettings)
  .refine((env) => env.DATABASE_CALL_DELAY_MS === 0 || env.SERVICE_STAGE === 'local', {
    message: 'DATABASE_CALL_DELAY_MS slows every database call down on purpose (a benchmark setting): only the local stage may set it',
    path: ['DATABASE_CALL_DELAY_MS'],
  })
  // Only the local stage may leave these unset: the upstream is then the simulator npm start runs, and tokens are sealed with the dev key.
  .transform((env) => ({
    ...env,
    UPSTREAM_BASE_URL: env.UPSTREAM_BASE_URL ?? LOCAL_SIMULATOR_URL,
    TOKEN_ENCRYPTION_KEYS: env.TOKEN_ENCRYPTION_KEYS ?? DEV_TOKEN_ENCRYPTION_KEYS,
  }));

/**
 * Outside the local stage nothing falls back to the simulator or the dev sealing key, so the upstream URL
 * and TOKEN_ENCRYPTION_KEYS are required (a database on every stage: see chooseDriver; callers are
 * authenticated on every stage: see AUTH_MODE).
 */
function requireDeployedSettings(
  env: {
    SERVICE_STAGE: string;
    UPSTREAM_BASE_URL?: string;
    TOKEN_ENCRYPTION_KEYS?: string;
    AUTH_JWT_SECRET?: string;
    DATABASE_URL?: string;
    AWS_EXECUTION_ENV?: string;
    IS_OFFLINE?: string;
    AUTH_JWT_SECRET_REF?: string;
    TOKEN_ENCRYPTION_KEYS_REF?: string;
    DATABASE_URL_REF?: string;
  },
  ctx: z.RefinementCtx,
): void {
  const inAws = env.AWS_EXECUTION_ENV?.startsWith('AWS_Lambda_') === true && !env.IS_OFFLINE;
  if (env.SERVICE_STAGE === 'local') {
    if (inAws)
      ctx.addIssue({
        code: 'custom',
        path: ['SERVICE_STAGE'],
        message: 'the local stage runs on a developer machine only, never in AWS Lambda: deploy with --stage <name>',
      });
    return;
  }
  if (env.AUTH_JWT_SECRET === DEV_JWT_SECRET) {
    ctx.addIssue({
      code: 'custom',
      path: ['AUTH_JWT_SECRET'],
      message: `AUTH_JWT_SECRET is the published development secret; stage ${env.SERVICE_STAGE} needs its own`,
    });
  }
  if (inAws) {
    for (const variable of SECRET_VARIABLES) {
      if (env[variable] && !env[referenceOf(variable)]) {
        ctx.addIssue({
          code: 'custom',
          path: [variable],
          message: `${variable} must come from a secret store on a deployed stage: set ${referenceOf(variable)} to its Secrets Manager or SSM SecureString ARN (docs/deploying.md)`,
        });
      }
    }
  }
  if (env.TOKEN_ENCRYPTION_KEYS !== undefined && holdsDevKey(env.TOKEN_ENCRYPTION_KEYS)) {
    ctx.addIssue({
      code: 'custom',
      path: ['TOKEN_ENCRYPTION_KEYS'],
      message: `TOKEN_ENCRYPTION_KEYS holds the published development key; stage ${env.SERVICE_STAGE} needs its own`,
    });
  }
  if (!env.UPSTREAM_BASE_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['UPSTREAM_BASE_URL'],
      message: `UPSTREAM_BASE_URL is required outside the local stage (stage ${env.SERVICE_STAGE})`,
    });
  }
  if (!env.TOKEN_ENCRYPTION_KEYS) {
    ctx.addIssue({
      code: 'custom',
      path: ['TOKEN_ENCRYPTION_KEYS'],
      message: `TOKEN_ENCRYPTION_KEYS is required outside the local stage (stage ${env.SERVICE_STAGE}): it seals the callers' tokens the reconciler acts with`,
    });
  }
}

/** Whether the listed keys include the published dev key's bytes, however encoded (a bad list is reported on its own). */
function holdsDevKey(keys: string): boolean {
  const devKey = parseSealingKeys(DEV_TOKEN_ENCRYPTION_KEYS)[0]!.key;
  try {
    return parseSealingKeys(keys).some(({ key }) => key.equals(devKey));
  } catch {
    return false;
  }
}

export type Config = z.infer<typeof envSchema>;

/**
 * How long after a call was recorded as sent its effect may still land: the
 * request that recorded it may send it any time before its deadline
 * (REQUEST_DEADLINE_MS: a stall between the write and the send), and the
 * upstream may apply it UPSTREAM_LATE_EFFECT_MS after that.
 */
export const effectMayLandWithinMs = (c: Pick<Config, 'UPSTREAM_LATE_EFFECT_MS' | 'REQUEST_DEADLINE_MS'>): number =>
  c.UPSTREAM_LATE_EFFECT_MS + c.REQUEST_DEADLINE_MS;

export class ConfigError extends Error {}

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const emptyAsUnset = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = envSchema.safeParse(emptyAsUnset);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'env'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}

let cached: Config | undefined;

/** Read once per container (cold start) and reused. */
export function config(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}
