import type { Basket, BasketLine } from './basket';

export interface BasketPage {
  baskets: Basket[];
  /** Pass as `after` to get the next page; absent on the last page. */
  nextCursor?: string;
}

/**
 * Persistence of baskets. Every write is guarded in the database (status,
 * owner and, when given, the expected version) and bumps the version; a write
 * that its guard refuses throws the AppError that says why.
 */
export interface BasketRepository {
  create(ownerId: string, basketId: string): Promise<Basket>;
  /** The caller's basket, or undefined when it does not exist, is another user's or was discarded. */
  find(ownerId: string, basketId: string): Promise<Basket | undefined>;
  listOpen(ownerId: string, page: { limit: number; after?: string }): Promise<BasketPage>;
  /** Sets a line (snapshotting its price) or, with quantity 0, removes it. */
  putLine(ownerId: string, basketId: string, line: BasketLine, expectedVersion?: number): Promise<Basket>;
  removeLine(ownerId: string, basketId: string, productId: string, expectedVersion?: number): Promise<Basket>;
  discard(ownerId: string, basketId: string, expectedVersion?: number): Promise<void>;
}
