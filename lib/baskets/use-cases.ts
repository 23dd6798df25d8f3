import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth';
import type { Catalogue } from '../catalogue/catalogue';
import { AppError } from '../errors';
import type { CallOptions } from '../upstream/client';
import { editBlocker, type Basket } from './basket';
import type { BasketPage, BasketRepository } from './repository';

/** The basket use-cases; ownership is always the caller's token subject. */
export class BasketService {
  constructor(
    private readonly baskets: BasketRepository,
    private readonly catalogue: Catalogue,
  ) {}

  create(caller: Caller): Promise<Basket> {
    return this.baskets.create(caller.userId, randomUUID());
  }

  async get(caller: Caller, basketId: string): Promise<Basket> {
    const basket = await this.baskets.find(caller.userId, basketId);
    if (!basket) throw new AppError('BASKET_NOT_FOUND', 'Basket not found');
    return basket;
  }

  list(caller: Caller, page: { limit: number; after?: string }): Promise<BasketPage> {
    return this.baskets.listOpen(caller.userId, page);
  }

  /**
   * Sets a line's quantity (0 removes it). The price is snapshotted from the
   * catalogue now, so the total the cashier sees is the total charged.
   * A missing or uneditable basket is reported before the catalogue is asked.
   */
  async setQuantity(
    caller: Caller,
    basketId: string,
    productId: string,
    quantity: number,
    expectedVersion: number | undefined,
    upstream: CallOptions,
  ): Promise<Basket> {
    if (quantity === 0) return this.baskets.removeLine(caller.userId, basketId, productId, expectedVersion);
    const blocker = editBlocker((await this.get(caller, basketId)).status);
    if (blocker) throw blocker;
    const product = await this.catalogue.find(productId, upstream);
    return this.baskets.putLine(
      caller.userId,
      basketId,
      { productId, productName: product.name, quantity, netUnitMinor: product.netUnitMinor, vatBasisPoints: product.vatBasisPoints },
      expectedVersion,
    );
  }

  removeItem(caller: Caller, basketId: string, productId: string, expectedVersion?: number): Promise<Basket> {
    return this.baskets.removeLine(caller.userId, basketId, productId, expectedVersion);
  }

  discard(caller: Caller, basketId: string, expectedVersion?: number): Promise<void> {
    return this.baskets.discard(caller.userId, basketId, expectedVersion);
  }
}
