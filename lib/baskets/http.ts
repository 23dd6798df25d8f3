import { basisPointsToRate } from '../domain/vat';
import type { Reply } from '../http/reply';
import { priceBasket, type Basket } from './basket';
import type { BasketView } from './schemas';

/** A basket reply with its version as ETag, for the next write's If-Match. */
export function basketReply(basket: Basket, status = 200): Reply {
  return { status, body: basketView(basket), headers: { etag: `"${basket.version}"` } };
}

/** The basket as our API shows it; money in integer minor units. */
export function basketView(basket: Basket): BasketView {
  const priced = priceBasket(basket.lines);
  return {
    id: basket.id,
    status: basket.status,
    version: basket.version,
    createdAt: basket.createdAt.toISOString(),
    updatedAt: basket.updatedAt.toISOString(),
    lines: priced.lines.map((line) => ({
      productId: line.productId,
      name: line.productName,
      quantity: line.quantity,
      unitNetPrice: line.netUnitMinor,
      vatRate: basisPointsToRate(line.vatBasisPoints),
      net: line.net,
      vat: line.vat,
      gross: line.gross,
    })),
    vatBreakdown: priced.vatBreakdown.map((group) => ({
      vatRate: basisPointsToRate(group.vatBasisPoints),
      net: group.net,
      vat: group.vat,
      gross: group.gross,
    })),
    totals: priced.totals,
  };
}
