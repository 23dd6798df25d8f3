import { AppError } from '../errors';
import { grossMinorUnits } from '../domain/vat';

export type BasketStatus = 'open' | 'locked' | 'closed' | 'discarded';

export interface BasketLine {
  productId: string;
  productName: string;
  quantity: number;
  netUnitMinor: number;
  vatBasisPoints: number;
}

export interface Basket {
  id: string;
  ownerId: string;
  status: BasketStatus;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  lines: BasketLine[];
}

export const MAX_QUANTITY = 999;

export interface PricedLine extends BasketLine {
  net: number;
  vat: number;
  gross: number;
}

export interface Amounts {
  net: number;
  vat: number;
  gross: number;
}

export interface VatGroup extends Amounts {
  vatBasisPoints: number;
}

export interface PricedBasket {
  lines: PricedLine[];
  vatBreakdown: VatGroup[];
  totals: Amounts;
}

/**
 * Prices a basket from its snapshotted lines: each line's gross is rounded
 * once (round-half-up of net × quantity × (1 + VAT)); VAT is gross − net; the
 * total is the sum of the lines, so the breakdown always adds up to it.
 */
export function priceBasket(lines: readonly BasketLine[]): PricedBasket {
  const priced = lines.map((line) => {
    const net = line.netUnitMinor * line.quantity;
    const gross = lineGross(line);
    return { ...line, net, gross, vat: gross - net };
  });
  const groups = new Map<number, VatGroup>();
  for (const line of priced) {
    const group = groups.get(line.vatBasisPoints) ?? { vatBasisPoints: line.vatBasisPoints, net: 0, vat: 0, gross: 0 };
    group.net += line.net;
    group.vat += line.vat;
    group.gross += line.gross;
    groups.set(line.vatBasisPoints, group);
  }
  const vatBreakdown = [...groups.values()].sort((a, b) => b.vatBasisPoints - a.vatBasisPoints);
  const totals = vatBreakdown.reduce((sum, g) => ({ net: sum.net + g.net, vat: sum.vat + g.vat, gross: sum.gross + g.gross }), {
    net: 0,
    vat: 0,
    gross: 0,
  });
  return { lines: priced, vatBreakdown, totals };
}

/** A line's gross, rounded once; stored with the line, and the basket's total is the sum of its lines' (priceBasket). */
export function lineGross(line: BasketLine): number {
  return grossMinorUnits(line.netUnitMinor, line.quantity, line.vatBasisPoints);
}

/** Why a basket in this status cannot be edited, or nothing when it can. */
export function editBlocker(status: BasketStatus): AppError | undefined {
  switch (status) {
    case 'open':
      return undefined;
    case 'locked':
      return new AppError('BASKET_LOCKED', 'An order for this basket is in progress');
    case 'closed':
      return new AppError('BASKET_CLOSED', 'This basket has been ordered and is closed');
    case 'discarded':
      return new AppError('BASKET_NOT_FOUND', 'Basket not found');
  }
}

/** Why a guarded basket write matched no row: not found, not editable, or a stale version. */
export function basketWriteRefusal(current: { status: BasketStatus; version: number } | undefined, expectedVersion?: number): AppError {
  if (!current) return new AppError('BASKET_NOT_FOUND', 'Basket not found');
  const blocker = editBlocker(current.status);
  if (blocker) return blocker;
  return new AppError('VERSION_MISMATCH', `The basket is at version ${current.version}, not ${expectedVersion}`, {
    extra: { currentVersion: current.version },
  });
}
