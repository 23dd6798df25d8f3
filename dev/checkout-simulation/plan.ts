import fc from 'fast-check';
import { UPSTREAM_READINGS, type UpstreamReading } from '../simulator/profiles';
import type { Fate } from './upstream';

/** What one actor of a schedule does: a terminal's request, the reconciler, an operator, or time passing. */
export type Step =
  /** POST /baskets/{id}/orders with this Idempotency-Key (a second actor with the same key is a retry of it). */
  | { kind: 'checkout'; key: 'A' | 'B'; pay: boolean }
  /** POST /orders/{id}/payments with this Idempotency-Key. */
  | { kind: 'pay'; key: 'P' | 'Q' }
  /** DELETE /orders/{id}. */
  | { kind: 'cancel' }
  /** POST /orders/{id}/refund. */
  | { kind: 'refund' }
  /** One run of the scheduled reconciler. */
  | { kind: 'reconcile' }
  /** An operator resolves what needs a person, from what the payment provider shows them. */
  | { kind: 'operator' }
  /** Time passes. */
  | { kind: 'wait'; ms: number };

export interface ActorPlan {
  step: Step;
  /** The actor dies when it reaches this await (1 = before its first), its memory gone, its writes kept. */
  dieAtStep?: number;
}

export interface Plan {
  reading: UpstreamReading;
  /** The basket: quantities of the first products of the catalogue. */
  quantities: number[];
  actors: ActorPlan[];
  /** The fates of the upstream calls in the order they are sent; later calls succeed. */
  fates: Fate[];
}

export const READINGS = Object.keys(UPSTREAM_READINGS) as UpstreamReading[];

const ok: fc.Arbitrary<Fate> = fc
  .boolean()
  .map((declined) => ({ effect: 'before' as const, answer: { kind: 'reply' as const }, declined }));

const fault: fc.Arbitrary<Fate> = fc.record({
  effect: fc.constantFrom<Fate['effect'][]>('before', 'none', 'late'),
  answer: fc.oneof(
    fc.constantFrom<Fate['answer'][]>({ kind: 'timeout' }, { kind: 'lost' }, { kind: 'refused' }),
    fc.constantFrom(503, 500, 429, 409, 408, 422, 425, 502, 504).map((status) => ({ kind: 'status' as const, status })),
  ),
  declined: fc.boolean(),
});

export const fateArbitrary: fc.Arbitrary<Fate> = fc.oneof({ weight: 3, arbitrary: ok }, { weight: 2, arbitrary: fault });

const WAITS_MS = [1_000, 5_000, 31_000, 125_000, 31 * 60_000];

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('checkout' as const), key: fc.constantFrom('A' as const, 'B' as const), pay: fc.boolean() }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('pay' as const), key: fc.constantFrom('P' as const, 'Q' as const) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'cancel' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'refund' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'reconcile' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'operator' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.constantFrom(...WAITS_MS) }) },
);

const dieAt = fc.option(fc.integer({ min: 1, max: 12 }), { freq: 5, nil: undefined });

const actorArbitrary: fc.Arbitrary<ActorPlan> = fc.record({ step: stepArbitrary, dieAtStep: dieAt }, { requiredKeys: ['step'] });

/** A schedule's plan: the first actor is always a checkout, the others act on the same basket and its orders. */
export const planArbitrary: fc.Arbitrary<Plan> = fc.record({
  reading: fc.constantFrom(...READINGS),
  quantities: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 }),
  actors: fc
    .tuple(
      fc.record(
        {
          step: fc.record({ kind: fc.constant('checkout' as const), key: fc.constant('A' as const), pay: fc.boolean() }),
          dieAtStep: dieAt,
        },
        { requiredKeys: ['step'] },
      ),
      fc.array(actorArbitrary, { maxLength: 5 }),
    )
    .map(([first, rest]) => [first, ...rest]),
  fates: fc.array(fateArbitrary, { maxLength: 10 }),
});

export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'checkout':
      return `checkout key ${step.key}${step.pay ? '' : ' (prepare)'}`;
    case 'pay':
      return `pay key ${step.key}`;
    case 'wait':
      return `wait ${step.ms / 1000} s`;
    default:
      return step.kind;
  }
}
