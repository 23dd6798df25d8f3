import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { PostgresBasketRepository } from '../../lib/baskets/postgres-repository';
import { encodeCursor } from '../../lib/db/cursor';
import { AppError } from '../../lib/errors';
import { PostgresOrderRepository } from '../../lib/orders/postgres-repository';
import { drivers, suiteClients } from '../support/drivers';

/**
 * A page cursor comes back from the caller: whatever it holds, the list
 * answers a page or 422 VALIDATION_FAILED, never a database error (a 500).
 * Cursors are generated around the real shape (base64url JSON of a Postgres
 * timestamp text and a uuid) so most of them reach the query.
 */
const asCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const nearTimestamp = fc.oneof(
  fc
    .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
    .map((d) => d.toISOString().replace('T', ' ').replace('Z', '+00')),
  fc
    .tuple(
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 0, max: 13 }),
      fc.integer({ min: 0, max: 32 }),
      fc.integer({ min: 0, max: 25 }),
      fc.integer({ min: 0, max: 61 }),
      fc.integer({ min: 0, max: 16 }),
    )
    .map(
      ([y, mo, d, h, mi, off]) =>
        `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')} ${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:00.5+${String(off).padStart(2, '0')}`,
    ),
  fc.constantFrom(
    '9999-99-99',
    '',
    'infinity',
    '-infinity',
    'epoch',
    'now',
    '2026-12-02 14:00:00+00',
    '2026-02-29 00:00:00+00',
    '2024-02-29 00:00:00+05:30',
    '2026-12-02 14:00:00',
  ),
  fc.string(),
);
const nearUuid = fc.oneof(fc.uuid(), fc.constantFrom('not-a-uuid', '', '00000000-0000-0000-0000-000000000000'), fc.string());
const cursor = fc.oneof(
  fc.tuple(nearTimestamp, nearUuid).map(asCursor),
  fc.jsonValue().map(asCursor),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }).map((s) => Buffer.from(s).toString('base64url')),
);

describe.each(drivers)('page cursors as callers send them back ($name)', (driver) => {
  const { sql } = suiteClients(driver, { max: 2 });
  const baskets = new PostgresBasketRepository(sql);
  const orders = new PostgresOrderRepository(sql);
  const owner = `cursor-${randomUUID()}@example.com`;

  const pageOrRefusal = async (list: () => Promise<unknown>) => {
    try {
      await list();
      return 'page';
    } catch (error) {
      if (error instanceof AppError && error.code === 'VALIDATION_FAILED') return 'refused';
      throw error;
    }
  };

  it('answers a page or VALIDATION_FAILED for any cursor, on every list', async () => {
    const seen = { page: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(cursor, async (after) => {
        for (const list of [
          () => baskets.listOpen(owner, { limit: 2, after }),
          () => orders.listForOwner(owner, { limit: 2, after }),
          () => orders.listNeedingAttention({ limit: 2, after, stuckAfterMs: 60_000 }),
        ]) {
          seen[await pageOrRefusal(list)]++;
        }
      }),
      { seed: 20261203, numRuns: driver.name === 'postgres.js' ? 300 : 60 },
    );
    // Both kinds occur: the generator reaches the query, not only the decoder.
    expect(seen.page).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });

  it('refuses the tampered cursors of the bug report with 422, and still accepts its own', async () => {
    for (const tampered of [
      ['9999-99-99', 'x'],
      ['2026-12-02 14:00:00+00', 'not-a-uuid'],
      ['', ''],
      ['2026-02-30 10:00:00+00', randomUUID()],
      ['0000-01-01 00:00:00+00', randomUUID()],
    ]) {
      await expect(baskets.listOpen(owner, { limit: 2, after: asCursor(tampered) })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(orders.listForOwner(owner, { limit: 2, after: asCursor(tampered) })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    }
    await expect(
      baskets.listOpen(owner, { limit: 2, after: encodeCursor('2026-12-02 14:00:00.123456+00', randomUUID()) }),
    ).resolves.toMatchObject({ baskets: [] });
  });
});
