/** One entry of a 422 validation report, shaped like the upstream's (FastAPI-style) reports. */
export interface ValidationIssue {
  loc: string[];
  msg: string;
  type: string;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; type: string; msg: string };

export interface Field<T> {
  required: boolean;
  /** The JSON Schema of the value, as a TypeBox server would declare it (for Elysia-style reports). */
  schema: JsonSchema;
  parse(value: unknown): Parsed<T>;
}

export type JsonSchema = Record<string, unknown>;

export type Schema<T> = { [K in keyof T]: Field<T[K]> };

export type BodyResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

const accept = <T>(value: T): Parsed<T> => ({ ok: true, value });
const reject = <T>(type: string, msg: string): Parsed<T> => ({ ok: false, type, msg });

export function number(options: { min?: number } = {}): Field<number> {
  return {
    required: true,
    schema: options.min === undefined ? { type: 'number' } : { type: 'number', minimum: options.min },
    parse(value) {
      if (typeof value !== 'number') return reject('float_type', 'Input should be a valid number');
      if (options.min !== undefined && value < options.min) {
        return reject('greater_than_equal', `Input should be greater than or equal to ${options.min}`);
      }
      return accept(value);
    },
  };
}

export function integer(options: { min?: number } = {}): Field<number> {
  const asNumber = number(options);
  return {
    required: true,
    schema: { ...asNumber.schema, type: 'integer' },
    parse(value) {
      if (!Number.isInteger(value)) return reject('int_type', 'Input should be a valid integer');
      return asNumber.parse(value);
    },
  };
}

export function string(): Field<string> {
  return {
    required: true,
    schema: { type: 'string', minLength: 1 },
    parse(value) {
      if (typeof value !== 'string') return reject('string_type', 'Input should be a valid string');
      if (value.length === 0) return reject('string_too_short', 'String should have at least 1 character');
      return accept(value);
    },
  };
}

export function oneOf<V extends string>(values: readonly V[]): Field<V> {
  const listed = values.map((v) => `'${v}'`).join(', ');
  return {
    required: true,
    schema: { anyOf: values.map((v) => ({ const: v, type: 'string' })) },
    parse(value) {
      if (typeof value === 'string' && (values as readonly string[]).includes(value)) return accept(value as V);
      return reject('enum', `Input should be one of ${listed}`);
    },
  };
}

export function boolean(): Field<boolean> {
  return {
    required: true,
    schema: { type: 'boolean' },
    parse(value) {
      return typeof value === 'boolean' ? accept(value) : reject('bool_type', 'Input should be a valid boolean');
    },
  };
}

/** An optional field: absent or null both mean "not given". */
export function optional<T>(field: Field<T>): Field<T | undefined> {
  return { ...field, required: false };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON value a body holds, or the body itself when it is not JSON. */
export function jsonOrText(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Parses a request body as a JSON object, or reports why it is not one. */
export function parseJsonObject(raw: string): BodyResult<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, issues: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }] };
  }
  if (!isPlainObject(value)) {
    return { ok: false, issues: [{ loc: ['body'], msg: 'Input should be a valid dictionary', type: 'dict_type' }] };
  }
  return { ok: true, value };
}

function validateFields<T>(input: Record<string, unknown>, schema: Schema<T>): BodyResult<T> {
  const issues: ValidationIssue[] = [];
  const output: Record<string, unknown> = {};
  for (const key of Object.keys(schema) as (keyof T & string)[]) {
    const field = schema[key];
    const value = input[key];
    if (value === undefined || value === null) {
      if (field.required) issues.push({ loc: ['body', key], msg: 'Field required', type: 'missing' });
      continue;
    }
    const parsed = field.parse(value);
    if (parsed.ok) output[key] = parsed.value;
    else issues.push({ loc: ['body', key], msg: parsed.msg, type: parsed.type });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: output as T };
}

/** Parses a raw request body and checks it against a schema; unknown keys are ignored. */
export function validateBody<T>(raw: string, schema: Schema<T>): BodyResult<T> {
  const parsed = parseJsonObject(raw);
  return parsed.ok ? validateFields(parsed.value, schema) : parsed;
}
