/**
 * Which database driver the environment asks for. Shared by config (which
 * refuses a bad combination at cold start), db() and `npm run migrate`.
 * Imports nothing of ours, so config can use it without a cycle.
 */

export type DriverChoice =
  | { kind: 'postgres'; url: string }
  | { kind: 'data-api'; resourceArn: string; secretArn: string; database: string; region: string; endpoint?: string };

export interface DriverEnv {
  DATABASE_URL?: string;
  DATA_API_CLUSTER_ARN?: string;
  DATA_API_SECRET_ARN?: string;
  DATA_API_DATABASE?: string;
  DATA_API_ENDPOINT?: string;
  AWS_REGION?: string;
}

const DATA_API_VARIABLES = ['DATA_API_CLUSTER_ARN', 'DATA_API_SECRET_ARN', 'DATA_API_DATABASE'] as const;

const EITHER =
  'set DATABASE_URL (postgres.js) or DATA_API_CLUSTER_ARN + DATA_API_SECRET_ARN + DATA_API_DATABASE (RDS Data API; region from AWS_REGION, DATA_API_ENDPOINT optional)';

/** The configured driver, or why the environment does not name exactly one (and the variable to look at). Empty strings count as unset. */
export function chooseDriver(env: DriverEnv): DriverChoice | { problem: string; variable: keyof DriverEnv } {
  const set = (value: string | undefined): value is string => value !== undefined && value !== '';
  // The database name alone chooses nothing: serverless.yml always sets it (a stage parameter with a default).
  const dataApiSet = DATA_API_VARIABLES.filter((name) => set(env[name]));
  const dataApiChosen = set(env.DATA_API_CLUSTER_ARN) || set(env.DATA_API_SECRET_ARN);
  if (set(env.DATABASE_URL)) {
    if (dataApiChosen)
      return { problem: `both DATABASE_URL and ${dataApiSet.join(', ')} are set: ${EITHER}, not both`, variable: 'DATABASE_URL' };
    return { kind: 'postgres', url: env.DATABASE_URL };
  }
  if (!dataApiChosen) return { problem: `no database configured: ${EITHER}`, variable: 'DATABASE_URL' };
  const missing = DATA_API_VARIABLES.filter((name) => !set(env[name]));
  if (missing.length > 0)
    return { problem: `the RDS Data API also needs ${missing.join(', ')} (or set DATABASE_URL instead)`, variable: missing[0] };
  if (!set(env.AWS_REGION)) return { problem: 'the RDS Data API needs AWS_REGION (Lambda sets it)', variable: 'AWS_REGION' };
  return {
    kind: 'data-api',
    resourceArn: env.DATA_API_CLUSTER_ARN!,
    secretArn: env.DATA_API_SECRET_ARN!,
    database: env.DATA_API_DATABASE!,
    region: env.AWS_REGION,
    endpoint: set(env.DATA_API_ENDPOINT) ? env.DATA_API_ENDPOINT : undefined,
  };
}
