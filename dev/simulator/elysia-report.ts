import { jsonOrText, type Field, type JsonSchema, type ValidationIssue } from './validation';

type Fields = Record<string, Field<unknown>>;

interface TypeBoxError {
  type: number;
  schema: JsonSchema;
  path: string;
  value: unknown;
  message: string;
}

/** TypeBox's ValueErrorType codes (0.32 and later) and default messages, for the issues our fields report. */
const TYPEBOX_ERRORS: Record<string, { type: number; message: (schema: JsonSchema) => string }> = {
  missing: { type: 45, message: () => 'Expected required property' },
  float_type: { type: 41, message: () => 'Expected number' },
  int_type: { type: 27, message: () => 'Expected integer' },
  greater_than_equal: { type: 39, message: (schema) => `Expected number to be greater or equal to ${schema.minimum}` },
  string_type: { type: 54, message: () => 'Expected string' },
  string_too_short: { type: 52, message: (schema) => `Expected string length greater or equal to ${schema.minLength}` },
  enum: { type: 62, message: () => 'Expected union value' },
  bool_type: { type: 14, message: () => 'Expected boolean' },
  json_invalid: { type: 46, message: () => 'Expected object' },
  dict_type: { type: 46, message: () => 'Expected object' },
};

/** A rule beyond the body's schema (an amount that must equal the order total) reads as a literal mismatch. */
const TYPEBOX_LITERAL = 32;

function objectSchema(fields: Fields): JsonSchema {
  const properties = Object.fromEntries(Object.entries(fields).map(([key, field]) => [key, field.schema]));
  const required = Object.keys(fields).filter((key) => fields[key].required);
  return { type: 'object', properties, required };
}

/** The value TypeBox's Value.Create would make for a schema: what Elysia reports as `expected`. */
function exampleOf(schema: JsonSchema): unknown {
  if (Array.isArray(schema.anyOf)) return exampleOf(schema.anyOf[0] as JsonSchema);
  if (schema.const !== undefined) return schema.const;
  if (schema.type === 'string') return '';
  if (schema.type === 'boolean') return false;
  return schema.minimum ?? 0;
}

function expectedBody(fields: Fields): Record<string, unknown> {
  const required = Object.entries(fields).filter(([, field]) => field.required);
  return Object.fromEntries(required.map(([key, field]) => [key, exampleOf(field.schema)]));
}

function typeBoxError(issue: ValidationIssue, fields: Fields, found: unknown): TypeBoxError {
  const key = issue.loc[1];
  const schema = key === undefined ? objectSchema(fields) : fields[key].schema;
  const known = TYPEBOX_ERRORS[issue.type];
  return {
    type: known?.type ?? TYPEBOX_LITERAL,
    schema,
    path: key === undefined ? '' : `/${key}`,
    value: key === undefined ? found : (found as Record<string, unknown>)[key],
    message: known ? known.message(schema) : issue.msg,
  };
}

/**
 * A 422 body shaped like the report of an Elysia server validating with TypeBox (the real upstream's
 * framework): the first error up front, every error under `errors`.
 */
export function elysiaReport(issues: ValidationIssue[], rawBody: string, fields: Fields): Record<string, unknown> {
  const found = rawBody === '' ? null : jsonOrText(rawBody);
  const errors = issues.map((issue) => typeBoxError(issue, fields, found));
  return {
    type: 'validation',
    on: 'body',
    property: errors[0].path,
    message: errors[0].message,
    expected: expectedBody(fields),
    found,
    errors,
  };
}
