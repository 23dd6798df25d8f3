import {
  assertTransitions,
  canTransition,
  isTerminal,
  ORDER_STATES,
  UNSETTLED_STATES,
  type OrderState,
} from '../../lib/orders/state-machine';

/**
 * The machine as design.md describes it, written out independently of the
 * implementation: pending → placed → paying → paid → completed, declined (pay
 * again), failed (never placed, or abandoned unpaid), unknown (a payment that
 * could not be proved), refunding → refunded.
 */
const STATES: OrderState[] = [
  'pending',
  'placed',
  'paying',
  'paid',
  'completed',
  'declined',
  'failing',
  'failed',
  'unknown',
  'refunding',
  'refunded',
];
const ALLOWED = new Set([
  'pending → placed',
  'pending → paying',
  'pending → failing',
  'pending → failed',
  'placed → paying',
  'placed → failing',
  'paying → paid',
  'paying → declined',
  'paying → placed',
  'paying → unknown',
  // A person found that a payment stuck at the upstream never charged.
  'paying → failing',
  'declined → paying',
  'declined → failing',
  'failing → failed',
  'paid → completed',
  'completed → refunding',
  'refunding → refunded',
  // A person found that a refund stuck at the upstream never went through.
  'refunding → completed',
  // A person's resolution, or a late answer to the payment that was unknown (charged, declined, proved not sent).
  'unknown → paid',
  'unknown → failing',
  'unknown → declined',
  'unknown → placed',
]);
const PAIRS = STATES.flatMap((from) => STATES.map((to) => ({ from, to, allowed: ALLOWED.has(`${from} → ${to}`) })));

describe('order state machine', () => {
  it('has exactly the eleven states of the design', () => {
    expect([...ORDER_STATES].sort()).toEqual([...STATES].sort());
  });

  it.each(PAIRS.filter((pair) => pair.allowed))('allows $from → $to', ({ from, to }) => {
    expect(canTransition(from, to)).toBe(true);
    expect(() => assertTransitions([from], to)).not.toThrow();
  });

  it.each(PAIRS.filter((pair) => !pair.allowed))('forbids $from → $to', ({ from, to }) => {
    expect(canTransition(from, to)).toBe(false);
    expect(() => assertTransitions([from], to)).toThrow(`Invalid order transition ${from} → ${to}`);
  });

  it('checks every source state of a multi-state transition and names the invalid ones', () => {
    expect(() => assertTransitions(['placed', 'declined'], 'paying')).not.toThrow();
    expect(() => assertTransitions(['pending', 'placed', 'declined'], 'failing')).not.toThrow();
    expect(() => assertTransitions(['pending', 'failing'], 'failed')).not.toThrow();
    expect(() => assertTransitions(['placed', 'declined'], 'failed')).toThrow('Invalid order transition placed|declined → failed');
    expect(() => assertTransitions(['placed', 'paid', 'unknown'], 'paying')).toThrow('Invalid order transition paid|unknown → paying');
  });

  it('never lets a state transition to itself', () => {
    for (const state of STATES) expect(canTransition(state, state)).toBe(false);
  });

  it.each(STATES)('isTerminal(%s) is true exactly for failed and refunded (an operator resolves unknown)', (state) => {
    expect(isTerminal(state)).toBe(['failed', 'refunded'].includes(state));
  });

  it('counts as unsettled every state the reconciler still has work for, and nothing at rest', () => {
    expect([...UNSETTLED_STATES].sort()).toEqual(['declined', 'failing', 'paid', 'paying', 'pending', 'placed', 'refunding']);
    for (const state of UNSETTLED_STATES) expect(isTerminal(state)).toBe(false);
  });

  it('reaches every state from pending, and a terminal state from every state', () => {
    const reachableFrom = (start: OrderState): Set<OrderState> => {
      const seen = new Set<OrderState>([start]);
      const queue = [start];
      while (queue.length > 0) {
        const state = queue.shift()!;
        for (const next of STATES.filter((to) => canTransition(state, to) && !seen.has(to))) {
          seen.add(next);
          queue.push(next);
        }
      }
      return seen;
    };

    expect([...reachableFrom('pending')].sort()).toEqual([...STATES].sort());
    for (const state of STATES) expect([...reachableFrom(state)].some(isTerminal)).toBe(true);
  });

  it('never moves a charged order back to an unpaid state', () => {
    const charged: OrderState[] = ['paid', 'completed', 'refunding', 'refunded'];
    const unpaid: OrderState[] = ['pending', 'placed', 'paying', 'declined', 'failed'];
    for (const from of charged) for (const to of unpaid) expect(canTransition(from, to)).toBe(false);
  });
});
