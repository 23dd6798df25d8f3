import { rootLogger } from '../lib/logger';
import { services } from '../lib/services';

/** Scheduled (every minute): drives unsettled orders to rest. See lib/orders/reconciler.ts. */
export const handler = async () => services().reconciler.run(rootLogger.child({ function: 'reconciler' }));
