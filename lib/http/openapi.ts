import { z, type ZodType } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../errors';
import { allRoutes, errorCodesOf, type ResponseHeader, type RouteSpec } from './routes';

/**
 * The OpenAPI 3.1 document of the API, generated from the route registry
 * (lib/http/routes.ts) and the zod schemas it names, with zod's own
 * z.toJSONSchema (OpenAPI 3.1 schemas are JSON Schema 2020-12). Nothing here
 * describes a route by hand: a new registry entry appears in the document.
 */

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, JsonSchema>>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<string, JsonSchema>;
    headers: Record<string, JsonSchema>;
    parameters: Record<string, JsonSchema>;
  };
  [extension: `x-${string}`]: unknown;
}

const SCHEMA_REF = '#/components/schemas/';
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Formats whose name says it all: zod's long regex for them is left out. */
const SELF_EXPLAINING_FORMATS = new Set(['uuid', 'date-time', 'email']);

/** Drops what zod adds that says nothing to a reader: the safe-integer bounds of z.int(), the regex behind a format. */
function tidy(ctx: { jsonSchema: JsonSchema }): void {
  const schema = ctx.jsonSchema;
  if (typeof schema.format === 'string' && SELF_EXPLAINING_FORMATS.has(schema.format)) delete schema.pattern;
  if (schema.type === 'integer') {
    if (schema.minimum === -MAX_SAFE) delete schema.minimum;
    if (schema.maximum === MAX_SAFE) delete schema.maximum;
  }
}

function stripRoot(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

/** A request part as its caller sends it (io: input: before transforms and defaults). */
function inputSchema(schema: ZodType): JsonSchema {
  return stripRoot(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', override: tidy }) as JsonSchema);
}

/** A reply body: a named component when the schema has a registry id, else inline. */
function outputSchema(schema: ZodType): JsonSchema {
  const id = z.globalRegistry.get(schema)?.id;
  if (id) return { $ref: `${SCHEMA_REF}${id}` };
  return stripRoot(z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any', override: tidy }) as JsonSchema);
}

/** Every schema registered with an id (.meta({ id })), as components; cross-references point into components. */
function componentSchemas(): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    io: 'output',
    unrepresentable: 'any',
    override: tidy,
    uri: (id) => `${SCHEMA_REF}${id}`,
  });
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, stripRoot(schema as JsonSchema)]));
}

/** The shape of an object schema (params, query, headers), or nothing. */
function shapeOf(schema: ZodType | undefined): Record<string, ZodType> {
  if (!schema) return {};
  let inner: ZodType = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.def.innerType as ZodType;
  if (!(inner instanceof z.ZodObject)) throw new Error('Route params, query and headers must be zod objects');
  return inner.shape as Record<string, ZodType>;
}

const accepts = (schema: ZodType, value: unknown) => schema.safeParse(value).success;

/** Idempotency-Key, If-Match: how the headers are spelled in documentation. */
const headerName = (name: string) => name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());

const HEADER_DOCS: Record<string, string> = {
  'if-match':
    'The basket version the write is meant for, as received in ETag ("3"); 412 VERSION_MISMATCH when the basket has changed since.',
  'idempotency-key':
    'Required. One value per checkout attempt (e.g. a UUID), reused when retrying it: the same key and request replay the first final answer; another request under the key is refused (422). Missing: 400 IDEMPOTENCY_KEY_MISSING.',
};

function parameters(route: RouteSpec): JsonSchema[] {
  const list: JsonSchema[] = [];
  for (const [name, schema] of Object.entries(shapeOf(route.params)))
    list.push({ name, in: 'path', required: true, schema: inputSchema(schema) });
  for (const [name, schema] of Object.entries(shapeOf(route.query))) {
    list.push({ name, in: 'query', required: !accepts(schema, undefined), schema: inputSchema(schema) });
  }
  for (const [name, schema] of Object.entries(shapeOf(route.headers))) {
    const required = !accepts(schema, undefined) || (route.idempotent === true && name === 'idempotency-key');
    list.push({
      name: headerName(name),
      in: 'header',
      required,
      ...(HEADER_DOCS[name] ? { description: HEADER_DOCS[name] } : {}),
      schema: inputSchema(schema),
    });
  }
  list.push({ $ref: '#/components/parameters/RequestId' });
  return list;
}

const RESPONSE_HEADERS: Record<ResponseHeader | 'x-request-id', JsonSchema> = {
  etag: { description: 'The basket version, e.g. "3"; send it back as If-Match', schema: { type: 'string', pattern: '^"\\d+"$' } },
  location: { description: 'Where the resource lives', schema: { type: 'string' } },
  'retry-after': { description: 'Seconds to wait before retrying', schema: { type: 'string', pattern: '^\\d+$' } },
  'idempotent-replayed': {
    description: '"true" when this is the stored answer to an earlier request with the same Idempotency-Key',
    schema: { type: 'string', enum: ['true'] },
  },
  'x-request-id': {
    description: "The request's id: the caller's x-request-id when it sent a sane one, else ours",
    schema: { type: 'string' },
  },
};

function responseHeaders(names: readonly string[], required: readonly string[] = []): JsonSchema {
  const headers: JsonSchema = { 'x-request-id': { $ref: '#/components/headers/x-request-id' } };
  for (const name of names)
    headers[name] = required.includes(name)
      ? { $ref: `#/components/headers/${name}`, required: true }
      : { $ref: `#/components/headers/${name}` };
  return headers;
}

/** Codes answered with Retry-After. */
const RETRY_LATER = new Set<ErrorCode>(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT', 'DATABASE_UNAVAILABLE', 'REQUEST_IN_PROGRESS']);

/** The error answers of a route, by status; each lists exactly the codes the route can answer with that status. */
function errorResponses(route: RouteSpec): Record<string, JsonSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  const add = (status: number, code: ErrorCode) => byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  for (const code of errorCodesOf(route)) add(ERROR_STATUS[code], code);
  // A body that is not JSON at all is a 400 (lib/http/middleware.ts parseJsonBody).
  if (route.body) add(400, 'VALIDATION_FAILED');
  const responses: Record<string, JsonSchema> = {};
  for (const [status, codes] of [...byStatus.entries()].sort(([a], [b]) => a - b)) {
    // Only answers the Idempotency-Key store keeps can be replayed: not 400/401 (before it) nor 5xx (never stored).
    const replayable = route.idempotent && status !== 400 && status !== 401 && status < 500;
    const headers = [
      ...(codes.some((code) => RETRY_LATER.has(code)) ? ['retry-after'] : []),
      ...(replayable ? ['idempotent-replayed'] : []),
    ];
    responses[String(status)] = {
      description: codes.join(', '),
      headers: responseHeaders(headers),
      content: {
        'application/json': {
          schema: { allOf: [{ $ref: `${SCHEMA_REF}Error` }], properties: { error: { properties: { code: { enum: codes } } } } },
        },
      },
    };
  }
  return responses;
}

function operation(route: RouteSpec): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    const headers = [...(spec.headers ?? []), ...(route.idempotent ? ['idempotent-replayed' as const] : [])];
    const content = spec.body
      ? { 'application/json': { schema: outputSchema(spec.body) } }
      : spec.contentType
        ? { [spec.contentType]: { schema: spec.contentType === 'application/json' ? { type: 'object' } : { type: 'string' } } }
        : undefined;
    responses[status] = {
      description: spec.description,
      headers: responseHeaders(headers, spec.headers ?? []),
      ...(content ? { content } : {}),
    };
  }
  Object.assign(responses, errorResponses(route));
  const body = route.body;
  return {
    operationId: route.functionName,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    security: route.authenticated === false ? [] : [{ callerToken: [] }],
    parameters: parameters(route),
    ...(body
      ? { requestBody: { required: !accepts(body, undefined), content: { 'application/json': { schema: inputSchema(body) } } } }
      : {}),
    responses,
    'x-error-codes': errorCodesOf(route),
  };
}

const DESCRIPTION = `A backend for cashier terminals: persistent baskets priced from the upstream POS catalogue, and one call that orders and pays a basket without ever charging twice.

- **Authentication**: every route but the public ones (health, this document) needs \`x-auth-user: <JWT>\` (the upstream's token; \`sub\` is the user). A basket or order of another user answers 404.
- **Money** is integer minor units (øre, cents); VAT rates are fractions (0.2 = 20 %).
- **Errors** are always \`{ "error": { "code", "message", "details"?, … } }\`; \`code\` is stable (each operation lists the codes it can answer). An unknown route answers 404 \`ROUTE_NOT_FOUND\`.
- **Optimistic concurrency**: basket replies carry \`ETag: "<version>"\`; send it back as \`If-Match\` to make a write conditional (412 \`VERSION_MISMATCH\`).
- **Idempotency**: paying requests need an \`Idempotency-Key\`; reuse it when retrying. Answers with \`Retry-After\` (503, 504, 409 \`REQUEST_IN_PROGRESS\`) are not stored: retry with the same key.
- Every answer carries \`x-request-id\`.`;

let cached: OpenApiDocument | undefined;

/** The document, built once per container. */
export function openApiDocument(routes: readonly RouteSpec[] = allRoutes): OpenApiDocument {
  if (routes === allRoutes && cached) return cached;
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const methods = (paths[route.path] ??= {});
    const method = route.method.toLowerCase();
    if (methods[method]) throw new Error(`Route ${route.method} ${route.path} is registered twice`);
    methods[method] = operation(route);
  }
  const document: OpenApiDocument = {
    openapi: '3.1.0',
    info: { title: 'POS basket service', version: '1.0.0', description: DESCRIPTION },
    tags: [
      { name: 'Products', description: 'The upstream catalogue, priced' },
      { name: 'Baskets', description: "A cashier's baskets; every write bumps the version" },
      { name: 'Orders', description: 'Ordering and paying, paying again, refunds' },
      { name: 'Operations', description: 'For operators: orders that need a person, and their resolution' },
      { name: 'Service', description: 'Health and this document' },
    ],
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        callerToken: {
          type: 'apiKey',
          in: 'header',
          name: 'x-auth-user',
          description:
            'The upstream POS token of the cashier: a JWT (HS256, or verified by the API Gateway authorizer when deployed with one) whose `sub` is the user. Forwarded upstream as is.',
        },
      },
      headers: RESPONSE_HEADERS,
      parameters: {
        RequestId: {
          name: 'x-request-id',
          in: 'header',
          required: false,
          description: 'Your id for the request (1–128 of A-Z a-z 0-9 _ . : -); echoed back and logged',
          schema: { type: 'string', pattern: '^[\\w.:-]{1,128}$' },
        },
      },
    },
  };
  if (routes === allRoutes) cached = document;
  return document;
}
