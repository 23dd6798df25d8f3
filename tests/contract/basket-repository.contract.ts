/**
 * The BasketRepository port's contract, as the use-cases rely on it: declared
 * once, run against the in-memory fake (tests/unit/repository-contract.test.ts)
 * and the Postgres adapter on both drivers (tests/integration/repository-contract.test.ts),
 * so the fake cannot drift from what production runs. Where they disagree the
 * Postgres adapter is the truth.
 *
 * Left out: listOpen and discard (the fake does not implement them: checkout
 * does not use them; tests/integration/basket-repository.test.ts covers them).
 * Locking, reopening and closing a basket belong to the orders port: see
 * tests/contract/order-repository.contract.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Basket, BasketLine } from '../../lib/baskets/basket';
import type { BasketRepository } from '../../lib/baskets/repository';

export interface BasketContractSubject {
  baskets: BasketRepository;
  /** A fresh owner id: each case works on baskets of an owner of its own. */
  newOwner(): string;
}

const line = (productId: string, quantity: number, netUnitMinor: number, vatBasisPoints: number): BasketLine => ({
  productId,
  productName: `${productId} (name)`,
  quantity,
  netUnitMinor,
  vatBasisPoints,
});
const pizza = (quantity: number) => line('pizza', quantity, 1200, 2000);
const WATER = line('water', 1, 202, 300);
const BREAD = line('bread', 2, 350, 700);

export function basketRepositoryContract(name: string, makeSubject: () => Promise<BasketContractSubject>): void {
  describe(`${name} keeps the BasketRepository contract`, () => {
    let baskets: BasketRepository;
    let newOwner: () => string;
    beforeEach(async () => {
      ({ baskets, newOwner } = await makeSubject());
    });

    async function basketOf(lines: BasketLine[] = []): Promise<Basket> {
      const ownerId = newOwner();
      let basket = await baskets.create(ownerId, randomUUID());
      for (const each of lines) basket = await baskets.putLine(ownerId, basket.id, each);
      return basket;
    }

    describe('create and find', () => {
      it('creates an open, empty basket at version 1 that its owner, and only its owner, finds', async () => {
        const ownerId = newOwner();
        const basketId = randomUUID();

        const created = await baskets.create(ownerId, basketId);

        expect(created).toEqual({
          id: basketId,
          ownerId,
          status: 'open',
          version: 1,
          createdAt: expect.any(Date),
          updatedAt: expect.any(Date),
          lines: [],
        });
        expect(await baskets.find(ownerId, basketId)).toEqual(created);
        expect(await baskets.find(newOwner(), basketId)).toBeUndefined();
        expect(await baskets.find(ownerId, randomUUID())).toBeUndefined();
      });

      it('refuses a basket id already taken, and leaves the first basket as it was', async () => {
        const first = await basketOf([pizza(1)]);

        await expect(baskets.create(newOwner(), first.id)).rejects.toThrow();

        expect(await baskets.find(first.ownerId, first.id)).toEqual(first);
      });
    });

    describe('lines', () => {
      it('adds lines in order, replaces a line in place, and bumps the version on every write; each answer is what a later read sees', async () => {
        const ownerId = newOwner();
        const created = await baskets.create(ownerId, randomUUID());

        const one = await baskets.putLine(ownerId, created.id, pizza(2));
        const two = await baskets.putLine(ownerId, created.id, WATER);
        const three = await baskets.putLine(ownerId, created.id, { ...pizza(5), netUnitMinor: 1250, productName: 'Pizza, repriced' });

        expect(one).toMatchObject({ version: 2, status: 'open', lines: [pizza(2)] });
        expect(two).toMatchObject({ version: 3, lines: [pizza(2), WATER] });
        expect(three).toMatchObject({ version: 4, lines: [{ ...pizza(5), netUnitMinor: 1250, productName: 'Pizza, repriced' }, WATER] });
        expect(three.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
        expect(three.createdAt).toEqual(created.createdAt);
        expect(await baskets.find(ownerId, created.id)).toEqual(three);
      });

      it('removes a line (removeLine, or putLine with quantity 0), bumping the version even when the product was not in the basket', async () => {
        const basket = await basketOf([pizza(2), WATER, BREAD]);
        const { ownerId, id } = basket;

        const removed = await baskets.removeLine(ownerId, id, 'water');
        const zeroed = await baskets.putLine(ownerId, id, pizza(0));
        const absent = await baskets.removeLine(ownerId, id, 'never-added');

        expect(removed).toMatchObject({ version: basket.version + 1, lines: [pizza(2), BREAD] });
        expect(zeroed).toMatchObject({ version: basket.version + 2, lines: [BREAD] });
        expect(absent).toMatchObject({ version: basket.version + 3, lines: [BREAD] });
        expect(await baskets.find(ownerId, id)).toEqual(absent);
      });

      it('puts a removed product back at the end of the lines', async () => {
        const basket = await basketOf([pizza(2), WATER]);

        await baskets.removeLine(basket.ownerId, basket.id, 'pizza');
        const back = await baskets.putLine(basket.ownerId, basket.id, pizza(3));

        expect(back.lines).toEqual([WATER, pizza(3)]);
        expect((await baskets.find(basket.ownerId, basket.id))!.lines).toEqual([WATER, pizza(3)]);
      });

      it('hands out copies: changing a basket it answered changes nothing stored', async () => {
        const basket = await basketOf([pizza(2)]);
        const read = (await baskets.find(basket.ownerId, basket.id))!;

        read.lines[0].quantity = 99;
        read.lines.push(WATER);
        read.version = 42;
        basket.lines[0].quantity = 98;

        expect(await baskets.find(basket.ownerId, basket.id)).toMatchObject({ version: basket.version, lines: [pizza(2)] });
      });
    });

    describe('guards', () => {
      it('writes at the expected version (If-Match), and refuses a stale one with VERSION_MISMATCH, changing nothing', async () => {
        const basket = await basketOf([pizza(1)]);

        const matched = await baskets.putLine(basket.ownerId, basket.id, WATER, basket.version);
        await expect(baskets.putLine(basket.ownerId, basket.id, pizza(9), basket.version)).rejects.toMatchObject({
          code: 'VERSION_MISMATCH',
          extra: { currentVersion: matched.version },
        });
        await expect(baskets.removeLine(basket.ownerId, basket.id, 'pizza', basket.version)).rejects.toMatchObject({
          code: 'VERSION_MISMATCH',
          extra: { currentVersion: matched.version },
        });
        await expect(baskets.putLine(basket.ownerId, basket.id, pizza(9), matched.version + 1)).rejects.toMatchObject({
          code: 'VERSION_MISMATCH',
        });

        expect(matched).toMatchObject({ version: basket.version + 1, lines: [pizza(1), WATER] });
        expect(await baskets.find(basket.ownerId, basket.id)).toEqual(matched);
      });

      it('answers BASKET_NOT_FOUND for another owner’s basket and for one that does not exist, changing nothing', async () => {
        const basket = await basketOf([pizza(1)]);
        const stranger = newOwner();

        await expect(baskets.putLine(stranger, basket.id, WATER)).rejects.toMatchObject({ code: 'BASKET_NOT_FOUND' });
        await expect(baskets.removeLine(stranger, basket.id, 'pizza')).rejects.toMatchObject({ code: 'BASKET_NOT_FOUND' });
        await expect(baskets.putLine(stranger, basket.id, WATER, basket.version)).rejects.toMatchObject({ code: 'BASKET_NOT_FOUND' });
        await expect(baskets.putLine(basket.ownerId, randomUUID(), WATER)).rejects.toMatchObject({ code: 'BASKET_NOT_FOUND' });

        expect(await baskets.find(basket.ownerId, basket.id)).toEqual(basket);
      });
    });

    describe('concurrent writes', () => {
      it('lets exactly one of several writers with the same If-Match win; the others get VERSION_MISMATCH', async () => {
        const basket = await basketOf();

        const outcomes = await Promise.allSettled(
          Array.from({ length: 6 }, (_, i) => baskets.putLine(basket.ownerId, basket.id, pizza(i + 1), basket.version)),
        );

        const won = outcomes.filter((o): o is PromiseFulfilledResult<Basket> => o.status === 'fulfilled');
        const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(refused.map((o) => o.reason.code)).toEqual(Array(5).fill('VERSION_MISMATCH'));
        expect(await baskets.find(basket.ownerId, basket.id)).toEqual(won[0].value);
      });

      it('loses no write when several without If-Match race on one line: each gets a version of its own', async () => {
        const basket = await basketOf();
        const quantities = Array.from({ length: 6 }, (_, i) => i + 1);

        const results = await Promise.all(quantities.map((q) => baskets.putLine(basket.ownerId, basket.id, pizza(q))));

        expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(quantities.map((q) => basket.version + q));
        const last = results.find((r) => r.version === basket.version + quantities.length)!;
        expect(await baskets.find(basket.ownerId, basket.id)).toMatchObject({ version: last.version, lines: last.lines });
      });
    });
  });
}
