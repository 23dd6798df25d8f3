import { AppError } from '../errors';

/**
 * Keyset pagination, newest first, by (created_at, id). The time travels as
 * Postgres' own text (`created_at::text`): a timestamptz parameter would pass
 * through a JS Date and lose its microseconds, skipping rows on the next page.
 */
export function encodeCursor(createdAtText: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAtText, id])).toString('base64url');
}

/** [created_at as text, id] of the last row of the previous page; 422 for anything else. */
export function decodeCursor(cursor: string): [string, string] {
  try {
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 2 && decoded.every((part) => typeof part === 'string')) {
      return decoded as [string, string];
    }
  } catch {
    // falls through to the validation error
  }
  throw new AppError('VALIDATION_FAILED', 'The request is not valid', { details: [{ path: 'query.after', message: 'Unknown cursor' }] });
}

/** One page from the `limit + 1` rows a keyset query read: the extra row only says there is a next page. */
export function keysetPage<R extends { id: string; created_at_text: string }>(rows: readonly R[], limit: number): { shown: R[]; nextCursor?: string } {
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  return { shown, nextCursor: rows.length > limit && last ? encodeCursor(last.created_at_text, last.id) : undefined };
}
