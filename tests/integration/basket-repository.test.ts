import { randomUUID } from 'node:crypto';
import { PostgresBasketRepository } from '../../lib/baskets/postgres-repository';
import type { PostgresSql } from '../../lib/db/sql';
import type { BasketLine } from '../../lib/baskets/basket';
import { adminDb, drivers, suiteClients } from '../support/drivers';

const owner = () => `owner-${randomUUID()}@example.com`;
const pizza = (quantity: number): BasketLine => ({
  productId: 'pizza',
  productName: 'Pizza',
  quantity,
  netUnitMinor: 1200,
  vatBasisPoints: 2000,
});

describe.each(drivers)('PostgresBasketRepository against a real Postgres ($name)', (driver) => {
  const { sql, admin } = suiteClients(driver, { max: 20 });
  const repo = new PostgresBasketRepository(sql);

  it('creates, reads, changes and removes lines, bumping the version on every write', async () => {
    const user = owner();
    const created = await repo.create(user, randomUUID());

    const withLine = await repo.putLine(user, created.id, pizza(2));
    const changed = await repo.putLine(user, created.id, { ...pizza(5), netUnitMinor: 1250 });
    const removed = await repo.removeLine(user, created.id, 'pizza');

    expect(created).toMatchObject({ status: 'open', version: 1, lines: [] });
    expect(withLine.version).toBe(2);
    expect(changed).toMatchObject({ version: 3, lines: [{ productId: 'pizza', quantity: 5, netUnitMinor: 1250 }] });
    expect(removed).toMatchObject({ version: 4, lines: [] });
    expect(await repo.find(user, created.id)).toMatchObject({ version: 4, lines: [] });
  });

  it('hides another owner’s basket', async () => {
    const basket = await repo.create(owner(), randomUUID());

    expect(await repo.find(owner(), basket.id)).toBeUndefined();
    await expect(repo.putLine(owner(), basket.id, pizza(1))).rejects.toMatchObject({ code: 'BASKET_NOT_FOUND' });
    await expect(repo.discard(owner(), basket.id)).rejects.toMatchObject({ code: 'BASKET_NOT_FOUND' });
  });

  it('refuses a write with a stale version and leaves the basket as it was', async () => {
    const user = owner();
    const basket = await repo.create(user, randomUUID());
    await repo.putLine(user, basket.id, pizza(1), 1);

    await expect(repo.putLine(user, basket.id, pizza(9), 1)).rejects.toMatchObject({
      code: 'VERSION_MISMATCH',
      extra: { currentVersion: 2 },
    });
    expect(await repo.find(user, basket.id)).toMatchObject({ version: 2, lines: [{ quantity: 1 }] });
  });

  it('loses no update when 50 PUTs race on one line from parallel connections', async () => {
    const user = owner();
    const basket = await repo.create(user, randomUUID());
    const quantities = Array.from({ length: 50 }, (_, i) => i + 1);

    const results = await Promise.all(quantities.map((q) => repo.putLine(user, basket.id, pizza(q))));

    const versions = results.map((r) => r.version).sort((a, b) => a - b);
    expect(versions).toEqual(quantities.map((q) => q + 1)); // every write got its own version: 2..51
    const last = results.find((r) => r.version === 51)!;
    const stored = await repo.find(user, basket.id);
    expect(stored).toMatchObject({ version: 51, lines: [{ quantity: last.lines[0].quantity }] });
  });

  it('lets exactly one of 20 racing writers with the same If-Match win', async () => {
    const user = owner();
    const basket = await repo.create(user, randomUUID());

    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => repo.putLine(user, basket.id, pizza(i + 1), 1)));

    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(refused.every((o) => o.reason.code === 'VERSION_MISMATCH')).toBe(true);
    expect((await repo.find(user, basket.id))!.version).toBe(2);
  });

  it('refuses edits to locked and closed baskets', async () => {
    const user = owner();
    const locked = await repo.create(user, randomUUID());
    const closed = await repo.create(user, randomUUID());
    await admin`update baskets set status = 'locked' where id = ${locked.id}`;
    await admin`update baskets set status = 'closed' where id = ${closed.id}`;

    await expect(repo.putLine(user, locked.id, pizza(1))).rejects.toMatchObject({ code: 'BASKET_LOCKED' });
    await expect(repo.removeLine(user, closed.id, 'pizza')).rejects.toMatchObject({ code: 'BASKET_CLOSED' });
    await expect(repo.discard(user, locked.id)).rejects.toMatchObject({ code: 'BASKET_LOCKED' });
  });

  it('discards an open basket once, and discarding again is not an error', async () => {
    const user = owner();
    const basket = await repo.create(user, randomUUID());

    await repo.discard(user, basket.id);
    await repo.discard(user, basket.id);

    expect(await repo.find(user, basket.id)).toBeUndefined();
    const [row] = await admin`select status from baskets where id = ${basket.id}`;
    expect(row.status).toBe('discarded');
  });

  it('lists open baskets newest first, a page at a time', async () => {
    const user = owner();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await repo.create(user, randomUUID())).id);
    await repo.discard(user, ids[2]);

    const first = await repo.listOpen(user, { limit: 2 });
    const second = await repo.listOpen(user, { limit: 2, after: first.nextCursor });

    expect(first.baskets.map((b) => b.id)).toEqual([ids[4], ids[3]]);
    expect(second.baskets.map((b) => b.id)).toEqual([ids[1], ids[0]]);
    expect(second.nextCursor).toBeUndefined();
  });
});

/** The schema's own rules, whatever the driver: checked once, through postgres.js. */
describe('basket constraints reject bad rows', () => {
  let sql: PostgresSql;
  let basketId: string;
  beforeAll(async () => {
    sql = adminDb();
    basketId = (await new PostgresBasketRepository(sql).create(owner(), randomUUID())).id;
  });
  afterAll(() => sql.end());

  it.each([
    ['a zero quantity', { quantity: 0 }],
    ['a quantity over 999', { quantity: 1000 }],
    ['a negative price', { net_unit_minor: -1 }],
    ['a VAT rate over 100 %', { vat_basis_points: 10001 }],
    ['an empty product id', { product_id: '' }],
  ])('%s', async (_, override) => {
    const row = {
      basket_id: basketId,
      product_id: `p-${randomUUID()}`,
      product_name: 'x',
      quantity: 1,
      net_unit_minor: 100,
      vat_basis_points: 2500,
      gross_minor: 125,
      ...override,
    };
    await expect(sql`insert into basket_lines ${sql(row)}`).rejects.toMatchObject({ code: '23514' });
  });

  it('one line per product per basket', async () => {
    const row = {
      basket_id: basketId,
      product_id: 'dup',
      product_name: 'x',
      quantity: 1,
      net_unit_minor: 100,
      vat_basis_points: 2500,
      gross_minor: 125,
    };
    await sql`insert into basket_lines ${sql(row)}`;
    await expect(sql`insert into basket_lines ${sql(row)}`).rejects.toMatchObject({ code: '23505' });
  });

  it('an unknown basket status', async () => {
    await expect(sql`update baskets set status = 'lost' where id = ${basketId}`).rejects.toMatchObject({ code: '23514' });
  });
});
