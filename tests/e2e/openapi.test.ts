import { compileErrors, validate } from '@readme/openapi-parser';
import Ajv2020 from 'ajv/dist/2020';
import { load } from 'js-yaml';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_STATUS } from '../../lib/errors';
import { allRoutes } from '../../lib/http/routes';
import { api, tokenFor, uniqueUser, type ApiResponse } from '../support/http';

interface ServerlessFunction {
  handler: string;
  events?: Array<{ httpApi?: string | { method: string; path: string; authorizer?: string } }>;
}

/** Every HTTP route serverless.yml deploys (the catch-all '*' aside), with its function and authorizer. */
function serverlessRoutes(): Array<{ functionName: string; method: string; path: string; authorizer?: string }> {
  const config = load(readFileSync(path.join(__dirname, '../../serverless.yml'), 'utf8')) as {
    functions: Record<string, ServerlessFunction>;
  };
  return Object.entries(config.functions).flatMap(([functionName, fn]) =>
    (fn.events ?? []).flatMap((event) =>
      event.httpApi && typeof event.httpApi === 'object'
        ? [{ functionName, method: event.httpApi.method.toUpperCase(), path: event.httpApi.path, authorizer: event.httpApi.authorizer }]
        : [],
    ),
  );
}

/** GETs a public page of the API, which must answer 200 with this content type. */
async function served(pagePath: string, contentType: RegExp): Promise<ApiResponse> {
  const response = await api(pagePath);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(contentType);
  return response;
}

describe('the API document', () => {
  let doc: any;

  beforeAll(async () => {
    doc = (await served('/openapi.json', /^application\/json/)).body;
  });

  it('is public and a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc));
    expect(result.valid ? 'valid' : compileErrors(result)).toBe('valid');
  });

  it('has only valid JSON Schema 2020-12 schemas', () => {
    const ajv = new Ajv2020({ strict: false });
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      expect({ name, valid: ajv.validateSchema(schema as object), errors: ajv.errors ?? null }).toEqual({
        name,
        valid: true,
        errors: null,
      });
    }
  });

  it('lists every route serverless.yml deploys, served by the function the registry names, and no other', () => {
    const deployed = serverlessRoutes();
    const documented = Object.entries<Record<string, any>>(doc.paths).flatMap(([p, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ functionName: op.operationId, method: method.toUpperCase(), path: p })),
    );
    expect(deployed.map(({ functionName, method, path: p }) => ({ functionName, method, path: p })).sort(byRoute)).toEqual(
      documented.sort(byRoute),
    );
  });

  it('puts the JWT authorizer on every authenticated route of serverless.yml and on no public one', () => {
    const deployed = new Map(serverlessRoutes().map((route) => [`${route.method} ${route.path}`, route]));
    for (const route of allRoutes) {
      const authorizer = deployed.get(`${route.method} ${route.path}`)?.authorizer;
      expect({ route: `${route.method} ${route.path}`, authorizer }).toEqual({
        route: `${route.method} ${route.path}`,
        authorizer: route.authenticated === false ? undefined : '${self:custom.authorizer}',
      });
    }
  });

  it('documents the x-auth-user security scheme on authenticated routes only', () => {
    expect(doc.components.securitySchemes.callerToken).toMatchObject({ type: 'apiKey', in: 'header', name: 'x-auth-user' });
    for (const route of allRoutes) {
      const op = doc.paths[route.path][route.method.toLowerCase()];
      expect(op.security).toEqual(route.authenticated === false ? [] : [{ callerToken: [] }]);
    }
  });

  it('documents the Idempotency-Key and If-Match headers where the handlers read them', () => {
    const place = doc.paths['/baskets/{basketId}/orders'].post;
    expect(place.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }),
        expect.objectContaining({ name: 'If-Match', in: 'header', required: false }),
      ]),
    );
    expect(place.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Order' });
    expect(Object.keys(place.responses)).toEqual(
      expect.arrayContaining(['201', '400', '401', '402', '404', '409', '412', '422', '500', '502', '503', '504']),
    );
    const setItem = doc.paths['/baskets/{basketId}/items/{productId}'].put;
    expect(setItem.requestBody.content['application/json'].schema).toMatchObject({
      properties: { quantity: { type: 'integer', minimum: 0, maximum: 999 } },
      required: ['quantity'],
    });
    expect(setItem.responses['200'].headers.etag).toMatchObject({ required: true });
  });

  it('names every error code the service has', () => {
    const documented = new Set<string>(
      Object.values<Record<string, any>>(doc.paths).flatMap((methods) => Object.values(methods).flatMap((op) => op['x-error-codes'])),
    );
    documented.add('ROUTE_NOT_FOUND'); // the catch-all route, which the document describes in words
    expect([...Object.keys(ERROR_STATUS)].filter((code) => !documented.has(code))).toEqual([]);
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual(Object.keys(ERROR_STATUS));
  });

  describe('GET /docs', () => {
    let html: string;

    beforeAll(async () => {
      html = (await served('/docs', /^text\/html/)).text;
    });

    it('is self-contained HTML', () => {
      // Nothing loaded from elsewhere: the machine running the tests has no internet, nor may a reader's.
      expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?(https?:)?\/\//i);
    });

    it('has a section for every operation of the document, headed by its method, path and summary', () => {
      const operations = Object.entries<Record<string, any>>(doc.paths).flatMap(([p, methods]) =>
        Object.entries(methods).map(([method, op]) => ({ method, path: p, op })),
      );
      expect(operations.length).toBe(allRoutes.length);
      const toc = html.match(/<ul class="toc">([\s\S]*?)<\/ul>/)?.[1] ?? '';
      for (const { method, path: p, op } of operations) {
        const id = `op-${op.operationId}`;
        const section = html.match(new RegExp(`<section class="op" id="${id}">([\\s\\S]*?)</section>`))?.[1];
        const heading = section?.match(/<h3>([\s\S]*?)<\/h3>/)?.[1];
        expect({ id, heading: heading === undefined ? undefined : text(heading) }).toEqual({
          id,
          heading: `${method.toUpperCase()} ${p} ${op.summary}`,
        });
        expect({ id, inToc: toc.includes(`href="#${id}"`) }).toEqual({ id, inToc: true });
      }
    });

    it('links only to ids the page has, each id given once', () => {
      const ids = [...html.matchAll(/\sid="([^"]*)"/g)].map((match) => match[1]);
      expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
      const targets = [...new Set([...html.matchAll(/href="#([^"]*)"/g)].map((match) => match[1]))];
      expect(targets.length).toBeGreaterThan(allRoutes.length);
      expect(targets.filter((target) => !ids.includes(target))).toEqual([]);
    });
  });

  it('answers an authenticated request the way the document says', async () => {
    const token = await tokenFor(uniqueUser('openapi'));
    // Recorded like every API call and checked against the document at the end of the run; asserted here too.
    const products = await api('/products', { token });
    expect(products.status).toBe(200);
    expect(Object.keys(products.body.products[0]).sort()).toEqual(Object.keys(doc.components.schemas.Product.properties).sort());
  });
});

/** An HTML fragment's text: tags dropped, entities decoded, spaces collapsed. */
const text = (fragment: string) =>
  fragment
    .replace(/<[^>]+>/g, '')
    .replace(/&(amp|lt|gt|quot|#39);/g, (_, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[entity]!)
    .replace(/\s+/g, ' ')
    .trim();

const byRoute = (a: { method: string; path: string }, b: { method: string; path: string }) =>
  `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`);
