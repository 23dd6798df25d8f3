import { randomUUID } from 'node:crypto';
import { DEFAULT_LATE_EFFECT_MS } from '../../lib/orders/postgres-repository';
import { basketRepositoryContract } from '../contract/basket-repository.contract';
import { orderRepositoryContract } from '../contract/order-repository.contract';
import { InMemoryBaskets, InMemoryOrders } from '../support/fakes/repositories';

/**
 * The repository contract (tests/contract/) against the in-memory fakes the
 * checkout unit tests run on: no database. The same cases run against the
 * Postgres adapters in tests/integration/repository-contract.test.ts, so a
 * fake that drifts from production fails here.
 */
const newOwner = () => `owner-${randomUUID()}@example.com`;

orderRepositoryContract('InMemoryOrders', async () => {
  const baskets = new InMemoryBaskets();
  const orders = new InMemoryOrders(baskets);
  return {
    orders,
    baskets,
    newOwner,
    lateEffectMs: DEFAULT_LATE_EFFECT_MS,
    attemptsOf: async (orderId) =>
      orders.attemptsOf(orderId).map(({ id, number, outcome, upstreamPaymentId }) => ({ id, number, outcome, upstreamPaymentId })),
  };
});

basketRepositoryContract('InMemoryBaskets', async () => ({ baskets: new InMemoryBaskets(), newOwner }));
