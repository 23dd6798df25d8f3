/** Imported first by a test file whose modules must publish metrics (see worker-env.ts). */
process.env.POWERTOOLS_METRICS_DISABLED = 'false';
