import { AppError } from '../errors';

/**
 * Keyset pagination, newest first, by (created_at, id). The time travels as
 * Postgres' own text (`created_at::text`): a timestamptz parameter would pass
 * through a JS Date and lose its microseconds, skipping rows on the next page.
 */
export function encodeCursor(createdAtText: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAtText, id])).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Postgres' text for a timestamptz (DateStyle ISO): `2026-12-02 14:00:00.123456+00`, offsets to the second. */
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-](\d{2})(:\d{2}){0,2}$/;

const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/** Only a time Postgres accepts gets to the query: anything else would fail there, as a 500. */
function isTimestampText(value: unknown): value is string {
  const match = typeof value === 'string' ? TIMESTAMP_TEXT.exec(value) : null;
  if (!match) return false;
  const [year, month, day, hour, minute, second, , offsetHours] = match.slice(1).map(Number);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return (
    year >= 1 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHours <= 15
  );
}

/** [created_at as text, id] of the last row of the previous page; 422 for anything else. */
export function decodeCursor(cursor: string): [string, string] {
  try {
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 2 && isTimestampText(decoded[0]) && isUuid(decoded[1])) {
      return decoded as [string, string];
    }
  } catch {
    // falls through to the validation error
  }
  throw new AppError('VALIDATION_FAILED', 'The request is not valid', { details: [{ path: 'query.after', message: 'Unknown cursor' }] });
}

/** One page from the `limit + 1` rows a keyset query read: the extra row only says there is a next page. */
export function keysetPage<R extends { id: string; created_at_text: string }>(
  rows: readonly R[],
  limit: number,
): { shown: R[]; nextCursor?: string } {
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  return { shown, nextCursor: rows.length > limit && last ? encodeCursor(last.created_at_text, last.id) : undefined };
}
