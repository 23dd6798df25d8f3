import { PostgresBasketRepository } from '../../lib/baskets/postgres-repository';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { toMinorUnits } from '../../lib/domain/money';
import type { PostgresSql } from '../../lib/db/sql';
import { DEFAULT_PRODUCTS } from '../simulator/catalogue';
import { acting, resolveAsOperator, runActor, type Acting, type Answer } from './actors';
import { UNSETTLED_STATES, type OrderState } from '../../lib/orders/state-machine';
import { Actor } from './runtime';
import { checkAtRest, unsettled, type Records } from './invariants';
import { describeStep, planArbitrary, type Plan } from './plan';
import type { PromiseScheduler } from './runtime';
import { buildWorld, type World } from './world';

/** Rounds of "time passes, the reconciler runs" that bring a schedule to rest; more means something never settles. */
const MAX_REST_ROUNDS = 12;
/** Each rest round moves time past every expiry the reconciler waits for (declined orders: 30 min). */
const REST_ROUND_MS = 31 * 60_000;

export interface ScheduleResult {
  broken: string[];
  trace: string;
}

let scheduleCount = 0;

/**
 * One schedule: a basket, the plan's actors started together under the
 * scheduler, then the system driven to rest (faults off, time moving, the
 * reconciler until nothing changes, an operator for what needs a person),
 * and every invariant checked.
 */
export async function runSchedule(sql: PostgresSql, databaseUrl: string, scheduler: PromiseScheduler, plan: Plan): Promise<ScheduleResult> {
  const world = buildWorld(scheduler, sql, databaseUrl, plan, ++scheduleCount);
  try {
    world.basketId = await seedBasket(sql, world, plan.quantities);
    world.runtime.note(
      `reading ${plan.reading}; ${plan.actors.length} actors: ${plan.actors.map((a, i) => `#${i + 1} ${describeStep(a.step)}${a.dieAtStep ? ` (dies at step ${a.dieAtStep})` : ''}`).join(', ')}`,
      'plan',
    );
    const answers: Answer[] = [];
    plan.actors.forEach((actor, index) => {
      const name = `#${index + 1} ${actor.step.kind}`;
      runActor(world, actor, name, answers).catch((error: unknown) => {
        world.runtime.note(`threw: ${error instanceof Error ? error.stack : String(error)}`, name);
        answers.push({ seq: world.runtime.nextSeq(), actor: name, step: actor.step, status: 500, code: 'THREW', message: String(error) });
      });
    });
    await world.runtime.runUntilIdle();

    world.upstream.faultsOn = false;
    world.runtime.note('--- faults off: driving to rest ---', 'world');
    await driveToRest(sql, world);
    const broken = unsettled(await readRecords(sql, world));
    if (broken.length === 0) {
      // A person looks at what is left once nothing sent can still land.
      world.clock.advanceTo(world.clock.now() + REST_ROUND_MS);
      await asWorld(world, 'operator@rest', (as) => resolveAsOperator(as, answers));
      await driveToRest(sql, world);
    }

    const records = await readRecords(sql, world);
    broken.push(
      ...checkAtRest({ records, ledger: world.upstream.state.ledger(world.terminal.userId), sent: world.upstream.sent, answers }),
    );
    broken.push(...answers.filter((a) => a.code === 'THREW').map((a) => `${a.actor} threw: ${a.message}`));
    return { broken, trace: world.runtime.formatTrace() };
  } finally {
    await world.close();
  }
}

/** Time passes and the reconciler runs until no order has anything left to do by itself. */
async function driveToRest(sql: PostgresSql, world: World): Promise<void> {
  for (let round = 0; round < MAX_REST_ROUNDS; round++) {
    const [{ busy }] = await sql<{ busy: boolean }[]>`
      select exists (
        select 1 from orders where owner_id = ${world.terminal.userId}
          and (state in ${sql(UNSETTLED_STATES as OrderState[])} or duplicate_check_at is not null)
      ) as busy`;
    if (!busy) return;
    world.clock.advanceTo(world.clock.now() + REST_ROUND_MS);
    await asWorld(world, 'reconciler@rest', (as) => as.services.reconciler.run(as.log));
  }
}

/** Runs `work` as an actor that never dies, and releases everything until it is done. */
async function asWorld(world: World, name: string, work: (as: Acting) => Promise<unknown>): Promise<void> {
  let failure: unknown;
  work(acting(world, new Actor(name))).catch((error: unknown) => {
    failure = error;
  });
  await world.runtime.runUntilIdle();
  if (failure) world.runtime.note(`threw: ${failure instanceof Error ? failure.message : String(failure)}`, name);
}

/** The basket through the basket repository, which writes each line's gross and the basket's total as the service does. */
async function seedBasket(sql: PostgresSql, world: World, quantities: number[]): Promise<string> {
  const basketId = randomUUID();
  const baskets = new PostgresBasketRepository(sql);
  await baskets.create(world.terminal.userId, basketId);
  for (const [index, quantity] of quantities.entries()) {
    const product = DEFAULT_PRODUCTS[index];
    await baskets.putLine(world.terminal.userId, basketId, {
      productId: product.id,
      productName: product.name,
      quantity,
      netUnitMinor: toMinorUnits(product.price_unit),
      vatBasisPoints: Math.round(product.vat_rate * 10_000),
    });
  }
  return basketId;
}

async function readRecords(sql: PostgresSql, world: World): Promise<Records> {
  const owner = world.terminal.userId;
  const orders = await sql<
    Records['orders']
  >`select id, state, total_minor, payment_id, upstream_order_id from orders where owner_id = ${owner} order by created_at`;
  const attempts = await sql<
    Records['attempts']
  >`select a.order_id, a.outcome, a.upstream_payment_id from payment_attempts a join orders o on o.id = a.order_id where o.owner_id = ${owner}`;
  const resolutions = await sql<
    Records['resolutions']
  >`select r.order_id, r.outcome, r.payment_id from order_resolutions r join orders o on o.id = r.order_id where o.owner_id = ${owner}`;
  return { orders: [...orders], attempts: [...attempts], resolutions: [...resolutions] };
}

/** Clears what earlier schedules left, so each reconciler run sees only its own schedule. */
export async function clearRecords(sql: PostgresSql): Promise<void> {
  // One statement: foreign keys are checked at its end, when every table is empty.
  await sql`
    with resolutions as (delete from order_resolutions), refunds as (delete from refund_attempts), payments as (delete from payment_attempts),
         orders as (delete from orders), lines as (delete from basket_lines), baskets as (delete from baskets)
    delete from idempotency_keys`;
}

/** The property: under any plan and any interleaving, no invariant breaks. */
export function checkoutProperty(sql: PostgresSql, databaseUrl: string) {
  return fc.asyncProperty(fc.scheduler(), planArbitrary, async (scheduler, plan) => {
    await clearRecords(sql);
    const result = await runSchedule(sql, databaseUrl, scheduler, plan);
    if (result.broken.length > 0) {
      throw new Error(`Invariants broken:\n  - ${result.broken.join('\n  - ')}\n\nTrace (virtual time, actor, step):\n${result.trace}\n`);
    }
  });
}
