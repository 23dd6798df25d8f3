/**
 * Money is integer minor units (øre/cents) everywhere inside the service.
 * Decimal main-unit amounts exist only at the upstream boundary, converted
 * here from their decimal text so 12.35 becomes 1235, never 1234.9999.
 */

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** The shortest decimal text of a number, without exponent notation. */
function decimalText(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`Not a finite amount: ${value}`);
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(20).replace(/0+$/, '').replace(/\.$/, '') : text;
}

/** Scales a decimal to an integer with `places` decimals, rounding half up (away from zero). */
export function scaleDecimal(value: number | string, places: number): number {
  const text = typeof value === 'number' ? decimalText(value) : value.trim();
  const match = DECIMAL.exec(text);
  if (!match) throw new RangeError(`Not a decimal amount: ${text}`);
  const [, sign, whole, fraction = ''] = match;
  const kept = (fraction + '0'.repeat(places)).slice(0, places);
  const roundUp = fraction.length > places && fraction.charCodeAt(places) >= '5'.charCodeAt(0);
  const magnitude = Number(whole) * 10 ** places + Number(kept || '0') + (roundUp ? 1 : 0);
  if (!Number.isSafeInteger(magnitude)) throw new RangeError(`Amount out of range: ${text}`);
  return sign === '-' && magnitude !== 0 ? -magnitude : magnitude;
}

export const MINOR_UNITS_PER_MAIN = 100;

export function toMinorUnits(mainUnits: number | string): number {
  return scaleDecimal(mainUnits, 2);
}

/** Minor units to the decimal number the upstream expects (1235 → 12.35). */
export function toMainUnits(minorUnits: number): number {
  assertMinorUnits(minorUnits);
  return Number((minorUnits / MINOR_UNITS_PER_MAIN).toFixed(2));
}

export function assertMinorUnits(value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`Minor units must be a safe integer, got ${value}`);
}
