import { randomUUID } from 'node:crypto';
import { PostgresBasketRepository } from '../../lib/baskets/postgres-repository';
import { DEFAULT_LATE_EFFECT_MS, PostgresOrderRepository } from '../../lib/orders/postgres-repository';
import { UNSETTLED_STATES, type OrderState } from '../../lib/orders/state-machine';
import { basketRepositoryContract } from '../contract/basket-repository.contract';
import { orderRepositoryContract, type StoredAttemptView } from '../contract/order-repository.contract';
import { drivers, suiteClients } from '../support/drivers';

/**
 * The repository contract (tests/contract/) against the Postgres adapters, on
 * both drivers: the truth the in-memory fakes of tests/unit/repository-contract.test.ts
 * are held to. Owners of this file start with RUN, so its orders can be put to rest at the end.
 */
const RUN = `repo-contract-${randomUUID().slice(0, 8)}`;
const newOwner = () => `${RUN}-${randomUUID()}@example.com`;

describe.each(drivers)('repository contract on Postgres ($name)', (driver) => {
  const { sql, admin } = suiteClients(driver, {
    max: 10,
    // Leaves nothing for a reconciler of another test to pick up: none of these orders exist upstream.
    beforeClose: (admin) =>
      admin`update orders set state = 'failed', lease_until = null, lease_holder = null
            where owner_id like ${`${RUN}-%`} and state in ${admin([...UNSETTLED_STATES, 'unknown'] as OrderState[])}`,
  });
  const orders = new PostgresOrderRepository(sql);
  const baskets = new PostgresBasketRepository(sql);

  /** What the port's reads do not show of older attempts, read beside the driver under test. */
  const attemptsOf = (orderId: string): Promise<StoredAttemptView[]> =>
    admin<StoredAttemptView[]>`
      select id, number, outcome, upstream_payment_id as "upstreamPaymentId" from payment_attempts where order_id = ${orderId} order by number`.then(
      (rows) => [...rows],
    );

  orderRepositoryContract(`PostgresOrderRepository (${driver.name})`, async () => ({
    orders,
    baskets,
    newOwner,
    lateEffectMs: DEFAULT_LATE_EFFECT_MS,
    attemptsOf,
  }));
  basketRepositoryContract(`PostgresBasketRepository (${driver.name})`, async () => ({ baskets, newOwner }));
});
