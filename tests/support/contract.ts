/**
 * The API contract check: every answer the test suite receives from the API
 * must be one the OpenAPI document (GET /openapi.json) describes.
 *
 * tests/support/http.ts records each API call to a JSON-lines file per jest
 * worker in TEST_CONTRACT_DIR (made by global setup); global teardown checks
 * all of them against the document and fails the run listing the mismatches.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface RecordedCall {
  method: string;
  /** The path as the server saw it (after URL normalisation), without the query. */
  path: string;
  status: number;
  contentType: string | null;
  headers: Record<string, string>;
  body: string;
}

/** Response headers the document can speak about. */
const RECORDED_HEADERS = ['etag', 'location', 'retry-after', 'x-request-id', 'idempotent-replayed'];

export function recordCall(url: URL, method: string, response: Response, text: string): void {
  const dir = process.env.TEST_CONTRACT_DIR;
  if (!dir) return;
  const headers = Object.fromEntries(
    RECORDED_HEADERS.flatMap((name) => (response.headers.has(name) ? [[name, response.headers.get(name)!]] : [])),
  );
  const call: RecordedCall = {
    method: method.toUpperCase(),
    path: url.pathname,
    status: response.status,
    contentType: response.headers.get('content-type'),
    headers,
    body: text,
  };
  appendFileSync(path.join(dir, `calls-${process.pid}.jsonl`), `${JSON.stringify(call)}\n`);
}

export function readRecordedCalls(dir: string): RecordedCall[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .flatMap((name) =>
      readFileSync(path.join(dir, name), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as RecordedCall),
    );
}

type Json = Record<string, any>;

interface Operation {
  template: string;
  pattern: RegExp;
  /** Literal segments first, so /openapi.json is not taken for a parameter. */
  parameterCount: number;
  methods: Record<string, Json>;
}

/** Checks recorded answers against an OpenAPI 3.1 document. */
export class ContractChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly operations: Operation[];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly doc: Json) {
    addFormats(this.ajv);
    this.operations = Object.entries<Json>(doc.paths)
      .map(([template, methods]) => ({
        template,
        pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
        parameterCount: (template.match(/\{/g) ?? []).length,
        methods,
      }))
      .sort((a, b) => a.parameterCount - b.parameterCount);
  }

  /**
   * The operation a call reached, or the catch-all: an unknown path, or a
   * known path with a method it does not have, reaches functions/not-found.ts.
   */
  private operationOf(call: RecordedCall): { key: string; op?: Json } {
    // serverless-offline serves /baskets/ as /baskets.
    const routed = call.path.length > 1 ? call.path.replace(/\/$/, '') : call.path;
    const matched = this.operations.find((operation) => operation.pattern.test(routed));
    const op = matched?.methods[call.method.toLowerCase()];
    return op ? { key: `${call.method} ${matched!.template}`, op } : { key: `${call.method} (no route)` };
  }

  private validator(key: string, schema: Json): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile({ ...schema, components: this.doc.components });
      this.validators.set(key, validate);
    }
    return validate;
  }

  /** What is wrong with this answer, or nothing. */
  problemsOf(call: RecordedCall): string[] {
    const { key, op } = this.operationOf(call);
    const problems: string[] = [];
    if (!call.headers['x-request-id']) problems.push('no x-request-id header');
    if (!op) {
      // The catch-all route (serverless.yml notFound): not in the document, always 404 ROUTE_NOT_FOUND.
      const body = parseJson(call.body);
      if (call.status !== 404 || body?.error?.code !== 'ROUTE_NOT_FOUND')
        problems.push(`expected 404 ROUTE_NOT_FOUND from the catch-all route, got ${call.status} ${call.body.slice(0, 200)}`);
      return problems.map((problem) => `${key} ${call.path}: ${problem}`);
    }
    const response: Json | undefined = op.responses[String(call.status)] ?? op.responses.default;
    if (!response) return [`${key} ${call.path}: status ${call.status} is not documented (${call.body.slice(0, 200)})`];
    for (const [name, header] of Object.entries<Json>(response.headers ?? {})) {
      if (header.required && !call.headers[name]) problems.push(`${call.status} without its required ${name} header`);
    }
    const content: Json | undefined = response.content;
    if (!content) {
      if (call.body !== '') problems.push(`${call.status} is documented without a body, got ${call.body.slice(0, 200)}`);
    } else {
      const mediaType = (call.contentType ?? '').split(';')[0]!.trim();
      const media = content[mediaType];
      if (!media)
        problems.push(`${call.status} answered ${mediaType || 'no content type'}, documented: ${Object.keys(content).join(', ')}`);
      else if (mediaType === 'application/json') {
        const body = parseJson(call.body);
        if (body === undefined) problems.push(`${call.status} body is not JSON: ${call.body.slice(0, 200)}`);
        else {
          const validate = this.validator(`${key} ${call.status}`, media.schema);
          if (!validate(body)) {
            const errors = (validate.errors ?? []).map(
              (error) =>
                `${error.instancePath || '(body)'} ${error.message}${error.params && 'allowedValues' in error.params ? ` ${JSON.stringify(error.params.allowedValues)}` : ''}`,
            );
            problems.push(
              `${call.status} body does not match the document: ${[...new Set(errors)].join('; ')} in ${call.body.slice(0, 300)}`,
            );
          }
        }
      }
    }
    return problems.map((problem) => `${key} ${call.path}: ${problem}`);
  }

  /** Every distinct problem of the calls, each with how often it happened. */
  check(calls: readonly RecordedCall[]): string[] {
    const counts = new Map<string, number>();
    for (const call of calls) for (const problem of this.problemsOf(call)) counts.set(problem, (counts.get(problem) ?? 0) + 1);
    return [...counts.entries()].map(([problem, n]) => (n > 1 ? `${problem} (×${n})` : problem));
  }
}

function parseJson(text: string): any {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
