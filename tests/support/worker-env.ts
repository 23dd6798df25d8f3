/**
 * Runs in every test worker before its test file. Services built in-process
 * (integration tests, the crash runner's children) would print their metrics
 * as EMF JSON lines into the test output: off here. The handlers under
 * serverless-offline are started by global setup, not by a worker, so theirs
 * stay on (tests/e2e/metrics.test.ts reads them); tests of the metrics
 * themselves switch them on again (tests/support/metrics-on.ts).
 */
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
