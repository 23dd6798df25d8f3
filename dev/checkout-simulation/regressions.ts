import type { ActorPlan, Plan } from './plan';
import { OK, type Fate } from './upstream';

/**
 * Interleavings that broke an invariant before the protocol was fixed
 * (docs/checkout-protocol.md), each replayed step by step with a
 * ScriptedScheduler: the plan, and the steps whose order matters (every
 * other step flows in the order it was scheduled).
 */
export interface RegressionCase {
  name: string;
  /** What went wrong before, as a terminal or the ledger saw it. */
  was: string;
  plan: Plan;
  script: string[];
}

const timeout = (effect: Fate['effect']): Fate => ({ effect, answer: { kind: 'timeout' }, declined: false });
const status = (code: number, effect: Fate['effect']): Fate => ({ effect, answer: { kind: 'status', status: code }, declined: false });
const declined: Fate = { ...OK, declined: true };

const checkout = (key: 'A' | 'B', pay: boolean): ActorPlan => ({ step: { kind: 'checkout', key, pay } });
const pay = (key: 'P' | 'Q'): ActorPlan => ({ step: { kind: 'pay', key } });
const wait = (ms: number): ActorPlan => ({ step: { kind: 'wait', ms } });
const cancel: ActorPlan = { step: { kind: 'cancel' } };
const refund: ActorPlan = { step: { kind: 'refund' } };
const reconcile: ActorPlan = { step: { kind: 'reconcile' } };

export const REGRESSIONS: RegressionCase[] = [
  {
    name: 'a pay-again completes the order while the checkout is still confirming its create',
    was: 'the checkout answered 502 "the POS system recorded a different total; nothing was charged" while the customer was charged',
    plan: {
      reading: 'default',
      quantities: [1],
      actors: [checkout('A', true), pay('P')],
      fates: [timeout('before')],
    },
    script: [
      '#1 checkout: → POST /orders/',
      '#2 pay: orders.listForOwner',
      '#2 pay: ← GET /orders/',
      '#2 pay: ← POST /payments/',
      '#2 pay: ← PATCH /orders/',
      '#1 checkout: ← POST /orders/',
      '#1 checkout: ← GET /orders/',
    ],
  },
  {
    name: 'a cancel races a pay-again of a prepared order',
    was: 'DELETE /orders/{id} answered 200 with the order paying, and the customer was charged',
    plan: {
      reading: 'default',
      quantities: [1],
      actors: [checkout('A', false), pay('P'), cancel],
      fates: [],
    },
    script: [
      '#1 checkout: keys.complete',
      '#2 pay: orders.listForOwner',
      '#3 cancel: orders.listForOwner',
      '#3 cancel: orders.find',
      '#2 pay: orders.startPayment',
      '#3 cancel: orders.transition',
    ],
  },
  {
    name: 'a slower follower reads the first, declined attempt after the cashier paid again',
    was: 'the order went back to declined while the second attempt charged; the cashier saw 402, and paying again would charge twice',
    plan: {
      reading: 'payments-pending',
      quantities: [1],
      actors: [checkout('A', true), pay('P'), pay('Q')],
      fates: [OK, declined],
    },
    script: [
      '#1 checkout: ← POST /payments/',
      '#2 pay: orders.listForOwner',
      '#3 pay: orders.listForOwner',
      'settles failed',
      '#1 checkout: → GET /payments/',
      '#2 pay: ← GET /payments/',
      '#2 pay: orders.finishPayment',
      '#3 pay: orders.startPayment',
      '#1 checkout: ← GET /payments/',
      '#1 checkout: orders.finishPayment',
    ],
  },
  {
    name: 'a refund whose answer was lost lands late, after a second refund request read the payment',
    was: 'the payment was refunded twice: the second request read it still completed and sent another DELETE',
    plan: {
      reading: 'refunds-repeat',
      quantities: [1],
      actors: [checkout('A', true), refund, refund],
      fates: [OK, OK, OK, timeout('late')],
    },
    script: [
      '#1 checkout: ← PATCH /orders/',
      '#2 refund: orders.listForOwner',
      '#2 refund: ← DELETE /payments/',
      '#2 refund: ← GET /payments/',
      '#3 refund: orders.listForOwner',
      '#3 refund: ← GET /payments/',
      'late effect of DELETE',
    ],
  },
  {
    name: 'an order claimed for its duplicate check while its payment is still being sent',
    was: 'the reconciler treated it as abandoned and marked the payment unknown while the request was about to record it charged',
    plan: {
      reading: 'default',
      quantities: [1],
      actors: [checkout('A', true), wait(56_000), reconcile],
      fates: [timeout('before')],
    },
    script: [
      '#1 checkout: → POST /payments/',
      '#2 wait: time passes',
      '#3 reconcile: orders.claimForReconcile',
      '#3 reconcile: orders.releaseLease',
      '#1 checkout: ← POST /payments/',
    ],
  },
  {
    name: 'a create answered 429 after its effect',
    was: 'the order was failed and the basket reopened as "nothing was created", leaving a live upstream order behind',
    plan: {
      reading: 'default',
      quantities: [1],
      actors: [checkout('A', false)],
      fates: [status(429, 'before')],
    },
    script: [],
  },
  {
    name: 'a payment answered 409 after it charged',
    was: 'the order went back to placed with "nothing was charged", and the customer was charged',
    plan: {
      reading: 'default',
      quantities: [1],
      actors: [checkout('A', true)],
      fates: [OK, status(409, 'before')],
    },
    script: [],
  },
  {
    name: 'a retry takes over a checkout whose key lock ran out while it was still creating the order',
    was: 'two upstream orders with the same id (ids kept): the one failing a duplicate could not address stayed live',
    plan: {
      reading: 'default',
      quantities: [1],
      actors: [checkout('A', false), wait(56_000), checkout('A', false)],
      fates: [],
    },
    script: [
      '#1 checkout: orders.open',
      '#2 wait: time passes',
      '#3 checkout: orders.open',
      '#3 checkout: ← GET /orders/',
      '#3 checkout: ← POST /orders/',
      // The stalled request's create: past its deadline now, so it never leaves (the key lock outlasts the deadline).
      '#1 checkout: → POST /orders/',
      '#3 checkout: orders.transition',
    ],
  },
  {
    name: 'a pay-again cannot confirm the order while the checkout pays it',
    was: 'the pay-again answered 503 "the POS system could not confirm the order; nothing was charged" after the checkout had charged the customer',
    plan: {
      reading: 'default',
      quantities: [1],
      actors: [checkout('A', true), pay('Q')],
      fates: [OK, status(504, 'before')],
    },
    script: [
      '#1 checkout: ← POST /orders/',
      '#2 pay: orders.listForOwner',
      '#2 pay: orders.find',
      '#2 pay: → GET /orders/',
      '#1 checkout: orders.startPayment',
      '#1 checkout: ← POST /payments/',
      '#1 checkout: orders.finishPayment',
      '#2 pay: ← GET /orders/',
    ],
  },
  {
    name: 'a pay-again creates the order a second time and dies before adopting it',
    was: 'the checkout adopted its own upstream order as the only one, and the second stayed live forever',
    plan: {
      reading: 'default',
      quantities: [1],
      actors: [checkout('A', true), { ...pay('Q'), dieAtStep: 10 }],
      fates: [],
    },
    script: [
      '#1 checkout: orders.open',
      '#2 pay: orders.listForOwner',
      '#2 pay: ← GET /orders/',
      '#1 checkout: → POST /orders/',
      '#2 pay: → POST /orders/',
      '#2 pay: ← POST /orders/',
    ],
  },
  {
    name: 'a create sent twenty seconds after it was recorded lands after a cancel looked for it',
    was: 'the cancel answered 200 and reopened the basket, and the upstream order the late create made stayed live: its late-effect window was counted from the write, not from the send',
    plan: {
      reading: 'default',
      quantities: [1],
      actors: [checkout('A', false), wait(20_000), wait(15_000), cancel],
      fates: [timeout('late')],
    },
    script: [
      '#1 checkout: orders.open',
      '#2 wait: time passes',
      '#1 checkout: → POST /orders/',
      '#1 checkout: ← POST /orders/',
      '#3 wait: time passes',
      '#4 cancel: orders.listForOwner',
      '#4 cancel: ← GET /orders/',
      'late effect of POST',
    ],
  },
];
