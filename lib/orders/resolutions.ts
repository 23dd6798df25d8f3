import { isOperator, type Caller } from '../auth';
import { systemClock, type Clock } from '../clock';
import type { TokenVault } from '../credentials';
import { toMainUnits } from '../domain/money';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import { CallFailedError, type CallContext } from '../call';
import type { Settlement } from './settlement';
import { orderNotFound, retryLater, stateConflict } from './errors';
import { upstreamIdOf, type Order } from './order';
import type { PaymentGateway, UpstreamPayment } from './ports';
import type { OrderPage, OrderRepository, ResolvableState, Resolution } from './repository';
import type { OrderState } from './state-machine';

export interface ResolutionRequest {
  outcome: Resolution['outcome'];
  /** The upstream payment the operator found (not with not_charged): checked with the upstream, it makes the order refundable. */
  paymentId?: string;
  reason: string;
}

export interface ResolutionOptions {
  /** An unsettled order unchanged for this long is stuck: a person may resolve it. */
  stuckAfterMs: number;
  /** No resolution is taken while a payment or refund sent less than this long ago may still land. */
  lateEffectMs: number;
  retryAfterSeconds: number;
  clock?: Clock;
}

/** Operator routes answer 404 to anyone without the role, as for anything that is not theirs. */
function requireOperator(caller: Caller): void {
  if (!isOperator(caller)) throw new AppError('ROUTE_NOT_FOUND', 'Not found');
}

/** Where each outcome a person may establish takes an order, by the state it is resolved from. */
const RESOLVES_TO: Record<ResolvableState, Partial<Record<Resolution['outcome'], OrderState>>> = {
  unknown: { charged: 'paid', not_charged: 'failing' },
  paying: { charged: 'paid', not_charged: 'failing' },
  paid: { charged: 'completed' },
  refunding: { refunded: 'refunded', charged: 'completed' },
};

const sameDecision = (recorded: Resolution, request: ResolutionRequest) =>
  recorded.outcome === request.outcome && (request.paymentId === undefined || recorded.paymentId === request.paymentId);

const invalid = (message: string) => new AppError('VALIDATION_FAILED', message, { details: [{ path: 'outcome', message }] });

/**
 * Orders that need a person, and their resolution. An order whose payment's
 * outcome is unknown, or that has not settled within the stuck bound
 * (paying, paid or refunding), is listed for operators; an operator who found
 * out what happened says so, and the service checks it against what it
 * recorded and what the upstream shows (GET /payments/{id}: status, amount,
 * order) before acting: a resolution never contradicts a recorded answer,
 * and none is taken while a payment or refund may still land. Charged: the
 * order is paid (then completed upstream) or completed; not charged: it is
 * failed and its basket reopens; refunded: the refund is recorded. A
 * resolution never sends a payment or a refund; it is recorded (who, when,
 * what, why) once per step: repeating it answers the same, another decision
 * is refused.
 */
export class Resolutions {
  private readonly clock: Clock;

  constructor(
    private readonly orders: OrderRepository,
    private readonly payments: PaymentGateway,
    private readonly settlement: Settlement,
    private readonly vault: TokenVault,
    private readonly options: ResolutionOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  list(operator: Caller, page: { limit: number; after?: string }): Promise<OrderPage> {
    requireOperator(operator);
    return this.orders.listNeedingAttention({ ...page, stuckAfterMs: this.options.stuckAfterMs });
  }

  async resolve(
    operator: Caller,
    orderId: string,
    request: ResolutionRequest,
    call: Pick<CallContext, 'deadline' | 'log' | 'signal'>,
  ): Promise<{ order: Order; resolution: Resolution }> {
    requireOperator(operator);
    const order = await this.orders.findById(orderId);
    if (!order) throw orderNotFound();
    const earlier = await this.orders.findResolutions(orderId);
    const same = earlier.find((resolution) => sameDecision(resolution, request));
    if (same) return { order: await this.finishUpstream(order, call), resolution: same };

    const from = this.resolvableFrom(order, earlier);
    const to = RESOLVES_TO[from][request.outcome];
    if (!to)
      throw invalid(
        `An order that is ${order.state} cannot be resolved as ${request.outcome}; one of ${Object.keys(RESOLVES_TO[from]).join(', ')}`,
      );
    const asOwner = this.asOwner(order, call);
    const paymentId = await this.checkEvidence(order, from, request, asOwner);

    const resolved = await this.orders.resolve(
      { orderId, resolvedFrom: from, outcome: request.outcome, paymentId, reason: request.reason, resolvedBy: operator.userId },
      to,
    );
    const [resolution] = await this.orders.findResolutions(orderId);
    if (!resolved || !resolution || !sameDecision(resolution, request)) {
      throw stateConflict(resolved ?? order, 'The order changed while it was being resolved; read it again');
    }
    call.log.info('order resolved by an operator', { orderId, from, outcome: resolution.outcome, resolvedBy: resolution.resolvedBy });
    return { order: await this.finishUpstream(resolved, call), resolution };
  }

  /** The step a person may resolve now: an unknown payment, or a step stuck past the bound. */
  private resolvableFrom(order: Order, earlier: Resolution[]): ResolvableState {
    const refuse = (why: string) => stateConflict(order, why);
    const done = earlier.find((resolution) => resolution.resolvedFrom === order.state);
    if (done) throw refuse(`The order was already resolved as ${done.outcome} by ${done.resolvedBy} at ${done.resolvedAt.toISOString()}`);
    if (order.state === 'unknown') return 'unknown';
    if (order.state !== 'paying' && order.state !== 'paid' && order.state !== 'refunding') {
      throw refuse(
        `Only an order whose payment outcome is unknown, or one stuck paying, paid or refunding, can be resolved; this one is ${order.state}`,
      );
    }
    const stuckFor = this.clock.now() - order.updatedAt.getTime();
    if (stuckFor < this.options.stuckAfterMs)
      throw refuse(
        `The order is ${order.state} and still being settled; it can be resolved once it is stuck (${Math.ceil((this.options.stuckAfterMs - stuckFor) / 60_000)} min)`,
      );
    return order.state;
  }

  /**
   * Checks the operator's word against what was recorded and what the
   * upstream shows; returns the payment id to record. Refuses a resolution
   * while a payment or refund sent within the late-effect window may still land.
   */
  private async checkEvidence(
    order: Order,
    from: ResolvableState,
    request: ResolutionRequest,
    asOwner: CallContext | undefined,
  ): Promise<string | null> {
    const conflict = (why: string) => stateConflict(order, why);
    if (from === 'refunding') {
      const open = await this.orders.openRefund(order.id);
      if (open) this.refuseWhileItMayLand(order, open.sentAt, 'refund');
      const shown = await this.read(order, order.paymentId, asOwner);
      const expected = request.outcome === 'refunded' ? 'refunded' : 'completed';
      if (shown && shown.status !== expected)
        throw conflict(`The POS system shows payment ${shown.id} as ${shown.status}, not ${expected}`);
      return null;
    }
    const latest = await this.orders.latestPayment(order.id);
    if (latest) this.refuseWhileItMayLand(order, latest.sentAt, 'payment');
    const attemptPayment = latest?.upstreamPaymentId ?? (from === 'paid' ? order.paymentId : null);
    if (request.outcome === 'not_charged') {
      if (latest?.outcome === 'completed') throw conflict('A payment of this order was recorded as completed; it was charged');
      const shown = await this.read(order, attemptPayment, asOwner);
      if (shown && shown.status !== 'failed') throw conflict(`The POS system shows payment ${shown.id} as ${shown.status}`);
      return null;
    }
    if (request.paymentId && attemptPayment && request.paymentId !== attemptPayment) {
      throw invalid(`The payment this order sent is ${attemptPayment}, not ${request.paymentId}`);
    }
    const paymentId = request.paymentId ?? attemptPayment;
    const shown = await this.read(order, paymentId, asOwner);
    if (paymentId && !shown) throw invalid(`The POS system does not know payment ${paymentId}`);
    if (shown) {
      if (shown.status !== 'completed') throw conflict(`The POS system shows payment ${shown.id} as ${shown.status}, not completed`);
      if (shown.amountMinor !== order.totalMinor)
        throw invalid(`Payment ${shown.id} is for ${toMainUnits(shown.amountMinor)}, not this order's total`);
      if (shown.upstreamOrderId !== undefined && order.upstreamOrderId && shown.upstreamOrderId !== upstreamIdOf(order))
        throw invalid(`Payment ${shown.id} belongs to another order`);
    }
    return paymentId ?? null;
  }

  private refuseWhileItMayLand(order: Order, sentAt: Date, what: string): void {
    const landBy = sentAt.getTime() + this.options.lateEffectMs;
    const waitMs = landBy - this.clock.now();
    if (waitMs > 0)
      throw retryLater(
        order,
        `The last ${what} was sent moments ago and may still land; resolve it once it cannot`,
        Math.ceil(waitMs / 1000),
      );
  }

  /** What the upstream shows of a payment (as the order's owner); undefined when there is none to read or it does not know it. */
  private async read(
    order: Order,
    paymentId: string | null | undefined,
    asOwner: CallContext | undefined,
  ): Promise<UpstreamPayment | undefined> {
    if (!paymentId) return undefined;
    if (!asOwner)
      throw stateConflict(order, 'The payment cannot be checked with the POS system: no credentials of the order owner are stored');
    try {
      return await this.payments.getPayment(paymentId, asOwner);
    } catch (error) {
      if (error instanceof CallFailedError)
        throw retryLater(
          order,
          'The POS system could not be asked about the payment; try again shortly',
          this.options.retryAfterSeconds,
          error.failure,
        );
      throw error;
    }
  }

  /** Acts upstream as the order's owner: the operator's own token would be refused for another user's order. */
  private asOwner(order: Order, call: Pick<CallContext, 'deadline' | 'log' | 'signal'>): CallContext | undefined {
    const token = order.ownerTokenSealed ? this.vault.tryOpen(order.ownerTokenSealed, order.id) : undefined;
    return token === undefined ? undefined : { ...call, token };
  }

  /**
   * Completes or fails the order upstream as its owner. What cannot be done
   * now is left to the reconciler: the order is already paid or failing.
   */
  private async finishUpstream(order: Order, call: Pick<CallContext, 'deadline' | 'log' | 'signal'>): Promise<Order> {
    const current = (await this.orders.findById(order.id)) ?? order;
    const asOwner = this.asOwner(current, call);
    if (!asOwner) return current;
    try {
      if (current.state === 'paid') return await this.settlement.claimAndComplete(current, asOwner);
      if (current.state === 'failing') return await this.settlement.finishFailing(current, asOwner);
    } catch (error) {
      logDeferred(call.log, current, error);
    }
    return (await this.orders.findById(order.id)) ?? current;
  }
}

function logDeferred(log: Logger, order: Order, error: unknown): void {
  log.warn('finishing a resolved order upstream deferred to the reconciler', { orderId: order.id, state: order.state, error });
}
