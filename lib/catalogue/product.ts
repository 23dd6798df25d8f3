import { toMinorUnits } from '../domain/money';
import { basisPointsToRate, grossMinorUnits, vatRateToBasisPoints } from '../domain/vat';
import type { UpstreamProduct } from '../upstream/pos-api';
import type { ProductView } from './schemas';

export interface Product {
  id: string;
  name: string;
  vatBasisPoints: number;
  netUnitMinor: number;
}

export function productFromUpstream(upstream: UpstreamProduct): Product {
  return {
    id: upstream.id,
    name: upstream.name,
    vatBasisPoints: vatRateToBasisPoints(upstream.vat_rate),
    netUnitMinor: toMinorUnits(upstream.price_unit),
  };
}

/** The product as our API shows it: prices in integer minor units, net and gross. */
export function productView(product: Product): ProductView {
  return {
    id: product.id,
    name: product.name,
    vatRate: basisPointsToRate(product.vatBasisPoints),
    netPrice: product.netUnitMinor,
    grossPrice: grossMinorUnits(product.netUnitMinor, 1, product.vatBasisPoints),
  };
}
