import { toMinorUnits } from '../../lib/domain/money';
import { AT_REST_STATES, type OrderState } from '../../lib/orders/state-machine';
import type { Ledger } from '../simulator/types';
import type { Answer } from './actors';
import { chargedPaymentsOf, isCharge, upstreamOrdersOf } from './truth';
import type { SentCall } from './upstream';

/** The invariants docs/checkout-protocol.md lists; each broken one is reported with its id. */
export const INVARIANT_IDS = ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7', 'I8'] as const;

/** Our records of one schedule, read straight from the database. */
export interface Records {
  orders: { id: string; state: OrderState; total_minor: number; payment_id: string | null; upstream_order_id: string | null }[];
  attempts: { order_id: string; outcome: string; upstream_payment_id: string | null }[];
  resolutions: { order_id: string; outcome: string; payment_id: string | null }[];
}

export interface Evidence {
  records: Records;
  ledger: Ledger;
  sent: readonly SentCall[];
  answers: readonly Answer[];
}

/** Orders not at rest once the schedule was driven as far as the system goes by itself: only `unknown` may wait for a person. */
export function unsettled(records: Records): string[] {
  return records.orders
    .filter((order) => !AT_REST_STATES.includes(order.state) && order.state !== 'unknown')
    .map((order) => `I5: order ${short(order.id)} never settled: still ${order.state}`);
}

/** Every money invariant of docs/checkout-protocol.md, checked at rest. Returns what is broken. */
export function checkAtRest({ records, ledger, sent, answers }: Evidence): string[] {
  const broken: string[] = [];
  const charges = ledger.payments.filter(isCharge);
  const totalOf = new Map(records.orders.map((order) => [order.id, order.total_minor]));
  const ourOrderOf = (upstreamOrderId: string) => ledger.orders.find((order) => order.id === upstreamOrderId)?.basket_id ?? undefined;

  if (charges.length > 1)
    broken.push(`I1: the basket was charged ${charges.length} times: ${charges.map((p) => `${short(p.id)} ${p.amount}`).join(', ')}`);
  for (const payment of charges) {
    const ours = ourOrderOf(payment.order_id);
    if (!ours || totalOf.get(ours) !== toMinorUnits(payment.amount))
      broken.push(
        `I2: payment ${short(payment.id)} charged ${payment.amount}, not the total of order ${ours ? short(ours) : '?'} (${ours ? totalOf.get(ours) : '?'} minor units)`,
      );
  }
  const refundsByPayment = new Map<string, number>();
  for (const refund of ledger.refunds) refundsByPayment.set(refund.payment_id, (refundsByPayment.get(refund.payment_id) ?? 0) + 1);
  for (const [paymentId, count] of refundsByPayment)
    if (count > 1) broken.push(`I3: payment ${short(paymentId)} was refunded ${count} times`);

  for (const upstreamOrder of ledger.orders) {
    const chargesOfIt = charges.filter((payment) => payment.order_id === upstreamOrder.id).length;
    if (upstreamOrder.status === 'pending') broken.push(`I4: upstream order ${short(upstreamOrder.id)} was left pending (live) at rest`);
    if (upstreamOrder.status === 'completed' && chargesOfIt !== 1)
      broken.push(`I4: upstream order ${short(upstreamOrder.id)} is completed with ${chargesOfIt} charges`);
    if (upstreamOrder.status === 'failed' && chargesOfIt > 0)
      broken.push(`I4: upstream order ${short(upstreamOrder.id)} is failed but charged`);
  }

  for (const order of records.orders) {
    const truth = chargedPaymentsOf(ledger, order.id);
    if (!AT_REST_STATES.includes(order.state)) broken.push(`I5: order ${short(order.id)} is ${order.state} at rest`);
    if (order.state === 'failed' && truth.charged.length > 0)
      broken.push(`I6: order ${short(order.id)} is failed while payment ${short(truth.charged[0].id)} charged the customer`);
    if (order.state === 'completed' || order.state === 'refunded') {
      const payment = truth.payments.find((p) => p.id === order.payment_id);
      const expected = order.state === 'completed' ? 'completed' : 'refunded';
      if (!payment || payment.status !== expected)
        broken.push(
          `I6: order ${short(order.id)} is ${order.state} but its payment ${order.payment_id ? short(order.payment_id) : 'none'} is ${payment?.status ?? 'unknown upstream'}`,
        );
    }
    for (const upstreamOrder of upstreamOrdersOf(ledger, order.id)) {
      if (order.state === 'failed' && upstreamOrder.status !== 'failed')
        broken.push(`I6: order ${short(order.id)} is failed but its upstream order ${short(upstreamOrder.id)} is ${upstreamOrder.status}`);
    }
  }

  for (const answer of answers) broken.push(...contradictions(answer, ledger, sent));

  for (const resolution of records.resolutions) {
    const truth = chargedPaymentsOf(ledger, resolution.order_id);
    const recordedCharge = records.attempts.some((a) => a.order_id === resolution.order_id && a.outcome === 'completed');
    if (resolution.outcome === 'not_charged' && (truth.charged.length > 0 || recordedCharge))
      broken.push(`I8: order ${short(resolution.order_id)} was resolved not charged, but it was charged`);
    if (resolution.outcome === 'charged' && truth.charged.length === 0)
      broken.push(`I8: order ${short(resolution.order_id)} was resolved charged, but nothing charged it`);
    if (resolution.payment_id && !truth.charged.some((p) => p.id === resolution.payment_id))
      broken.push(
        `I8: order ${short(resolution.order_id)} was resolved with payment ${short(resolution.payment_id)}, which is not its charge`,
      );
  }
  return broken;
}

/** What an answer told the terminal about the money, against what the payments sent before it did. */
function contradictions(answer: Answer, ledger: Ledger, sent: readonly SentCall[]): string[] {
  if (!answer.orderId || answer.replayed) return [];
  const truth = chargedPaymentsOf(ledger, answer.orderId);
  const sentBefore = new Set(sent.filter((call) => call.seq < answer.seq && call.paymentId).map((call) => call.paymentId!));
  const chargedBefore = truth.charged.filter((payment) => sentBefore.has(payment.id));
  const told = `${answer.actor} was told ${answer.status}${answer.code ? ` ${answer.code}` : ''}${answer.paymentState ? ` (${answer.paymentState})` : ''}`;
  const claim = claimOf(answer);
  if (claim === 'charged' && chargedBefore.length === 0) return [`I7: ${told}, but nothing had charged order ${short(answer.orderId)}`];
  if (claim === 'not_charged' && chargedBefore.length > 0)
    return [`I7: ${told}, while payment ${short(chargedBefore[0].id)} charged order ${short(answer.orderId)}`];
  if (claim === 'refunded' && !ledger.refunds.some((refund) => truth.charged.some((payment) => payment.id === refund.payment_id)))
    return [`I7: ${told}, but nothing was refunded`];
  return [];
}

/** What an answer says of the customer's money. */
export function claimOf(answer: Answer): 'charged' | 'not_charged' | 'refunded' | 'unknown' | 'nothing' {
  if (answer.status >= 200 && answer.status < 300) {
    // A cancel that succeeds says the order is cancelled, a refund that succeeds says the money went back, whatever else the body shows.
    if (answer.step.kind === 'cancel') return 'not_charged';
    if (answer.step.kind === 'refund') return 'refunded';
    if (answer.paymentState === 'charged') return 'charged';
    if (answer.paymentState === 'refunded') return 'refunded';
    if (answer.paymentState === 'not_charged' || answer.paymentState === 'declined') return 'not_charged';
    return answer.paymentState === 'unknown' ? 'unknown' : 'nothing';
  }
  if (answer.status === 402) return 'not_charged';
  if (answer.code === 'PAYMENT_STATUS_UNKNOWN') return 'unknown';
  if (answer.message && /nothing was charged|has been cancelled/i.test(answer.message)) return 'not_charged';
  return 'nothing';
}

const short = (id: string) => id.slice(0, 8);
