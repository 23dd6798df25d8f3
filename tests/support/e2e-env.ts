/**
 * Handler settings for the end-to-end stack: short timeouts and backoffs so
 * fault tests run fast, and a breaker that only the breaker's own tests trip.
 */
export const E2E_HANDLER_ENV: Record<string, string> = {
  UPSTREAM_CALL_TIMEOUT_MS: '1500',
  REQUEST_DEADLINE_MS: '6000',
  // A payment gets the same cap as any call here, and is only sent with 2 s of the 6 s left.
  PAYMENT_TIMEOUT_MS: '1500',
  PAYMENT_MIN_WINDOW_MS: '2000',
  // Attempt timeouts stay at the 1.5 s cap: tests script hangs and assert on the calls they cause.
  UPSTREAM_ADAPTIVE_TIMEOUT_FLOOR_MS: '1500',
  UPSTREAM_BACKOFF_BASE_MS: '20',
  UPSTREAM_BACKOFF_CAP_MS: '200',
  UPSTREAM_MAX_ATTEMPTS: '4',
  BREAKER_FAILURE_THRESHOLD: '1000',
  CATALOGUE_TTL_SECONDS: '0',
  CATALOGUE_MAX_STALE_SECONDS: '0',
  LOG_LEVEL: 'info',
  // Tests run the reconciler explicitly; a scheduled run at a minute boundary would race their assertions.
  RECONCILER_SCHEDULE_ENABLED: 'false',
};

/** Some of the environment variables the e2e global setup hands to each worker (tests/support/tier-env.ts sets them). */
export const TEST_ENV_KEYS = ['DATABASE_URL', 'TEST_API_URL', 'TEST_SIMULATOR_URL', 'AUTH_JWT_SECRET'] as const;
