import fc from 'fast-check';
import { SignJWT } from 'jose';
import { allRoutes, type RouteSpec } from '../../lib/http/routes';
import { PIZZA } from '../support/catalogue';
import { api, tokenFor, uniqueUser } from '../support/http';

/**
 * Every route of the registry under generated input (fast-check, seeded):
 * path parameters, query, headers, bodies, tokens and page cursors, valid and
 * not. No answer may be a 5xx but the upstream's 502/503/504, and every answer
 * is checked against the OpenAPI document by the contract check at the end of
 * the run (tests/support/contract.ts). PROPERTY_RUNS sets the number of
 * requests (10,000 at length; npm test runs a fixed-seed share).
 */
const SEED = 20261203;
const RUNS = Number(process.env.PROPERTY_RUNS ?? 500);
const UPSTREAM_ANSWERS = [502, 503, 504];

const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
const asCursor = (value: unknown) => encode(value as object);

interface Fixtures {
  cashier: string;
  operator: string;
  other: string;
  basketId: string;
  otherBasketId: string;
  orderId: string;
  tokens: Record<string, string | undefined>;
}

let fixtures: Fixtures;

beforeAll(async () => {
  const secret = new TextEncoder().encode(process.env.AUTH_JWT_SECRET!);
  const cashierUser = uniqueUser('prop-cashier');
  const cashier = await tokenFor(cashierUser);
  const other = await tokenFor(uniqueUser('prop-other'));
  const operator = await new SignJWT({ roles: ['operator'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(uniqueUser('prop-operator'))
    .setIssuedAt()
    .sign(secret);
  const basketId = (await api('/baskets', { method: 'POST', token: cashier })).body.id;
  await api(`/baskets/${basketId}/items/${PIZZA}`, { method: 'PUT', token: cashier, body: { quantity: 1 } });
  const paidBasket = (await api('/baskets', { method: 'POST', token: cashier })).body.id;
  await api(`/baskets/${paidBasket}/items/${PIZZA}`, { method: 'PUT', token: cashier, body: { quantity: 1 } });
  const placed = await api(`/baskets/${paidBasket}/orders`, {
    method: 'POST',
    token: cashier,
    headers: { 'idempotency-key': `prop-${SEED}-${cashierUser}` },
  });
  const otherBasketId = (await api('/baskets', { method: 'POST', token: other })).body.id;
  const now = Math.floor(Date.now() / 1000);
  fixtures = {
    cashier,
    operator,
    other,
    basketId,
    otherBasketId,
    orderId: placed.body?.id ?? basketId,
    tokens: {
      cashier,
      operator,
      other,
      missing: undefined,
      garbage: 'not-a-token',
      algNone: `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: cashierUser, roles: ['operator'] })}.`,
      expired: await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(cashierUser)
        .setExpirationTime(now - 3600)
        .sign(secret),
      forged: await new SignJWT({ roles: ['operator'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(cashierUser)
        .sign(new TextEncoder().encode('not-our-secret-0123456789')),
      emptySub: await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('').sign(secret),
      huge: 'a'.repeat(9000),
    },
  };
}, 60_000);

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', '..', '%', '%00', 'null', ' ', '-1', '0', '1e9', 'true', '[]', '{}'),
);
const tamperedCursor = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.oneof(
          fc.constantFrom('9999-99-99', '', '2026-12-02 14:00:00+00', '2026-02-30 00:00:00+00', '0000-01-01 00:00:00+00'),
          fc.string(),
        ),
        fc.oneof(fc.uuid(), fc.constantFrom('x', 'not-a-uuid', '')),
      )
      .map(asCursor),
  },
  { weight: 1, arbitrary: fc.jsonValue().map(asCursor) },
  { weight: 1, arbitrary: text },
);

type Pick = (f: Fixtures) => string;
const idOf = (name: string): fc.Arbitrary<Pick> => {
  const known: Pick[] =
    name === 'basketId'
      ? [(f) => f.basketId, (f) => f.otherBasketId]
      : name === 'orderId'
        ? [(f) => f.orderId]
        : name === 'productId'
          ? [() => PIZZA]
          : [];
  return fc.oneof(
    ...known.map((k) => fc.constant(k)),
    fc.uuid().map((id) => () => id),
    text.map((s) => () => s),
    fc.string({ minLength: 100, maxLength: 400 }).map((s) => () => s),
  );
};

const wildQuery = fc.record(
  {
    limit: fc.oneof(fc.integer({ min: -10, max: 1000 }).map(String), text),
    after: fc.oneof({ weight: 3, arbitrary: tamperedCursor }, { weight: 1, arbitrary: text }),
    status: fc.oneof(fc.constantFrom('unknown', 'paid,placed', 'completed', 'x,y', ''), text),
    basketId: fc.oneof(fc.uuid(), text),
    x: text,
  },
  { requiredKeys: [] },
);
/** Everything else valid, so the cursor itself reaches the list's query. */
const cursorQuery = fc.record({ after: tamperedCursor, limit: fc.constantFrom('1', '5', '100') }, { requiredKeys: ['after'] });
const query = fc.oneof(wildQuery, cursorQuery);
const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 2 }),
  fc.record(
    {
      quantity: fc.oneof(fc.integer({ min: -2, max: 1500 }), fc.double(), fc.string(), fc.constant(null)),
      pay: fc.oneof(fc.boolean(), fc.string()),
      outcome: fc.constantFrom('charged', 'not_charged', 'refunded', 'x'),
      paymentId: fc.oneof(fc.string({ maxLength: 200 }), fc.integer()),
      reason: fc.oneof(fc.string({ maxLength: 40 }), fc.string({ minLength: 1001, maxLength: 1100 })),
    },
    { requiredKeys: [] },
  ),
);
const rawBody = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 60 }), fc.constant('{"quantity": '));
const headers = fc.record(
  {
    'idempotency-key': fc.oneof(fc.uuid(), fc.string({ maxLength: 300 }), fc.constant('')),
    'if-match': fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: 0, max: 20 }).map(String), fc.constant('"1"'), fc.constant('*')),
    'x-request-id': fc.string({ maxLength: 200 }),
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
  },
  { requiredKeys: [] },
);
const tokenName = fc.constantFrom(
  'cashier',
  'cashier',
  'cashier',
  'operator',
  'other',
  'missing',
  'garbage',
  'algNone',
  'expired',
  'forged',
  'emptySub',
  'huge',
);

const request = fc.record({
  route: fc.constantFrom(...allRoutes),
  basketId: idOf('basketId'),
  orderId: idOf('orderId'),
  productId: idOf('productId'),
  query,
  body,
  rawBody,
  headers,
  token: tokenName,
});

function pathOf(route: RouteSpec, picks: Record<string, Pick>): string {
  return route.path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent((picks[name] ?? (() => 'x'))(fixtures)));
}

const printable = (value: unknown) => /^[\x20-\x7e]*$/.test(String(value));

describe('every route under generated input (fast-check, seeded)', () => {
  it(`answers no 5xx but the upstream's 502/503/504, over ${RUNS} requests`, async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const path = pathOf(r.route, { basketId: r.basketId, orderId: r.orderId, productId: r.productId });
        const search = new URLSearchParams(r.query).toString();
        const canHaveBody = r.route.method !== 'GET';
        const sentHeaders = Object.fromEntries(Object.entries(r.headers).filter(([, v]) => printable(v))) as Record<string, string>;
        const response = await api(`${path}${search ? `?${search}` : ''}`, {
          method: r.route.method,
          token: fixtures.tokens[r.token],
          body: canHaveBody && r.rawBody === undefined ? r.body : undefined,
          rawBody: canHaveBody ? r.rawBody : undefined,
          headers: sentHeaders,
        });
        seen.set(`${r.route.functionName} ${response.status}`, (seen.get(`${r.route.functionName} ${response.status}`) ?? 0) + 1);
        if (response.status >= 500 && !UPSTREAM_ANSWERS.includes(response.status)) {
          throw new Error(`${r.route.method} ${path} answered ${response.status}: ${response.text.slice(0, 300)}`);
        }
        if (response.status >= 400) expect(typeof response.body?.error?.code).toBe('string');
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // Every route was reached, and some requests got through to a 2xx.
    const routesSeen = new Set([...seen.keys()].map((key) => key.split(' ')[0]));
    expect([...routesSeen].sort()).toEqual([...new Set(allRoutes.map((route) => route.functionName))].sort());
    expect([...seen.entries()].filter(([key]) => /\s2\d\d$/.test(key)).length).toBeGreaterThan(0);
  }, 600_000);

  it('refuses an unsigned, expired or forged token on every authenticated route, and never lets one act as an operator', async () => {
    for (const route of allRoutes.filter((r) => r.authenticated !== false)) {
      for (const name of ['algNone', 'expired', 'forged', 'garbage', 'emptySub', 'missing']) {
        const response = await api(pathOf(route, { basketId: (f) => f.basketId, orderId: (f) => f.orderId, productId: () => PIZZA }), {
          method: route.method,
          token: fixtures.tokens[name],
          headers: { 'idempotency-key': `refused-${name}-${route.functionName}` },
          body: route.method === 'GET' ? undefined : {},
        });
        expect([route.functionName, name, response.status, response.body?.error?.code]).toEqual([
          route.functionName,
          name,
          401,
          'UNAUTHENTICATED',
        ]);
      }
    }
  }, 120_000);
});
