import type { Ledger, LedgerCall, Order, Payment, PaymentStatus, Refund } from './types';

/**
 * An order as the ledger shows it: the stored order, plus `completed_at` (ISO, ms) once a PATCH first made it
 * completed: when the upstream considers the order done. Kept beside the order, never sent on the upstream's routes.
 */
export type LedgerOrder = Order & { completed_at?: string };

/** A pending payment's fate: the status it takes once `at` (epoch ms) has passed. */
interface Settlement {
  payment: Payment;
  status: PaymentStatus;
  at: number;
}

/** Everything the simulated upstream remembers; storage only, the rules live in the route handlers. */
export class SimulatorState {
  private orders: Order[] = [];
  private payments: Payment[] = [];
  private refunds: Refund[] = [];
  private calls: LedgerCall[] = [];
  private settlements: Settlement[] = [];
  private completedAt = new Map<Order, string>();

  /** The first order stored with this id (with order ids 'kept' there may be more). */
  findOrder(id: string): Order | undefined {
    return this.orders.find((order) => order.id === id);
  }

  ordersOf(user: string): Order[] {
    return this.orders.filter((order) => order.user_id === user);
  }

  addOrder(order: Order): void {
    this.orders.push(order);
  }

  findPayment(id: string): Payment | undefined {
    this.settleDue();
    return this.payments.find((payment) => payment.id === id);
  }

  /** Records the moment an order was first PATCHed completed (the ledger's `completed_at`). */
  markCompleted(order: Order): void {
    if (!this.completedAt.has(order)) this.completedAt.set(order, new Date().toISOString());
  }

  addPayment(payment: Payment): void {
    this.payments.push(payment);
  }

  /** Makes a stored pending payment take `status` at `at`; applied lazily on read, so no timer holds the process. */
  settleLater(payment: Payment, status: PaymentStatus, at: number): void {
    this.settlements.push({ payment, status, at });
  }

  private settleDue(): void {
    const now = Date.now();
    for (const settlement of this.settlements) {
      if (settlement.at <= now) settlement.payment.status = settlement.status;
    }
    this.settlements = this.settlements.filter((settlement) => settlement.at > now);
  }

  addRefund(refund: Refund): void {
    this.refunds.push(refund);
  }

  recordCall(call: LedgerCall): void {
    this.calls.push(call);
  }

  clear(): void {
    this.orders = [];
    this.payments = [];
    this.refunds = [];
    this.calls = [];
    this.settlements = [];
    this.completedAt.clear();
  }

  /** A copy of the ledger, optionally only what belongs to one user. Calls are in arrival order. */
  ledger(user?: string): Ledger & { orders: LedgerOrder[] } {
    this.settleDue();
    const owned = (owner: string | null) => user === undefined || owner === user;
    const payments = this.payments.filter((payment) => owned(payment.user_id));
    const paymentIds = new Set(payments.map((payment) => payment.id));
    return structuredClone({
      orders: this.orders.filter((order) => owned(order.user_id)).map((order) => this.withCompletion(order)),
      payments,
      refunds: this.refunds.filter((refund) => paymentIds.has(refund.payment_id)),
      calls: this.calls.filter((call) => owned(call.user)).sort((a, b) => a.seq - b.seq),
    });
  }

  private withCompletion(order: Order): LedgerOrder {
    const completedAt = this.completedAt.get(order);
    return completedAt === undefined ? order : { ...order, completed_at: completedAt };
  }
}
