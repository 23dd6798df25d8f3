import { migrate } from '../../lib/db/migrate';
import { connect } from '../../lib/db/sql';
import { configFromEnv, DEV_JWT_SECRET, DEV_USER, signDevToken, startSimulator } from '../simulator';
import { createDatabase, dropDatabase, startEmbeddedPostgres, type DatabaseHandle } from './database';
import { LOCAL_GATEWAY_DEFAULTS, startGateway } from './gateway';
import { launchOffline, linkedServiceDir, type LaunchedOffline } from './offline';
import { freePorts } from './ports';

export { DEV_JWT_SECRET } from '../simulator';

export interface StackOptions {
  /** 'dev' keeps its embedded data between runs; 'test' uses a throwaway database. */
  purpose: 'dev' | 'test';
  env?: NodeJS.ProcessEnv;
  /**
   * A database that already exists (e.g. one of the test run's per-worker
   * databases): the stack migrates it and uses it, and neither creates nor
   * drops it. Unset: DATABASE_URL's server (or an embedded one) and, for
   * 'test', a throwaway database on it.
   */
  database?: string;
  /**
   * Each serverless-offline instance (the API and every variant) in a linked
   * service folder of its own (dev/infra/offline.ts, linkedServiceDir), so
   * they bundle side by side instead of one after the other, and no other
   * run's build can replace their bundles.
   */
  ownServiceDirs?: boolean;
  /**
   * With ownServiceDirs: resolve as soon as the gateways listen (their URLs
   * are final) and let the serverless-offline instances finish starting behind
   * them; until then the gateways answer 503. Wait for `apiReady` before using
   * the API.
   */
  apiInBackground?: boolean;
  /**
   * With ownServiceDirs: serve the handler bundles another stack made (its
   * `bundles`) instead of bundling them again. That stack must stop after
   * this one.
   */
  servesBundlesOf?: Promise<string>;
  /** How long each serverless-offline instance may take to answer /health (90 s when unset). */
  apiReadyTimeoutMs?: number;
  /**
   * End each serverless-offline's esbuild service once it serves (some 2 GB
   * each): only for a stack that never rebuilds, as 'test' stacks (their watch
   * pattern matches nothing). See dev/infra/offline.ts.
   */
  endBundlersWhenReady?: boolean;
  /** Skip serverless-offline (integration tests only need the database and the simulator). */
  withoutApi?: boolean;
  apiPort?: number;
  simulatorPort?: number;
  /** Extra environment for the handlers, e.g. shorter timeouts in tests. */
  handlerEnv?: Record<string, string>;
  /**
   * More serverless-offline instances over the same database and upstream,
   * each with its handler environment changed by these overrides (the tests
   * run the checkout under another reading of the upstream's 503 this way).
   */
  apiVariants?: Record<string, Record<string, string>>;
  onApiOutput?: (chunk: string) => void;
  log?: (message: string) => void;
}

export interface Stack {
  databaseUrl: string;
  upstreamUrl: string;
  /** Set when this stack started the simulator (not when UPSTREAM_BASE_URL points elsewhere). */
  simulatorUrl?: string;
  apiUrl?: string;
  /** Where scheduled functions are invoked by hand: POST {lambdaUrl}/2015-03-31/functions/{name}/invocations. */
  lambdaUrl?: string;
  /** The API and invoke URLs of each of `apiVariants`. */
  variants: Record<string, { apiUrl: string; lambdaUrl: string }>;
  /** Resolves once every serverless-offline instance answers (at once unless `apiInBackground`); rejects if one did not start. */
  apiReady: Promise<void>;
  /** With ownServiceDirs and no servesBundlesOf: where this stack's handler bundles are, once they are (for another stack's servesBundlesOf). */
  bundles?: Promise<string>;
  jwtSecret: string;
  devToken(sub?: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Everything the service needs to run locally, in start order: Postgres
 * (DATABASE_URL, or an embedded server), migrations, the upstream simulator
 * (unless UPSTREAM_BASE_URL is set), then serverless-offline. stop() ends
 * them in reverse order and is safe to call more than once.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const stops: Array<() => Promise<void>> = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const step of stops.reverse()) await step().catch((error) => log(`stop failed: ${error}`));
  };
  try {
    const databaseUrl = options.database ?? (await prepareDatabase(options.purpose, env.DATABASE_URL, stops, log));
    const sql = connect(databaseUrl, { max: 1 });
    try {
      const applied = await migrate(sql);
      log(applied.length ? `migrations applied: ${applied.join(', ')}` : 'migrations: up to date');
    } finally {
      await sql.end();
    }

    const jwtSecret = env.AUTH_JWT_SECRET || DEV_JWT_SECRET;
    let upstreamUrl = env.UPSTREAM_BASE_URL;
    let simulatorUrl: string | undefined;
    if (!upstreamUrl) {
      const simulator = await startSimulator({ ...configFromEnv(env), jwtSecret, port: options.simulatorPort ?? 0 });
      stops.push(() => simulator.close());
      upstreamUrl = simulatorUrl = simulator.url;
      log(`upstream simulator: ${simulator.url}`);
    }

    let apiUrl: string | undefined;
    let lambdaUrl: string | undefined;
    const variants: Stack['variants'] = {};
    let apiReady: Promise<void> = Promise.resolve();
    let bundles: Promise<string> | undefined;
    if (!options.withoutApi) {
      const handlerEnv = {
        ...passThrough(env),
        DATABASE_URL: databaseUrl,
        UPSTREAM_BASE_URL: upstreamUrl,
        AUTH_JWT_SECRET: jwtSecret,
        ...(options.purpose === 'test' ? { ESBUILD_WATCH_PATTERN: '.no-watch/none.ts' } : {}),
        ...options.handlerEnv,
      };
      const gatewayOptions = gatewaySettings(env);
      const apis: Array<{ name?: string; env: Record<string, string>; preferredPort?: number }> = [
        { env: handlerEnv, preferredPort: options.apiPort },
        ...Object.entries(options.apiVariants ?? {}).map(([name, overrides]) => ({ name, env: { ...handlerEnv, ...overrides } })),
      ];
      // Every port picked at once (held until all are found), so no two of them are the same.
      const ports = await freePorts(apis.length * 3);
      let ownBundles: Promise<string> | undefined;
      /** Starts one API: its gateway at once, its serverless-offline once the bundles it serves exist (when it serves another's). */
      const launchApi = async (api: (typeof apis)[number], index: number) => {
        const [httpPort, lambdaPort, gatewayPort] = ports.slice(index * 3, index * 3 + 3);
        // With ownServiceDirs one instance bundles (this stack's first, unless the stack serves another's bundles) and
        // the others serve its bundles: the same files, bundled once (dev/infra/offline.ts, linkedServiceDir).
        const bundlesOf =
          options.ownServiceDirs && (index > 0 || options.servesBundlesOf) ? (options.servesBundlesOf ?? ownBundles) : undefined;
        let stopped = false;
        let linked: ReturnType<typeof linkedServiceDir> | undefined;
        let offline: LaunchedOffline | undefined;
        stops.push(async () => {
          stopped = true;
          await offline?.stop();
          linked?.remove();
        });
        const ready = (async () => {
          const bundles = bundlesOf ? await bundlesOf : undefined;
          if (stopped) throw new Error('the stack stopped before this API started');
          linked = options.ownServiceDirs ? linkedServiceDir({ servesBundlesOf: bundles }) : undefined;
          offline = launchOffline({
            onOutput: options.onApiOutput,
            env: api.env,
            serviceDir: linked?.dir,
            httpPort,
            lambdaPort,
            readyTimeoutMs: options.apiReadyTimeoutMs,
            endBundlerWhenReady: options.endBundlersWhenReady,
          });
          await offline.ready;
          return linked?.dir && !bundles ? linked.bundles : undefined;
        })();
        if (options.ownServiceDirs && !bundlesOf) {
          ownBundles = ready.then((bundles) => bundles!);
          ownBundles.catch(() => undefined); // whoever serves them sees the failure
        }
        // The gateway listens at once; until serverless-offline answers it answers 503 (SERVICE_UNAVAILABLE).
        const target = `http://127.0.0.1:${httpPort}`;
        const gateway = await startGateway({ ...gatewayOptions, target, preferredPort: api.preferredPort ?? gatewayPort });
        stops.push(() => gateway.stop());
        const apiLambdaUrl = `http://127.0.0.1:${lambdaPort}`;
        if (api.name === undefined) {
          apiUrl = gateway.url;
          lambdaUrl = apiLambdaUrl;
          log(
            `gateway: ${gateway.url} → serverless-offline ${target} (at most ${gatewayOptions.concurrency} invocations of a function at once, the rest wait up to ${gatewayOptions.queueMs} ms)`,
          );
        } else {
          variants[api.name] = { apiUrl: gateway.url, lambdaUrl: apiLambdaUrl };
        }
        ready.catch(() => undefined); // apiReady reports it
        return { ready };
      };
      if (options.ownServiceDirs) {
        // Side by side: the bundling instance in its own folder, the others as soon as its bundles are there.
        const launched = await allStarted(apis.map(launchApi));
        apiReady = allStarted(launched.map((api) => api.ready)).then(() => undefined);
        bundles = ownBundles;
      } else {
        // One after another: in the project's folder each rewrites the bundles of the one before.
        for (const [index, api] of apis.entries()) await (await launchApi(api, index)).ready;
      }
      apiReady.catch(() => undefined); // a caller that does not wait for the API learns of a failure from apiReady itself
      if (!options.apiInBackground) await apiReady;
    }

    return {
      databaseUrl,
      upstreamUrl,
      simulatorUrl,
      apiUrl,
      lambdaUrl,
      variants,
      apiReady,
      bundles,
      jwtSecret,
      devToken: (sub = DEV_USER) => signDevToken(jwtSecret, sub),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Waits for every start, so none is still starting (and registering what stop() must end) when the first failure is thrown. */
async function allStarted<T>(starts: Array<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
}

async function prepareDatabase(
  purpose: StackOptions['purpose'],
  externalUrl: string | undefined,
  stops: Array<() => Promise<void>>,
  log: (m: string) => void,
): Promise<string> {
  let serverUrl = externalUrl;
  if (!serverUrl) {
    const embedded: DatabaseHandle = await startEmbeddedPostgres({
      name: purpose === 'dev' ? 'dev-postgres' : `test-postgres-${process.pid}`,
      persistent: purpose === 'dev',
      preferredPort: purpose === 'dev' ? 54329 : undefined,
    });
    stops.push(() => embedded.stop());
    serverUrl = embedded.url;
    log(`embedded Postgres: ${serverUrl}`);
  }
  if (purpose === 'dev') return serverUrl;
  const name = `pos_test_${process.pid}_${Date.now()}`;
  const testUrl = await createDatabase(serverUrl, name);
  stops.push(() => dropDatabase(serverUrl!, name));
  return testUrl;
}

/** The local gateway's bounds (dev/infra/gateway.ts), from LOCAL_CONCURRENCY and LOCAL_QUEUE_MS when set. */
function gatewaySettings(env: NodeJS.ProcessEnv) {
  const number = (name: string, fallback: number) => {
    const value = env[name];
    if (value === undefined || value === '') return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${name} must be a positive integer, got "${value}"`);
    return parsed;
  };
  return {
    concurrency: number('LOCAL_CONCURRENCY', LOCAL_GATEWAY_DEFAULTS.concurrency),
    queueMs: number('LOCAL_QUEUE_MS', LOCAL_GATEWAY_DEFAULTS.queueMs),
    integrationTimeoutMs: LOCAL_GATEWAY_DEFAULTS.integrationTimeoutMs,
  };
}

/** Service settings from the caller's environment that the handlers should also see. */
function passThrough(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined &&
        /^(UPSTREAM_|REQUEST_DEADLINE_MS|PAYMENT_|BREAKER_|CATALOGUE_|IDEMPOTENCY_|OPERATOR_|AUTH_TRUST_API_GATEWAY|AUTH_MODE|AUTH_UPSTREAM_|TOKEN_ENCRYPTION_KEYS|LOG_LEVEL|DATABASE_POOL_MAX|DATABASE_IDLE_TIMEOUT_SECONDS)/.test(
          entry[0],
        ),
    ),
  );
}
