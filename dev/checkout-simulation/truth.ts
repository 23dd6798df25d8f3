import type { Ledger, Payment } from '../simulator/types';

/** A payment that took the customer's money, whether or not it was given back since. */
export const isCharge = (payment: Payment) => payment.status === 'completed' || payment.status === 'refunded';

/** The upstream orders a checkout of ours created (they carry our order id as their correlation value). */
export function upstreamOrdersOf(ledger: Ledger, orderId: string) {
  return ledger.orders.filter((order) => order.basket_id === orderId);
}

/** What the payment provider shows for one of our orders: its charges, and whether a payment is still pending. */
export function chargedPaymentsOf(ledger: Ledger, orderId: string): { charged: Payment[]; pending: boolean; payments: Payment[] } {
  const upstreamIds = new Set(upstreamOrdersOf(ledger, orderId).map((order) => order.id));
  const payments = ledger.payments.filter((payment) => upstreamIds.has(payment.order_id));
  return { charged: payments.filter(isCharge), pending: payments.some((payment) => payment.status === 'pending'), payments };
}
