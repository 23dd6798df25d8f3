export function pathSegments(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

/** Whether `path` matches `pattern`, ignoring trailing slashes; a `*` segment matches any one segment. */
export function pathMatches(pattern: string, path: string): boolean {
  const wanted = pathSegments(pattern);
  const actual = pathSegments(path);
  return wanted.length === actual.length && wanted.every((segment, i) => segment === '*' || segment === actual[i]);
}

export interface Route<H> {
  method: string;
  pattern: string;
  handler: H;
}

/** Routes from a table keyed by method and pattern, e.g. `'GET /orders/*': getOrder`. */
export function routeTable<H>(table: Record<string, H>): Route<H>[] {
  return Object.entries(table).map(([route, handler]) => {
    const [method, pattern] = route.split(' ');
    return { method, pattern, handler };
  });
}

export type RouteMatch<H> = { kind: 'found'; handler: H; id: string | undefined } | { kind: 'method_not_allowed' } | { kind: 'not_found' };

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The value of the pattern's `*` segment in `path`, if the pattern has one. */
function wildcardValue(pattern: string, path: string): string | undefined {
  const index = pathSegments(pattern).indexOf('*');
  return index < 0 ? undefined : decodeSegment(pathSegments(path)[index]);
}

export function matchRoute<H>(routes: Route<H>[], method: string, path: string): RouteMatch<H> {
  const samePath = routes.filter((route) => pathMatches(route.pattern, path));
  if (samePath.length === 0) return { kind: 'not_found' };
  const route = samePath.find((candidate) => candidate.method === method);
  if (!route) return { kind: 'method_not_allowed' };
  return { kind: 'found', handler: route.handler, id: wildcardValue(route.pattern, path) };
}
