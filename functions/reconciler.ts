import { rootLogger } from '../lib/logger';
import { reconciler } from '../lib/services';

/** Scheduled (every minute): drives unsettled orders to rest. See lib/orders/reconciler.ts. */
export const handler = async () => {
  const log = rootLogger.child({ function: 'reconciler' });
  const worker = reconciler();
  if (!worker) {
    log.error('reconciler needs AUTH_JWT_SECRET (the upstream token secret) to act for order owners; nothing done');
    return { skipped: true };
  }
  return worker.run(log);
};
