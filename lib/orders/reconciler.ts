import { mintUpstreamToken } from '../auth';
import { Deadline } from '../deadline';
import type { IdempotencyStore } from '../idempotency/store';
import type { Logger } from '../logger';
import type { CallOptions } from '../upstream/client';
import type { PosApi } from '../upstream/pos-api';
import type { Checkout } from './checkout';
import type { Order } from './order';
import type { Refunds } from './refund';
import type { OrderRepository, ReconcileClaim } from './repository';

export interface ReconcilerOptions extends Omit<ReconcileClaim, 'limit'> {
  batchSize: number;
  /** Secret to mint short-lived upstream tokens for order owners (the upstream's shared HS256 secret). */
  tokenSecret: string;
  /** Budget for one order's upstream calls. */
  perOrderDeadlineMs: number;
  /** How long one run may keep settling orders (below the function's timeout); the rest wait for the next run. */
  runBudgetMs: number;
}

export interface ReconcileReport {
  examined: number;
  completed: number;
  failed: number;
  refunded: number;
  unknown: number;
  stillPending: number;
  errors: number;
  purgedKeys: number;
  /** Orders whose payment outcome is unknown: they need a person to check with the payment provider. */
  needFollowUp: Record<string, number>;
}

/**
 * The scheduled worker that drives orders to rest: completes paid orders
 * upstream, finishes refunds, fails orders abandoned before payment (and
 * declined orders nobody paid again), and turns payments abandoned mid-flight
 * into `unknown`. Rows are leased with SKIP LOCKED, so runs may overlap with
 * each other and with requests; every step is a guarded transition.
 */
export class Reconciler {
  constructor(
    private readonly orders: OrderRepository,
    private readonly api: PosApi,
    private readonly checkout: Checkout,
    private readonly refunds: Refunds,
    private readonly idempotency: IdempotencyStore,
    private readonly options: ReconcilerOptions,
  ) {}

  async run(log: Logger): Promise<ReconcileReport> {
    const report: ReconcileReport = { examined: 0, completed: 0, failed: 0, refunded: 0, unknown: 0, stillPending: 0, errors: 0, purgedKeys: 0, needFollowUp: {} };
    const stopStartingAt = Date.now() + this.options.runBudgetMs - this.options.perOrderDeadlineMs;
    const claimed = await this.orders.claimForReconcile({ ...this.options, limit: this.options.batchSize });
    for (const order of claimed) {
      if (Date.now() > stopStartingAt) {
        await this.orders.releaseLease(order.id);
        continue;
      }
      report.examined++;
      try {
        const after = await this.settle(order, log);
        if (after?.state === 'completed') report.completed++;
        else if (after?.state === 'failed') report.failed++;
        else if (after?.state === 'refunded') report.refunded++;
        else if (after?.state === 'unknown') report.unknown++;
        else report.stillPending++;
      } catch (error) {
        report.errors++;
        log.warn('reconciler could not settle an order; will retry', { orderId: order.id, state: order.state, error });
        await this.orders.releaseLease(order.id);
      }
    }
    report.purgedKeys = await this.idempotency.purgeExpired(500);
    const counts = await this.orders.countByState();
    report.needFollowUp = counts.unknown ? { unknown: counts.unknown } : {};
    if (counts.unknown) log.warn('orders with an unknown payment outcome need follow-up', { unknown: counts.unknown });
    log.info('reconciler run finished', { ...report });
    return report;
  }

  private async settle(order: Order, log: Logger): Promise<Order | undefined> {
    const call = await this.callOptionsFor(order, log);
    switch (order.state) {
      case 'paid':
        return this.checkout.complete(order, call);
      case 'refunding':
        return this.refunds.finishRefund(order, call);
      case 'pending':
      case 'placed':
      case 'declined':
        await this.api.setOrderStatus(order.id, 'failed', call);
        return this.orders.failAndReopenBasket(order.id, [order.state], `ABANDONED: never paid (was ${order.state})`);
      case 'paying':
        log.error('payment abandoned mid-flight; outcome unknown', { orderId: order.id });
        return this.orders.markPaymentUnknown(order.id, 'PAYMENT_STATUS_UNKNOWN: the request paying it died');
      default:
        return order;
    }
  }

  private async callOptionsFor(order: Order, log: Logger): Promise<CallOptions> {
    return {
      token: await mintUpstreamToken(this.options.tokenSecret, order.ownerId),
      deadline: Deadline.fromNow(this.options.perOrderDeadlineMs),
      log: log.child({ orderId: order.id }),
    };
  }
}
