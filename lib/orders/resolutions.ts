import { isOperator, type Caller } from '../auth';
import type { TokenVault } from '../credentials';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { CallOptions } from '../upstream/client';
import type { Checkout } from './checkout';
import { orderNotFound, stateConflict } from './errors';
import type { Order } from './order';
import type { OrderPage, OrderRepository, Resolution } from './repository';

export interface ResolutionRequest {
  outcome: Resolution['outcome'];
  /** The upstream payment the operator found, if any (charged only): it makes the order refundable. */
  paymentId?: string;
  reason: string;
}

/** Operator routes answer 404 to anyone without the role, as for anything that is not theirs. */
function requireOperator(caller: Caller): void {
  if (!isOperator(caller)) throw new AppError('ROUTE_NOT_FOUND', 'Not found');
}

const sameDecision = (recorded: Resolution, request: ResolutionRequest) =>
  recorded.outcome === request.outcome && recorded.paymentId === (request.paymentId ?? null);

/**
 * Orders that need a person, and their resolution: an operator who found out
 * outside the system whether an `unknown` payment charged the customer says
 * so. Charged: the order is paid (with the payment id when known, which makes
 * it refundable), completed upstream and its basket closed. Not charged: it is
 * failed upstream and here and the basket reopens, so the cashier can check
 * out again. A resolution never sends a payment; it is recorded (who, when,
 * what, why), once: repeating it answers the same, another decision is refused.
 */
export class Resolutions {
  constructor(
    private readonly orders: OrderRepository,
    private readonly checkout: Checkout,
    private readonly vault: TokenVault,
    private readonly options: { stuckAfterMs: number },
  ) {}

  list(operator: Caller, page: { limit: number; after?: string }): Promise<OrderPage> {
    requireOperator(operator);
    return this.orders.listNeedingAttention({ ...page, stuckAfterMs: this.options.stuckAfterMs });
  }

  async resolve(operator: Caller, orderId: string, request: ResolutionRequest, call: Pick<CallOptions, 'deadline' | 'log' | 'signal'>): Promise<{ order: Order; resolution: Resolution }> {
    requireOperator(operator);
    let order = await this.orders.findById(orderId);
    if (!order) throw orderNotFound();
    let resolution = await this.orders.findResolution(orderId);
    if (!resolution) {
      if (order.state !== 'unknown') throw stateConflict(order, `Only an order whose payment outcome is unknown can be resolved; this one is ${order.state}`);
      order = (await this.orders.resolve({ orderId, outcome: request.outcome, paymentId: request.paymentId ?? null, reason: request.reason, resolvedBy: operator.userId })) ?? order;
      resolution = await this.orders.findResolution(orderId);
      if (!resolution) throw stateConflict(order, 'The order changed while it was being resolved; read it again');
      call.log.info('order resolved by an operator', { orderId, outcome: resolution.outcome, resolvedBy: resolution.resolvedBy });
    }
    if (!sameDecision(resolution, request)) {
      throw stateConflict(order, `The order was already resolved as ${resolution.outcome} by ${resolution.resolvedBy} at ${resolution.resolvedAt.toISOString()}`);
    }
    return { order: await this.finishUpstream(order, call), resolution };
  }

  /**
   * Completes or fails the order upstream as its owner (their stored token; the
   * operator's own would be refused for another user's order). What cannot be
   * done now is left to the reconciler: the order is already paid or failing.
   */
  private async finishUpstream(order: Order, call: Pick<CallOptions, 'deadline' | 'log' | 'signal'>): Promise<Order> {
    const current = (await this.orders.findById(order.id)) ?? order;
    if (!current.ownerTokenSealed) return current;
    const asOwner: CallOptions = { ...call, token: this.vault.open(current.ownerTokenSealed, current.id) };
    try {
      if (current.state === 'paid') return await this.checkout.claimAndComplete(current, asOwner);
      if (current.state === 'failing') return await this.checkout.finishFailing(current, asOwner);
    } catch (error) {
      logDeferred(call.log, current, error);
    }
    return (await this.orders.findById(order.id)) ?? current;
  }
}

function logDeferred(log: Logger, order: Order, error: unknown): void {
  log.warn('finishing a resolved order upstream deferred to the reconciler', { orderId: order.id, state: order.state, error });
}
