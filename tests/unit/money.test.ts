import { toMainUnits, toMinorUnits } from '../../lib/domain/money';
import { grossMinorUnits, vatRateToBasisPoints } from '../../lib/domain/vat';

describe('converting upstream decimal prices to minor units', () => {
  it.each([
    [12.35, 1235],
    [0.1 + 0.2, 30], // 0.30000000000000004 rounds to 30, not 31
    [7.77, 777],
    [1.005, 101], // the decimal 1.005 rounds half up, though the double is 1.00499…
    [17.33, 1733],
    [0.2, 20],
    [0, 0],
    [1e-7, 0],
    [123456.78, 12345678],
    ['12.345', 1235],
    ['-2.50', -250],
  ])('%p becomes %p', (decimal, minor) => {
    expect(toMinorUnits(decimal)).toBe(minor);
  });

  it('refuses what is not a finite decimal', () => {
    expect(() => toMinorUnits(Number.NaN)).toThrow(RangeError);
    expect(() => toMinorUnits(Infinity)).toThrow(RangeError);
    expect(() => toMinorUnits('12,50')).toThrow(RangeError);
  });

  it.each([
    [1235, 12.35],
    [30, 0.3],
    [1, 0.01],
    [100000, 1000],
  ])('%p minor units are sent upstream as %p', (minor, main) => {
    expect(toMainUnits(minor)).toBe(main);
  });

  it('refuses fractional minor units', () => {
    expect(() => toMainUnits(12.5)).toThrow(RangeError);
  });
});

describe('line gross with VAT', () => {
  it.each([
    // net minor, quantity, VAT rate, gross minor
    [1200, 1, 0.2, 1440],
    [777, 1, 0.05, 816], // 815.85 → 816
    [777, 3, 0.05, 2448], // 2447.55 → 2448: rounded once per line, not per unit
    [202, 1, 0.03, 208], // 208.06 → 208
    [20, 1, 0.1, 22],
    [1733, 7, 0.3, 15770], // 15770.3 → 15770
    [250, 2, 0.12, 560],
    [5, 1, 0.1, 6], // 5.5 rounds half up → 6
    [15, 1, 0.1, 17], // 16.5 → 17
    [999999, 999, 0.25, 1248748751], // 1248748751.25, exact in integers
    [0, 5, 0.25, 0],
  ])('%p × %p at %p VAT is %p', (net, quantity, rate, gross) => {
    expect(grossMinorUnits(net, quantity, vatRateToBasisPoints(rate))).toBe(gross);
  });

  it('keeps VAT rates as exact basis points', () => {
    expect(vatRateToBasisPoints(0.25)).toBe(2500);
    expect(vatRateToBasisPoints(0.12)).toBe(1200);
    expect(vatRateToBasisPoints(0.07 + 0.05)).toBe(1200);
    expect(() => vatRateToBasisPoints(1.5)).toThrow(RangeError);
  });
});
