import { randomUUID } from 'node:crypto';
import { PostgresOrderRepository } from '../../lib/orders/postgres-repository';
import type { HealthThresholds } from '../../lib/orders/repository';
import type { OrderState } from '../../lib/orders/state-machine';
import { drivers, ownDatabase } from '../support/drivers';

const MINUTE = 60_000;
/** The service's defaults: abandoned after 2 min, declined expire after 30 min, stuck when overdue by 15 min. */
const THRESHOLDS: HealthThresholds = { abandonedAfterMs: 2 * MINUTE, declinedExpiryMs: 30 * MINUTE, stuckAfterMs: 15 * MINUTE };

/**
 * The reconciler's gauges come from one grouped query (healthByState). On a
 * database of its own, so the counts are exact while other suites write
 * orders to the shared one.
 */
describe.each(drivers)('order health by state, for the reconciler gauges ($name)', (driver) => {
  const { admin, connect } = ownDatabase(driver, 'order_health', { migrated: true });
  const orders = new PostgresOrderRepository(connect());

  beforeEach(async () => {
    await admin`delete from orders`;
    await admin`delete from baskets`;
  });

  /** An order in `state`, last changed `idleMinutes` ago. */
  async function order(state: OrderState, idleMinutes: number): Promise<void> {
    const basketId = randomUUID();
    await admin`insert into baskets (id, owner_id, status) values (${basketId}, 'health@example.com', 'locked')`;
    await admin`
      insert into orders (id, owner_id, basket_id, state, total_minor, opened_by_key, payment_id, updated_at)
      values (${randomUUID()}, 'health@example.com', ${basketId}, ${state}, 2880, ${randomUUID()},
              ${['paid', 'completed', 'refunding', 'refunded'].includes(state) ? 'pay-1' : null},
              now() - ${idleMinutes * MINUTE}::double precision * interval '1 millisecond')`;
  }

  it('reports nothing when no order is unsettled or unknown', async () => {
    await order('completed', 120);
    await order('failed', 120);
    await order('refunded', 120);

    expect(await orders.healthByState(THRESHOLDS)).toEqual({});
  });

  it('counts unknown orders and the age of the oldest', async () => {
    await order('unknown', 90);
    await order('unknown', 5);

    const health = await orders.healthByState(THRESHOLDS);

    expect(health.unknown).toMatchObject({ count: 2 });
    expect(health.unknown!.oldestIdleSeconds).toBeGreaterThanOrEqual(90 * 60 - 2);
    expect(health.unknown!.oldestIdleSeconds).toBeLessThan(90 * 60 + 60);
  });

  it('counts an order as stuck once the reconciler should have settled it more than 15 minutes ago, and measures the lag', async () => {
    await order('paid', 20); // due at once: overdue 20 min → stuck
    await order('paid', 1); // overdue 1 min
    await order('placed', 10); // due after 2 min idle: overdue 8 min, not stuck
    await order('paying', 18); // overdue 16 min → stuck
    await order('declined', 20); // due after 30 min: not due yet
    await order('declined', 50); // overdue 20 min → stuck
    await order('refunding', 0); // due now

    const health = await orders.healthByState(THRESHOLDS);

    expect(Object.fromEntries(Object.entries(health).map(([state, h]) => [state, [h!.count, h!.stuck]]))).toEqual({
      paid: [2, 1],
      placed: [1, 0],
      paying: [1, 1],
      declined: [2, 1],
      refunding: [1, 0],
    });
    const near = (seconds: number | undefined, expected: number) =>
      expect({ seconds, near: Math.abs((seconds ?? -1) - expected) < 60 }).toEqual({ seconds, near: true });
    near(health.paid!.overdueSeconds, 20 * 60);
    near(health.placed!.overdueSeconds, 8 * 60);
    near(health.paying!.overdueSeconds, 16 * 60);
    near(health.declined!.overdueSeconds, 20 * 60);
    near(health.declined!.oldestIdleSeconds, 50 * 60);
  });

  it('reports no lag for orders not due yet', async () => {
    await order('placed', 1);
    await order('declined', 10);

    const health = await orders.healthByState(THRESHOLDS);

    expect(health.placed).toEqual({ count: 1, stuck: 0, oldestIdleSeconds: expect.any(Number), overdueSeconds: 0 });
    expect(health.declined).toMatchObject({ count: 1, stuck: 0, overdueSeconds: 0 });
  });
});
