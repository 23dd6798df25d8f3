import Ajv, { type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** A copy of the upstream's OpenAPI 3.0.3 document, served at the hosted API's /docs/json. */
const DOCUMENT_PATH = path.join(__dirname, '..', 'fixtures', 'upstream-openapi.json');

type Schema = Record<string, unknown>;

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

/** Keywords of OpenAPI 3.0's schema dialect that JSON Schema does not know. */
const OPENAPI_ONLY = new Set(['nullable', 'discriminator', 'readOnly', 'writeOnly', 'xml', 'externalDocs', 'example', 'deprecated']);
const SUBSCHEMA = new Set(['items', 'not', 'additionalProperties']);
const SUBSCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'allOf']);

const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);

function convertKeyword(key: string, value: unknown): unknown {
  if (key === 'properties' && isSchema(value)) {
    const properties = Object.entries(value).map(([name, property]) => [name, toJsonSchema(property as Schema)]);
    return Object.fromEntries(properties);
  }
  if (SUBSCHEMA.has(key) && isSchema(value)) return toJsonSchema(value);
  if (SUBSCHEMA_LISTS.has(key) && Array.isArray(value)) return value.map((item) => toJsonSchema(item as Schema));
  return value;
}

/** An OpenAPI 3.0 schema as JSON Schema for ajv: `nullable` becomes a union with null, OpenAPI-only keywords go. */
export function toJsonSchema(schema: Schema): Schema {
  const converted = Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => !OPENAPI_ONLY.has(key))
      .map(([key, value]) => [key, convertKeyword(key, value)]),
  );
  return schema.nullable === true ? { anyOf: [converted, { type: 'null' }] } : converted;
}

export interface DocumentedResponse {
  status: number;
  validate: ValidateFunction;
}

/** The upstream's document, with one compiled validator per documented response. */
export class UpstreamDocument {
  private readonly paths: Record<string, Record<string, Operation>>;
  private readonly ajv = new Ajv({ allErrors: true, strict: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor() {
    this.paths = JSON.parse(readFileSync(DOCUMENT_PATH, 'utf8')).paths;
  }

  private operation(method: string, route: string): Operation {
    const operation = this.paths[route]?.[method.toLowerCase()];
    if (!operation) throw new Error(`the document has no ${method} ${route}`);
    return operation;
  }

  private validator(method: string, route: string, status: string): ValidateFunction {
    const key = `${method} ${route} ${status}`;
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const schema = this.operation(method, route).responses[status].content?.['application/json']?.schema;
    if (!schema) throw new Error(`${key} has no application/json schema`);
    const validate = this.ajv.compile(toJsonSchema(schema));
    this.compiled.set(key, validate);
    return validate;
  }

  /** The documented success response of a route ("/orders/{id}" style). */
  success(method: string, route: string): DocumentedResponse {
    const status = Object.keys(this.operation(method, route).responses).find((code) => code.startsWith('2'));
    if (!status) throw new Error(`${method} ${route} documents no 2xx response`);
    return { status: Number(status), validate: this.validator(method, route, status) };
  }

  /** The validator of a documented error response, or undefined when the document does not list that status. */
  error(method: string, route: string, status: number): ValidateFunction | undefined {
    const documented = String(status) in this.operation(method, route).responses;
    return documented ? this.validator(method, route, String(status)) : undefined;
  }
}
