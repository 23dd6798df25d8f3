/**
 * Imported first by a test file that invokes handlers in-process: Lambda sets this for an on-demand
 * container, and Powertools reports a cold start (the cold_start log key, the ColdStart metric) only then.
 */
process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
