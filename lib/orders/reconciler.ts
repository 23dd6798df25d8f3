import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../clock';
import { TokenVault } from '../credentials';
import { Deadline } from '../deadline';
import type { IdempotencyStore } from '../idempotency/store';
import type { Logger } from '../logger';
import type { OrderGauges } from '../metrics';
import type { CallContext } from '../call';
import type { Settlement } from './settlement';
import { upstreamIdOf, type Order } from './order';
import type { UpstreamOrderGateway } from './ports';
import type { Refunds } from './refund';
import type { OrderRepository } from './repository';
import { settleDueAt, type ReconcileThresholds } from './state-machine';

export interface ReconcilerOptions extends ReconcileThresholds {
  batchSize: number;
  /** How long a run holds each order it claimed (released as soon as it is done with it). */
  leaseMs: number;
  /** An unsettled order overdue by more than this counts as stuck in the gauges. */
  stuckAfterMs: number;
  /** Budget for one order's upstream calls. */
  perOrderDeadlineMs: number;
  /** How long one run may keep settling orders (below the function's timeout); the rest wait for the next run. */
  runBudgetMs: number;
  clock?: Clock;
}

export interface ReconcileReport {
  examined: number;
  completed: number;
  failed: number;
  refunded: number;
  unknown: number;
  stillPending: number;
  /** Upstream orders a lost create left behind, found and failed. */
  duplicatesFailed: number;
  /** Orders with work upstream but no stored token of their owner to act with. */
  withoutCredentials: number;
  errors: number;
  purgedKeys: number;
  /** Owner tokens sealed under an older key and sealed again under the newest (key rotation). */
  resealed: number;
  /** Stored owner tokens per sealing key after the run: a key that seals none may be dropped from TOKEN_ENCRYPTION_KEYS. */
  sealedTokensByKey?: Record<string, number>;
  /** Measured after the run (undefined when that failed): unknown orders need a person to check with the payment provider. */
  gauges?: OrderGauges;
}

/**
 * The scheduled worker that drives orders to rest: completes paid orders
 * upstream, finishes refunds and failings, fails orders abandoned before
 * payment (and declined orders nobody paid again), follows up pending
 * payments, turns payments abandoned mid-flight without an id into
 * `unknown`, and fails duplicate upstream orders a lost create left. It acts
 * upstream as each order's owner, with the token stored (sealed) beside the
 * order. Rows are leased with SKIP LOCKED, so runs may overlap with each
 * other and with requests; every step is a guarded transition, and a step
 * that ends an order upstream is claimed first.
 */
/** Owner tokens re-sealed per reconciler run (rotation goes at this pace, a minute at a time). */
const RESEAL_BATCH = 200;

export class Reconciler {
  constructor(
    private readonly orders: OrderRepository,
    private readonly upstreamOrders: UpstreamOrderGateway,
    private readonly settlement: Settlement,
    private readonly refunds: Refunds,
    private readonly idempotency: IdempotencyStore,
    private readonly vault: TokenVault,
    private readonly options: ReconcilerOptions,
  ) {}

  private get clock(): Clock {
    return this.options.clock ?? systemClock;
  }

  async run(log: Logger): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      examined: 0,
      completed: 0,
      failed: 0,
      refunded: 0,
      unknown: 0,
      stillPending: 0,
      duplicatesFailed: 0,
      withoutCredentials: 0,
      errors: 0,
      purgedKeys: 0,
      resealed: 0,
    };
    const stopStartingAt = this.clock.now() + this.options.runBudgetMs - this.options.perOrderDeadlineMs;
    const holder = randomUUID();
    const { abandonedAfterMs, declinedExpiryMs } = this.options;
    const claimed = await this.orders.claimForReconcile({
      abandonedAfterMs,
      declinedExpiryMs,
      lease: { holder, ms: this.options.leaseMs },
      limit: this.options.batchSize,
    });
    for (const order of claimed) {
      if (this.clock.now() > stopStartingAt) {
        await this.orders.releaseLease(order.id, holder);
        continue;
      }
      report.examined++;
      try {
        const call = this.callOptionsFor(order, log);
        if (!call) {
          report.withoutCredentials++;
          log.error(
            'no usable stored token of the owner to act upstream with (none, or it cannot be opened with the configured keys); the order waits for its owner or a person',
            { orderId: order.id, state: order.state },
          );
          continue;
        }
        report.duplicatesFailed += await this.failDuplicates(order, call);
        // Claimed for its duplicate check alone, an order is not settled before its own time has come.
        const dueAt = settleDueAt(order.state, order.updatedAt, this.options);
        const after = dueAt !== undefined && dueAt <= this.clock.now() ? await this.settle(order, call) : order;
        if (after.state === 'completed') report.completed++;
        else if (after.state === 'failed') report.failed++;
        else if (after.state === 'refunded') report.refunded++;
        else if (after.state === 'unknown') report.unknown++;
        else report.stillPending++;
      } catch (error) {
        report.errors++;
        log.warn('reconciler could not settle an order; will retry', { orderId: order.id, state: order.state, error });
      } finally {
        await this.orders.releaseLease(order.id, holder);
      }
    }
    report.purgedKeys = await this.idempotency.purgeExpired(500);
    report.resealed = await this.resealUnderNewestKey(log);
    report.sealedTokensByKey = await this.orders.sealedTokensByKey();
    report.gauges = await this.measure(log);
    if (report.gauges?.unknownOrders)
      log.warn('orders with an unknown payment outcome need follow-up', { unknown: report.gauges.unknownOrders });
    log.info('reconciler run finished', { ...report });
    return report;
  }

  /** The gauges the alarms watch, from one grouped query; undefined (and logged) when it fails, so the run still reports. */
  private async measure(log: Logger): Promise<OrderGauges | undefined> {
    try {
      const byState = await this.orders.healthByState(this.options);
      const unsettled = Object.entries(byState)
        .filter(([state]) => state !== 'unknown')
        .map(([, health]) => health!);
      const gauges = {
        unknownOrders: byState.unknown?.count ?? 0,
        oldestUnknownOrderSeconds: byState.unknown?.oldestIdleSeconds ?? 0,
        stuckOrders: unsettled.reduce((sum, health) => sum + health.stuck, 0),
        reconcilerLagSeconds: Math.max(0, ...unsettled.map((health) => health.overdueSeconds)),
      };
      log.info('order gauges', gauges);
      return gauges;
    } catch (error) {
      log.error('could not measure the order gauges', { error });
      return undefined;
    }
  }

  private settle(order: Order, call: CallContext): Promise<Order> {
    switch (order.state) {
      case 'paid':
        return this.settlement.complete(order, call);
      case 'refunding':
        return this.refunds.finishRefund(order, call);
      case 'failing':
        return this.settlement.finishFailing(order, call);
      case 'pending':
      case 'placed':
      case 'declined':
        return this.settlement.fail(order, `ABANDONED: never paid (was ${order.state})`, call, { unchangedSince: order.updatedAt });
      case 'paying':
        return this.settlement.settleAbandonedPayment(order, call);
      default:
        return Promise.resolve(order);
    }
  }

  /**
   * Once its check is due, fails every live upstream order that carries the
   * checkout's correlation value but is not the one the order adopted (all of
   * them, for a failed order). Returns how many it failed. An order still
   * pending (a request may be about to adopt one) or failing (failing it
   * fails them all) is left for later.
   */
  private async failDuplicates(order: Order, call: CallContext): Promise<number> {
    if (!order.duplicateCheckAt || order.duplicateCheckAt.getTime() > this.clock.now()) return 0;
    if (order.state === 'pending' || order.state === 'failing') return 0;
    const adopted = order.state === 'failed' ? undefined : upstreamIdOf(order);
    const live = (await this.upstreamOrders.findOrdersByCorrelation(order.id, call)).filter(
      (o) => o.status !== 'failed' && o.id !== adopted,
    );
    for (const duplicate of live) {
      call.log.warn('failing a duplicate upstream order', { orderId: order.id, duplicate: duplicate.id });
      await this.upstreamOrders.setOrderStatus(duplicate.id, 'failed', call);
    }
    await this.orders.clearDuplicateCheck(order.id);
    return live.length;
  }

  /**
   * Key rotation finishes: every stored owner token sealed under an older key
   * (unknown orders included, which nothing else touches) is sealed again under
   * the newest. One that cannot be opened stays as it is and counts as no
   * credentials where it is needed.
   */
  private async resealUnderNewestKey(log: Logger): Promise<number> {
    let resealed = 0;
    for (const { orderId, sealed } of await this.orders.tokensSealedUnder(this.vault.olderKeyIds, RESEAL_BATCH)) {
      const again = this.vault.resealed(sealed, orderId);
      if (!again) {
        log.error('a stored owner token cannot be opened with the configured keys; the order has no credentials for background work', {
          orderId,
          keyId: TokenVault.keyIdOf(sealed),
        });
        continue;
      }
      if (await this.orders.replaceSealedToken(orderId, sealed, again)) resealed++;
    }
    return resealed;
  }

  /** Acts as the order's owner: their own token, stored sealed while the order needed background work. */
  private callOptionsFor(order: Order, log: Logger): CallContext | undefined {
    const token = order.ownerTokenSealed ? this.vault.tryOpen(order.ownerTokenSealed, order.id) : undefined;
    if (token === undefined) return undefined;
    return {
      token,
      deadline: Deadline.fromNow(this.options.perOrderDeadlineMs, { clock: this.clock }),
      log: log.child({ orderId: order.id }),
    };
  }
}
