import type { CallContext } from '../call';
import { systemClock, type Clock } from '../clock';
import type { TokenVault } from '../credentials';
import { Deadline } from '../deadline';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { Order } from './order';
import type { OrderRepository } from './repository';
import type { Settlement } from './settlement';

/** What the worker that completes an order needs to know: which order, and the request that paid it (for its logs and metrics). */
export interface CompletionRequest {
  orderId: string;
  /** The paying request's id: the completion's logs and metrics carry it as their correlation id. */
  requestId: string;
}

/**
 * Hands a paid order's completion to a worker that runs whatever becomes of
 * this process (on Lambda: an asynchronous invocation of the completeOrder
 * function, lib/completion/lambda.ts). Resolves once the hand-off is durable
 * (the platform has queued it); rejects when it could not be made. Never
 * carries the owner's token: the worker opens the one sealed beside the order.
 */
export interface CompletionHandOff {
  handOff(request: CompletionRequest): Promise<void>;
  /** Gets ready for a hand-off soon (loads its client) without waiting: a failure shows on the hand-off itself. */
  prepare?(): void;
}

export interface CompletionPorts {
  orders: OrderRepository;
  settlement: Settlement;
  vault: TokenVault;
  /** Unset: completion runs in this process after the reply, as before there was a worker (tests, tools, the simulation). */
  handOff?: CompletionHandOff;
  clock?: Clock;
}

export interface CompletionOptions {
  /** Budget for the worker's upstream calls on one order. */
  deadlineMs: number;
}

/** How the checkout's request left a paid order's completion. */
export type CompletionStart = 'not_paid' | 'handed_off' | 'in_process';

/** What the worker did with an order it was handed. */
export type CompletionOutcome =
  /** PATCH completed upstream, completed here and the basket closed. */
  | 'completed'
  /** Not paid any more (completed already, or failed or refunded by someone else): nothing to do. */
  | 'not_paid'
  /** Someone holds the order's lease (the reconciler, another delivery of the same hand-off): they finish it. */
  | 'in_progress'
  /** No such order (never expected: the hand-off names an order it just read). */
  | 'not_found'
  /** No usable sealed owner token: retrying cannot help; the order waits for its owner or a person, as in the reconciler. */
  | 'without_credentials';

/**
 * Completing a paid order after the checkout's reply, off the request's
 * process. The checkout's request hands the order over (`afterPayment`, one
 * awaited call before the reply); the worker (`complete`) acts upstream as
 * the order's owner. The reconciler stays the net for whatever neither does.
 */
export class Completion {
  constructor(
    private readonly ports: CompletionPorts,
    private readonly options: CompletionOptions,
  ) {}

  /** At the start of a checkout: the hand-off gets ready while the checkout waits for the upstream. */
  prepare(): void {
    this.ports.handOff?.prepare?.();
  }

  /**
   * On the checkout's path, once the order is paid: hands its completion to
   * the worker. When there is none, or the hand-off fails (logged), completes
   * it in this process after the reply as before (`runAfterReply` starts that
   * work); a frozen container then leaves it to the reconciler.
   */
  async afterPayment(
    order: Order,
    call: CallContext,
    request: { requestId: string; runAfterReply: (work: () => void) => void },
  ): Promise<CompletionStart> {
    if (order.state !== 'paid') return 'not_paid';
    const { handOff } = this.ports;
    if (handOff) {
      try {
        await handOff.handOff({ orderId: order.id, requestId: request.requestId });
        return 'handed_off';
      } catch (error) {
        call.log.warn('completion hand-off failed; completing in this process after the reply (the reconciler is the net)', {
          orderId: order.id,
          error,
        });
      }
    }
    request.runAfterReply(() => this.ports.settlement.completeAfterReply(order, call));
    return 'in_process';
  }

  /**
   * The worker: claims the order and, if it is paid, completes it as its
   * owner (Settlement.claimAndComplete: the lease first, so the reconciler
   * does not do the same at once). Anything but an upstream failure is an
   * answer; an upstream failure throws, so the platform retries and then
   * keeps the hand-off for a person, and the order stays paid for the reconciler.
   */
  async complete(orderId: string, log: Logger): Promise<CompletionOutcome> {
    let wasPaid = false;
    let after: Order;
    try {
      after = await this.ports.settlement.claimAndComplete({ id: orderId }, (claimed) => {
        wasPaid = true;
        return this.callOptionsFor(claimed, log);
      });
    } catch (error) {
      if (error instanceof AppError && error.code === 'REQUEST_IN_PROGRESS') return 'in_progress';
      if (error instanceof AppError && error.code === 'ORDER_NOT_FOUND') {
        log.warn('completion: no such order', { orderId });
        return 'not_found';
      }
      throw error;
    }
    if (!wasPaid) return 'not_paid';
    if (after.state === 'completed') return 'completed';
    log.error(
      'completion: no usable stored token of the owner to act upstream with (none, or it cannot be opened with the configured keys); the order waits for its owner or a person',
      { orderId, state: after.state },
    );
    return 'without_credentials';
  }

  /** Acts as the order's owner: their own token, stored sealed beside the paid order (as the reconciler does). */
  private callOptionsFor(order: Order, log: Logger): CallContext | undefined {
    const token = order.ownerTokenSealed ? this.ports.vault.tryOpen(order.ownerTokenSealed, order.id) : undefined;
    if (token === undefined) return undefined;
    return {
      token,
      deadline: Deadline.fromNow(this.options.deadlineMs, { clock: this.ports.clock ?? systemClock }),
      log: log.child({ orderId: order.id }),
    };
  }
}
