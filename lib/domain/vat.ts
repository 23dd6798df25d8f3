import { assertMinorUnits, scaleDecimal } from './money';

/** VAT rates are kept in basis points (0.25 → 2500) so rate arithmetic stays in integers. */
export const BASIS_POINTS = 10_000;

export function vatRateToBasisPoints(rate: number | string): number {
  const basisPoints = scaleDecimal(rate, 4);
  if (basisPoints < 0 || basisPoints > BASIS_POINTS) throw new RangeError(`VAT rate out of range: ${rate}`);
  return basisPoints;
}

export function basisPointsToRate(basisPoints: number): number {
  return basisPoints / BASIS_POINTS;
}

/** round-half-up(net × quantity × (1 + rate)), computed exactly in integers. */
export function grossMinorUnits(netUnitMinor: number, quantity: number, vatBasisPoints: number): number {
  assertMinorUnits(netUnitMinor);
  const scaled = BigInt(netUnitMinor) * BigInt(quantity) * BigInt(BASIS_POINTS + vatBasisPoints);
  const half = BigInt(BASIS_POINTS / 2);
  const rounded = scaled >= 0n ? (scaled + half) / BigInt(BASIS_POINTS) : -((-scaled + half) / BigInt(BASIS_POINTS));
  return Number(rounded);
}
