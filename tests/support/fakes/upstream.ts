/**
 * The POS API's orders and payments as Checkout's ports see them, with a
 * ledger of what was charged, calls counted per method, and faults scripted
 * per method, before or after the call's effect.
 */
import { CallFailedError, type CallContext, type CallFailure } from '../../../lib/call';
import type {
  CreateOrderAnswer,
  PaymentAnswer as PortPaymentAnswer,
  PaymentGateway,
  RefundAnswer,
  UpstreamOrder,
  UpstreamOrderGateway,
  UpstreamPayment,
} from '../../../lib/orders/ports';

/** The upstream calls Checkout makes, named after the port methods. */
export type UpstreamCall = 'createOrder' | 'findOrdersByCorrelation' | 'setOrderStatus' | 'createPayment' | 'getPayment' | 'refundPayment';

/** Calls whose failures are answers (proved no effect, or ambiguous); the others throw CallFailedError. */
const MONEY_CALLS: ReadonlySet<UpstreamCall> = new Set(['createOrder', 'createPayment', 'refundPayment']);

/** Failures as the ports report them, for scripting faults. */
export const TIMEOUT: CallFailure = { effect: 'unknown', reason: 'timeout', detail: 'timeout' };
export const UNAVAILABLE: CallFailure = { effect: 'none', reason: 'unavailable', detail: 'status 503' };

/**
 * How the upstream answers a POST /payments/: completed or declined (402) at
 * once; 'pending' until the test settles it (settlePayment); or pending until
 * the `onRead`-th GET /payments/{id}, which sees it settled.
 */
export type PaymentAnswer = 'completed' | 'declined' | 'pending' | { settlesAs: 'completed' | 'failed'; onRead: number };

interface Fault {
  failure: CallFailure;
  afterEffect: boolean;
}

/** An order as the upstream holds it: with the correlation value it was created with. */
export interface FakeOrder extends UpstreamOrder {
  correlation: string;
}

interface FakePayment extends UpstreamPayment {
  upstreamOrderId: string;
  reads: number;
  settles?: { as: 'completed' | 'failed'; onRead: number };
}

/** A charge the upstream took: a payment that completed (refunds keep their entry, marked). */
export interface Charge {
  paymentId: string;
  upstreamOrderId: string;
  amountMinor: number;
  refunded: boolean;
}

/**
 * The upstream's orders and payments. An order keeps the correlation value
 * it was created with; ids are assigned here (up-order-1,
 * up-pay-1, …). A payment must be for a known order and equal its total, as
 * the simulator requires (else the request is refused: 404, 422).
 */
export class FakeUpstream implements UpstreamOrderGateway, PaymentGateway {
  /** Every order the upstream holds; a test may change one's status to act as the upstream itself. */
  readonly orders: FakeOrder[] = [];
  private readonly payments: FakePayment[] = [];
  private readonly faults: Record<UpstreamCall, Fault[]> = emptyCalls(() => []);
  private readonly counts: Record<UpstreamCall, number> = emptyCalls(() => 0);
  private readonly lastOptions: Partial<Record<UpstreamCall, CallContext>> = {};
  private readonly paymentAnswers: PaymentAnswer[] = [];
  private readonly recordedTotals: number[] = [];
  private readonly recordedAmounts: number[] = [];
  private staleLookups = 0;
  private sequence = 0;

  /** The next call of this kind fails with `failure`, before its effect (default) or after it. */
  failNext(call: UpstreamCall, failure: CallFailure, options: { afterEffect?: boolean } = {}): this {
    this.faults[call].push({ failure, afterEffect: options.afterEffect ?? false });
    return this;
  }

  /** How the next POST /payments/ are answered, in order; afterwards 'completed'. */
  answerNextPayments(...answers: PaymentAnswer[]): this {
    this.paymentAnswers.push(...answers);
    return this;
  }

  /** The next payment is recorded (and answered) for this amount (minor units) instead of the one sent. */
  recordNextPaymentAmount(amountMinor: number): this {
    this.recordedAmounts.push(amountMinor);
    return this;
  }

  /** The next created order records this total (minor units) instead of the one sent. */
  recordNextOrderTotal(totalMinor: number): this {
    this.recordedTotals.push(totalMinor);
    return this;
  }

  /** The next `count` GET /orders/ answer a stale list without any order. */
  staleNextLookups(count: number): this {
    this.staleLookups += count;
    return this;
  }

  /** Settles a pending payment, as the upstream does in its own time. */
  settlePayment(paymentId: string, status: 'completed' | 'failed'): void {
    const payment = this.payments.find((p) => p.id === paymentId && p.status === 'pending');
    if (!payment) throw new Error(`no pending payment ${paymentId}`);
    payment.status = status;
  }

  /** How many times a port method was called (each call is one attempt; the fake does not retry). */
  callsTo(call: UpstreamCall): number {
    return this.counts[call];
  }

  /** The options of the last call of this kind. */
  optionsOf(call: UpstreamCall): CallContext | undefined {
    return this.lastOptions[call];
  }

  /** The money taken: every payment that completed, in minor units. */
  get charges(): Charge[] {
    return this.payments
      .filter((p) => p.status === 'completed' || p.status === 'refunded')
      .map((p) => ({ paymentId: p.id, upstreamOrderId: p.upstreamOrderId, amountMinor: p.amountMinor, refunded: p.status === 'refunded' }));
  }

  /** Every payment the upstream recorded, whatever became of it. */
  get allPayments(): readonly UpstreamPayment[] {
    return this.payments.map(publicPayment);
  }

  createOrder(order: { orderId: string; correlation: string; totalMinor: number }, call: CallContext): Promise<CreateOrderAnswer> {
    return this.call('createOrder', call, (): CreateOrderAnswer => {
      const created: FakeOrder = {
        id: this.nextId('up-order'),
        correlation: order.correlation,
        totalMinor: this.recordedTotals.shift() ?? order.totalMinor,
        status: 'pending',
      };
      this.orders.push(created);
      return { kind: 'created', order: publicOrder(created) };
    });
  }

  findOrdersByCorrelation(correlation: string, call: CallContext): Promise<UpstreamOrder[]> {
    return this.call('findOrdersByCorrelation', call, () => {
      if (this.staleLookups > 0) {
        this.staleLookups -= 1;
        return [];
      }
      return this.orders.filter((o) => o.correlation === correlation).map(publicOrder);
    });
  }

  setOrderStatus(upstreamOrderId: string, status: 'completed' | 'failed', call: CallContext): Promise<UpstreamOrder | undefined> {
    return this.call('setOrderStatus', call, () => {
      const order = this.orders.find((o) => o.id === upstreamOrderId);
      if (!order) return undefined;
      order.status = status;
      return publicOrder(order);
    });
  }

  createPayment(payment: { upstreamOrderId: string; amountMinor: number }, call: CallContext): Promise<PortPaymentAnswer> {
    return this.call('createPayment', call, (): PortPaymentAnswer => {
      const order = this.orders.find((o) => o.id === payment.upstreamOrderId);
      if (!order) return refusedAs(404);
      if (payment.amountMinor !== order.totalMinor) return refusedAs(422);
      const answer = this.paymentAnswers.shift() ?? 'completed';
      const recorded: FakePayment = {
        id: this.nextId('up-pay'),
        upstreamOrderId: order.id,
        amountMinor: this.recordedAmounts.shift() ?? payment.amountMinor,
        status: 'completed',
        reads: 0,
      };
      if (answer === 'declined') recorded.status = 'failed';
      if (answer === 'pending') recorded.status = 'pending';
      if (typeof answer === 'object') {
        recorded.status = 'pending';
        recorded.settles = { as: answer.settlesAs, onRead: answer.onRead };
      }
      this.payments.push(recorded);
      return answer === 'declined' ? { kind: 'declined' } : { kind: 'accepted', payment: publicPayment(recorded) };
    });
  }

  getPayment(paymentId: string, call: CallContext): Promise<UpstreamPayment | undefined> {
    return this.call('getPayment', call, () => {
      const payment = this.payments.find((p) => p.id === paymentId);
      if (!payment) return undefined;
      payment.reads += 1;
      if (payment.status === 'pending' && payment.settles && payment.reads >= payment.settles.onRead) payment.status = payment.settles.as;
      return publicPayment(payment);
    });
  }

  refundPayment(paymentId: string, call: CallContext): Promise<RefundAnswer> {
    return this.call('refundPayment', call, (): RefundAnswer => {
      const payment = this.payments.find((p) => p.id === paymentId);
      if (!payment) return { kind: 'not_found' };
      if (payment.status !== 'completed') return refusedAs(409);
      payment.status = 'refunded';
      return { kind: 'answered', payment: publicPayment(payment) };
    });
  }

  /**
   * One attempt: counted, then a scripted fault before the effect, the
   * effect, or a scripted fault after it. A money call's fault is its answer
   * (no_effect or ambiguous, by the failure's effect); any other call throws it.
   */
  private async call<T>(call: UpstreamCall, context: CallContext, effect: () => T): Promise<T> {
    this.counts[call] += 1;
    this.lastOptions[call] = context;
    const fault = this.faults[call].shift();
    const failed = (): T => {
      if (!MONEY_CALLS.has(call)) throw new CallFailedError(fault!.failure);
      return { kind: fault!.failure.effect === 'none' ? 'no_effect' : 'ambiguous', failure: fault!.failure } as T;
    };
    if (fault && !fault.afterEffect) return failed();
    const result = effect();
    return fault ? failed() : result;
  }

  private nextId(prefix: string): string {
    this.sequence += 1;
    return `${prefix}-${this.sequence}`;
  }
}

function emptyCalls<T>(value: () => T): Record<UpstreamCall, T> {
  return {
    createOrder: value(),
    findOrdersByCorrelation: value(),
    setOrderStatus: value(),
    createPayment: value(),
    getPayment: value(),
    refundPayment: value(),
  };
}

const publicOrder = (order: FakeOrder): UpstreamOrder => ({ id: order.id, totalMinor: order.totalMinor, status: order.status });

const publicPayment = (payment: FakePayment): UpstreamPayment => ({
  id: payment.id,
  amountMinor: payment.amountMinor,
  status: payment.status,
  upstreamOrderId: payment.upstreamOrderId,
});

/** A refusal the contract does not document as "no effect": ambiguous, as the adapter reports it. */
const refusedAs = (status: number) => ({
  kind: 'ambiguous' as const,
  failure: { effect: 'unknown' as const, reason: 'error' as const, detail: `status ${status}` },
});
