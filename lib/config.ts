import { z } from 'zod';
import { chooseDriver } from './db/driver';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const envSchema = z
  .object({
    // The database driver: DATABASE_URL (postgres.js), or the RDS Data API (cluster, secret, database; region from AWS_REGION).
    DATABASE_URL: z.string().min(1).optional(),
    DATA_API_CLUSTER_ARN: z.string().startsWith('arn:', 'DATA_API_CLUSTER_ARN must be an ARN').optional(),
    DATA_API_SECRET_ARN: z.string().startsWith('arn:', 'DATA_API_SECRET_ARN must be an ARN').optional(),
    DATA_API_DATABASE: z.string().min(1).optional(),
    DATA_API_ENDPOINT: z.url().optional(),
    AWS_REGION: z.string().min(1).optional(),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(50).default(3),
    DATABASE_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(20),
    UPSTREAM_BASE_URL: z.url(),
    UPSTREAM_CALL_TIMEOUT_MS: z.coerce.number().int().min(50).max(28000).default(8000),
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
    AUTH_JWT_SECRET: z.string().min(16, 'AUTH_JWT_SECRET must be at least 16 characters').optional(),
    AUTH_TRUST_API_GATEWAY: booleanFromEnv.default(false),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  })
  .superRefine((env, ctx) => {
    const choice = chooseDriver(env);
    if ('problem' in choice) ctx.addIssue({ code: 'custom', message: choice.problem, path: [choice.variable] });
  })
  .refine((env) => env.ORDER_ABANDONED_AFTER_SECONDS * 1000 > env.REQUEST_DEADLINE_MS + 5000, {
    message: 'ORDER_ABANDONED_AFTER_SECONDS must outlast a request (REQUEST_DEADLINE_MS + 5 s), or the reconciler could settle an order a live request is still working on',
    path: ['ORDER_ABANDONED_AFTER_SECONDS'],
  })
  .refine((env) => env.AUTH_JWT_SECRET !== undefined || env.AUTH_TRUST_API_GATEWAY, {
    message:
      'AUTH_JWT_SECRET is required unless AUTH_TRUST_API_GATEWAY=true (the service runs behind an API Gateway JWT authorizer)',
    path: ['AUTH_JWT_SECRET'],
  });

export type Config = z.infer<typeof envSchema>;

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
