import { createHash } from 'node:crypto';

/**
 * sha256 hex of the request as canonical JSON: the same method, route, path
 * parameters and body give the same hash whatever order the caller wrote the
 * body's keys in (and no body is the same as a null body), so a retry is
 * recognised and any other request is not.
 */
export function requestHash(parts: { method: string; route: string; params: unknown; body: unknown }): string {
  const canonical = canonicalJson({
    method: parts.method.toUpperCase(),
    route: parts.route,
    params: parts.params ?? null,
    body: parts.body ?? null,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * JSON.stringify with every object's keys sorted. JavaScript lists
 * integer-like keys first in numeric order whatever the insertion order, so
 * those come first; the text still depends only on the value.
 */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, nested: unknown) =>
    isPlainObject(nested)
      ? Object.fromEntries(
          Object.keys(nested)
            .sort()
            .map((key) => [key, nested[key]]),
        )
      : nested,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
