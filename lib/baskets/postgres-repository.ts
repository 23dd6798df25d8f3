import type { Clock } from '../clock';
import { sqlNow } from '../db/now';
import { decodeCursor, keysetPage } from '../db/cursor';
import type { Sql } from '../db/sql';
import { basketWriteRefusal, lineGross, type Basket, type BasketLine, type BasketStatus } from './basket';
import { basketState, writableBasket } from './guard';
import type { BasketPage, BasketRepository } from './repository';

interface BasketRow {
  id: string;
  owner_id: string;
  status: BasketStatus;
  version: number;
  created_at: Date;
  updated_at: Date;
}

interface LineRow {
  product_id: string;
  product_name: string;
  quantity: number;
  net_unit_minor: number;
  vat_basis_points: number;
}

type Tx = Sql;

function toLine(row: LineRow): BasketLine {
  return {
    productId: row.product_id,
    productName: row.product_name,
    quantity: row.quantity,
    netUnitMinor: row.net_unit_minor,
    vatBasisPoints: row.vat_basis_points,
  };
}

function toBasket(row: BasketRow, lines: LineRow[]): Basket {
  return {
    id: row.id,
    ownerId: row.owner_id,
    status: row.status,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lines: lines.map(toLine),
  };
}

export class PostgresBasketRepository implements BasketRepository {
  constructor(
    private readonly sql: Sql,
    private readonly clock?: Clock,
  ) {}

  private now() {
    return sqlNow(this.sql, this.clock);
  }

  async create(ownerId: string, basketId: string): Promise<Basket> {
    const [row] = await this.sql<BasketRow[]>`
      insert into baskets (id, owner_id) values (${basketId}, ${ownerId})
      returning id, owner_id, status, version, created_at, updated_at`;
    return toBasket(row, []);
  }

  /** One statement: the basket and its lines (a basket without lines comes back as one row without a line). */
  async find(ownerId: string, basketId: string): Promise<Basket | undefined> {
    const rows = await this.sql<(BasketRow & Partial<LineRow>)[]>`
      select b.id, b.owner_id, b.status, b.version, b.created_at, b.updated_at,
             l.product_id, l.product_name, l.quantity, l.net_unit_minor, l.vat_basis_points
      from baskets b left join basket_lines l on l.basket_id = b.id
      where b.id = ${basketId} and b.owner_id = ${ownerId} and b.status <> 'discarded'
      order by l.created_at, l.product_id`;
    if (rows.length === 0) return undefined;
    return toBasket(
      rows[0],
      rows.filter((row): row is BasketRow & LineRow => row.product_id != null),
    );
  }

  async listOpen(ownerId: string, page: { limit: number; after?: string }): Promise<BasketPage> {
    const [afterCreatedAt, afterId] = page.after ? decodeCursor(page.after) : [null, null];
    const rows = await this.sql<(BasketRow & { created_at_text: string })[]>`
      select id, owner_id, status, version, created_at, updated_at, created_at::text as created_at_text
      from baskets
      where owner_id = ${ownerId} and status = 'open'
        -- The cursor's time goes in as text: a timestamptz parameter would pass through a JS Date and lose its microseconds.
        and (${afterCreatedAt}::text is null or (created_at, id) < (${afterCreatedAt}::text::timestamptz, ${afterId}::uuid))
      order by created_at desc, id desc
      limit ${page.limit + 1}`;
    const { shown: pageRows, nextCursor } = keysetPage(rows, page.limit);
    const lines = pageRows.length
      ? await this.sql<(LineRow & { basket_id: string })[]>`
          select basket_id, product_id, product_name, quantity, net_unit_minor, vat_basis_points from basket_lines
          where basket_id in ${this.sql(pageRows.map((r) => r.id))} order by created_at, product_id`
      : [];
    return {
      baskets: pageRows.map((row) =>
        toBasket(
          row,
          lines.filter((line) => line.basket_id === row.id),
        ),
      ),
      nextCursor,
    };
  }

  putLine(ownerId: string, basketId: string, line: BasketLine, expectedVersion?: number): Promise<Basket> {
    if (line.quantity === 0) return this.removeLine(ownerId, basketId, line.productId, expectedVersion);
    return this.guardedWrite(ownerId, basketId, expectedVersion, async (tx) => {
      await tx`
        insert into basket_lines (basket_id, product_id, product_name, quantity, net_unit_minor, vat_basis_points, gross_minor)
        values (${basketId}, ${line.productId}, ${line.productName}, ${line.quantity}, ${line.netUnitMinor}, ${line.vatBasisPoints}, ${lineGross(line)})
        on conflict (basket_id, product_id) do update set
          product_name = excluded.product_name,
          quantity = excluded.quantity,
          net_unit_minor = excluded.net_unit_minor,
          vat_basis_points = excluded.vat_basis_points,
          gross_minor = excluded.gross_minor,
          updated_at = ${this.now()}`;
    });
  }

  removeLine(ownerId: string, basketId: string, productId: string, expectedVersion?: number): Promise<Basket> {
    return this.guardedWrite(ownerId, basketId, expectedVersion, async (tx) => {
      await tx`delete from basket_lines where basket_id = ${basketId} and product_id = ${productId}`;
    });
  }

  async discard(ownerId: string, basketId: string, expectedVersion?: number): Promise<void> {
    const rows = await this.sql`
      update baskets set status = 'discarded', version = version + 1, updated_at = ${this.now()}
      where ${writableBasket(this.sql, ownerId, basketId, expectedVersion)}
      returning id`;
    if (rows.length > 0) return;
    const current = await basketState(this.sql, ownerId, basketId);
    if (current?.status === 'discarded') return; // discarding twice is not an error
    throw basketWriteRefusal(current, expectedVersion);
  }

  /**
   * One transaction: the conditional version bump takes the basket's row lock
   * (so concurrent writes to a basket queue up instead of losing updates),
   * then the line change runs, then one statement stores the basket's total
   * and line count (what opening an order locks it at) and reads the lines back.
   */
  private guardedWrite(
    ownerId: string,
    basketId: string,
    expectedVersion: number | undefined,
    change: (tx: Tx) => Promise<void>,
  ): Promise<Basket> {
    return this.sql.begin(async (tx) => {
      const [row] = await tx<BasketRow[]>`
        update baskets set version = version + 1, updated_at = ${this.now()}
        where ${writableBasket(tx, ownerId, basketId, expectedVersion)}
        returning id, owner_id, status, version, created_at, updated_at`;
      if (!row) throw basketWriteRefusal(await basketState(tx, ownerId, basketId), expectedVersion);
      await change(tx as unknown as Tx);
      return toBasket(row, await this.totalAndLines(tx as unknown as Tx, basketId));
    });
  }

  private totalAndLines(sql: Tx, basketId: string): Promise<LineRow[]> {
    return sql<LineRow[]>`
      with totalled as (
        update baskets set (total_minor, line_count) = (select coalesce(sum(gross_minor), 0), count(*) from basket_lines where basket_id = ${basketId})
        where id = ${basketId}
      )
      select product_id, product_name, quantity, net_unit_minor, vat_basis_points
      from basket_lines where basket_id = ${basketId} order by created_at, product_id`;
  }
}
