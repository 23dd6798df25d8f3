/**
 * The POS API's orders and payments as Checkout's ports see them, with a
 * ledger of what was charged, calls counted per method, and faults scripted
 * per method, before or after the call's effect.
 */
import { toMinorUnits } from '../../../lib/domain/money';
import type { PaymentGateway, UpstreamOrderGateway } from '../../../lib/orders/ports';
import type { CallOptions } from '../../../lib/upstream/client';
import { UpstreamCallError, type FailureOutcome } from '../../../lib/upstream/outcome';
import type { CreateOrderResult, CreatePaymentResult, RefundResult, UpstreamOrder, UpstreamPayment } from '../../../lib/upstream/pos-api';

/** The upstream calls Checkout makes, named after the port methods. */
export type UpstreamCall = 'createOrder' | 'findOrdersByCorrelation' | 'setOrderStatus' | 'createPayment' | 'getPayment' | 'refundPayment';

/** Each call's upstream route, as "METHOD path". */
const ROUTES: Record<UpstreamCall, string> = {
  createOrder: 'POST /orders/',
  findOrdersByCorrelation: 'GET /orders/',
  setOrderStatus: 'PATCH /orders/{id}',
  createPayment: 'POST /payments/',
  getPayment: 'GET /payments/{id}',
  refundPayment: 'DELETE /payments/{id}',
};

/**
 * How the upstream answers a POST /payments/: completed or declined (402) at
 * once; 'pending' until the test settles it (settlePayment); or pending until
 * the `onRead`-th GET /payments/{id}, which sees it settled.
 */
export type PaymentAnswer = 'completed' | 'declined' | 'pending' | { settlesAs: 'completed' | 'failed'; onRead: number };

interface Fault {
  outcome: FailureOutcome;
  afterEffect: boolean;
}

interface FakePayment extends UpstreamPayment {
  orderId: string;
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
 * The upstream's orders and payments. An order's basket_id is the
 * correlation value it was created with; ids are assigned here (up-order-1,
 * up-pay-1, …). A payment must be for a known order and equal its total, as
 * the simulator requires (else the request is refused: 404, 422).
 */
export class FakeUpstream implements UpstreamOrderGateway, PaymentGateway {
  /** Every order the upstream holds; a test may change one's status to act as the upstream itself. */
  readonly orders: UpstreamOrder[] = [];
  private readonly payments: FakePayment[] = [];
  private readonly faults: Record<UpstreamCall, Fault[]> = emptyCalls(() => []);
  private readonly counts: Record<UpstreamCall, number> = emptyCalls(() => 0);
  private readonly lastOptions: Partial<Record<UpstreamCall, CallOptions>> = {};
  private readonly paymentAnswers: PaymentAnswer[] = [];
  private readonly recordedTotals: number[] = [];
  private readonly recordedAmounts: number[] = [];
  private staleLookups = 0;
  private sequence = 0;

  /** The next call of this kind fails with `outcome`, before its effect (default) or after it. */
  failNext(call: UpstreamCall, outcome: FailureOutcome, options: { afterEffect?: boolean } = {}): this {
    this.faults[call].push({ outcome, afterEffect: options.afterEffect ?? false });
    return this;
  }

  /** How the next POST /payments/ are answered, in order; afterwards 'completed'. */
  answerNextPayments(...answers: PaymentAnswer[]): this {
    this.paymentAnswers.push(...answers);
    return this;
  }

  /** The next payment is recorded (and answered) for this amount (main units) instead of the one sent. */
  recordNextPaymentAmount(amount: number): this {
    this.recordedAmounts.push(amount);
    return this;
  }

  /** The next created order records this total (main units) instead of the one sent. */
  recordNextOrderTotal(total: number): this {
    this.recordedTotals.push(total);
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
  optionsOf(call: UpstreamCall): CallOptions | undefined {
    return this.lastOptions[call];
  }

  /** The money taken: every payment that completed, in minor units. */
  get charges(): Charge[] {
    return this.payments
      .filter((p) => p.status === 'completed' || p.status === 'refunded')
      .map((p) => ({ paymentId: p.id, upstreamOrderId: p.orderId, amountMinor: toMinorUnits(p.amount), refunded: p.status === 'refunded' }));
  }

  /** Every payment the upstream recorded, whatever became of it. */
  get allPayments(): readonly UpstreamPayment[] {
    return this.payments.map(({ id, amount, status }) => ({ id, amount, status }));
  }

  createOrder(order: { correlation: string; total: number }, options: CallOptions): Promise<CreateOrderResult> {
    return this.call('createOrder', options, () => {
      const created: UpstreamOrder = { id: this.nextId('up-order'), basket_id: order.correlation, amount_total: this.recordedTotals.shift() ?? order.total, status: 'pending' };
      this.orders.push(created);
      return { kind: 'created', order: { ...created } };
    });
  }

  findOrdersByCorrelation(correlation: string, options: CallOptions): Promise<UpstreamOrder[]> {
    return this.call('findOrdersByCorrelation', options, () => {
      if (this.staleLookups > 0) {
        this.staleLookups -= 1;
        return [];
      }
      return this.orders.filter((o) => o.basket_id === correlation).map((o) => ({ ...o }));
    });
  }

  setOrderStatus(upstreamOrderId: string, status: 'completed' | 'failed', options: CallOptions): Promise<UpstreamOrder | undefined> {
    return this.call('setOrderStatus', options, () => {
      const order = this.orders.find((o) => o.id === upstreamOrderId);
      if (!order) return undefined;
      order.status = status;
      return { ...order };
    });
  }

  createPayment(payment: { upstreamOrderId: string; amount: number }, options: CallOptions): Promise<CreatePaymentResult> {
    return this.call('createPayment', options, (): CreatePaymentResult => {
      const order = this.orders.find((o) => o.id === payment.upstreamOrderId);
      if (!order) return { kind: 'unclear', detail: 'status 404' };
      if (payment.amount !== order.amount_total) return { kind: 'unclear', detail: 'status 422' };
      const answer = this.paymentAnswers.shift() ?? 'completed';
      const recorded: FakePayment = { id: this.nextId('up-pay'), orderId: order.id, amount: this.recordedAmounts.shift() ?? payment.amount, status: 'completed', reads: 0 };
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

  getPayment(paymentId: string, options: CallOptions): Promise<UpstreamPayment | undefined> {
    return this.call('getPayment', options, () => {
      const payment = this.payments.find((p) => p.id === paymentId);
      if (!payment) return undefined;
      payment.reads += 1;
      if (payment.status === 'pending' && payment.settles && payment.reads >= payment.settles.onRead) payment.status = payment.settles.as;
      return publicPayment(payment);
    });
  }

  refundPayment(paymentId: string, options: CallOptions): Promise<RefundResult> {
    return this.call('refundPayment', options, (): RefundResult => {
      const payment = this.payments.find((p) => p.id === paymentId);
      if (!payment) return { kind: 'not_found' };
      if (payment.status !== 'completed') return { kind: 'unclear', status: 409 };
      payment.status = 'refunded';
      return { kind: 'answered', payment: publicPayment(payment) };
    });
  }

  /** One attempt: counted, then a scripted fault before the effect, the effect, or a scripted fault after it. */
  private async call<T>(call: UpstreamCall, options: CallOptions, effect: () => T): Promise<T> {
    this.counts[call] += 1;
    this.lastOptions[call] = options;
    const fault = this.faults[call].shift();
    const error = fault && new UpstreamCallError(fault.outcome, ...(ROUTES[call].split(' ') as [string, string]));
    if (fault && !fault.afterEffect) throw error;
    const result = effect();
    if (error) throw error;
    return result;
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

const publicPayment = (payment: FakePayment): UpstreamPayment => ({ id: payment.id, amount: payment.amount, status: payment.status });
