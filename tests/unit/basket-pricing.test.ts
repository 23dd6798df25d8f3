import { editBlocker, priceBasket, type BasketLine } from '../../lib/baskets/basket';
import { basketView } from '../../lib/baskets/http';

const line = (productId: string, netUnitMinor: number, quantity: number, vatRate: number): BasketLine => ({
  productId,
  productName: productId,
  quantity,
  netUnitMinor,
  vatBasisPoints: Math.round(vatRate * 10000),
});

describe('pricing a basket', () => {
  it('is empty and zero without lines', () => {
    expect(priceBasket([])).toEqual({ lines: [], vatBreakdown: [], totals: { net: 0, vat: 0, gross: 0 } });
  });

  it('rounds each line once and sums lines into the total', () => {
    const priced = priceBasket([line('sandwich', 777, 3, 0.05), line('water', 202, 1, 0.03)]);

    expect(priced.lines.map((l) => [l.net, l.vat, l.gross])).toEqual([
      [2331, 117, 2448], // 2447.55 → 2448
      [202, 6, 208], // 208.06 → 208
    ]);
    expect(priced.totals).toEqual({ net: 2533, vat: 123, gross: 2656 });
  });

  it('groups VAT per rate, highest first, and the groups add up to the totals', () => {
    const priced = priceBasket([
      line('beer', 520, 2, 0.25),
      line('tea', 250, 3, 0.12),
      line('burger', 1340, 1, 0.25),
      line('salt', 20, 9, 0.1),
    ]);

    expect(priced.vatBreakdown).toEqual([
      { vatBasisPoints: 2500, net: 2380, vat: 595, gross: 2975 },
      { vatBasisPoints: 1200, net: 750, vat: 90, gross: 840 },
      { vatBasisPoints: 1000, net: 180, vat: 18, gross: 198 },
    ]);
    const sum = priced.vatBreakdown.reduce((s, g) => s + g.gross, 0);
    expect(sum).toBe(priced.totals.gross);
    expect(priced.totals.net + priced.totals.vat).toBe(priced.totals.gross);
  });

  it('stays exact for many lines of mixed rates', () => {
    const lines = Array.from({ length: 200 }, (_, i) =>
      line(`p${i}`, 1 + ((i * 7919) % 5000), 1 + (i % 999), [0, 0.03, 0.05, 0.12, 0.25][i % 5]),
    );

    const priced = priceBasket(lines);

    expect(Number.isSafeInteger(priced.totals.gross)).toBe(true);
    expect(priced.totals.gross).toBe(priced.lines.reduce((s, l) => s + l.gross, 0));
    expect(priced.totals.vat).toBe(priced.totals.gross - priced.totals.net);
  });

  it('shows rates as fractions and money as minor units in the view', () => {
    const view = basketView({
      id: 'b',
      ownerId: 'o',
      status: 'open',
      version: 2,
      createdAt: new Date(0),
      updatedAt: new Date(0),
      lines: [line('pizza', 1200, 2, 0.2)],
    });

    expect(view.lines[0]).toEqual({
      productId: 'pizza',
      name: 'pizza',
      quantity: 2,
      unitNetPrice: 1200,
      vatRate: 0.2,
      net: 2400,
      vat: 480,
      gross: 2880,
    });
    expect(view.vatBreakdown).toEqual([{ vatRate: 0.2, net: 2400, vat: 480, gross: 2880 }]);
    expect(view.totals.gross).toBe(2880);
  });
});

describe('which baskets can be edited', () => {
  it.each([
    ['open', undefined],
    ['locked', 'BASKET_LOCKED'],
    ['closed', 'BASKET_CLOSED'],
    ['discarded', 'BASKET_NOT_FOUND'],
  ] as const)('%s → %s', (status, code) => {
    expect(editBlocker(status)?.code).toBe(code);
  });
});
