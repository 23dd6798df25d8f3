import { createLogger, createPowertoolsLogger, redact, REDACTED, wrap } from '../../lib/logger';
import { captureOutput, jsonLines } from '../support/output';

const lines = jsonLines;

// A real-looking JWT and a sealed token (lib/credentials.ts format).
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYXNoaWVyQGV4YW1wbGUuY29tIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
const SEALED = 'v1.dev.3q2-7w.c2VhbGVkLWNpcGhlcnRleHQ.dGFn';
const SECRETS = [JWT, SEALED, 'hunter2', 'shared-signing-secret', 'Bearer abc.def.ghi', 'raw-header-value'];

describe('logger: tokens never reach the output', () => {
  it('redacts secret keys at any depth, in errors, and JWTs inside any string', () => {
    const log = createLogger({ requestId: 'req-1', token: JWT }, 'debug').child({ userId: 'cashier@example.com' });
    const failure = Object.assign(new Error(`upstream refused token ${JWT}`), {
      code: 'E_UPSTREAM',
      request: { headers: { 'x-auth-user': 'raw-header-value' } },
    });

    const output = captureOutput(() => {
      log.info('flat', {
        token: JWT,
        authorization: 'Bearer abc.def.ghi',
        'x-auth-user': JWT,
        password: 'hunter2',
        clientSecret: 'shared-signing-secret',
        orderId: 'order-1',
      });
      log.warn('nested', {
        order: { id: 'order-1', ownerTokenSealed: SEALED, owner: { callerToken: JWT } },
        attempts: [{ headers: { Authorization: 'Bearer abc.def.ghi' } }],
      });
      log.error('failed', { error: failure, note: `retry with ${JWT} later` });
      log.debug('message text is scanned too', { detail: JWT });
    });

    for (const secret of SECRETS) expect({ secret, leaked: output.includes(secret) }).toEqual({ secret, leaked: false });
    const [flat, nested, failed, debug] = lines(output);
    expect(flat).toMatchObject({
      level: 'INFO',
      message: 'flat',
      requestId: 'req-1',
      userId: 'cashier@example.com',
      orderId: 'order-1',
      token: REDACTED,
      authorization: REDACTED,
      'x-auth-user': REDACTED,
      password: REDACTED,
      clientSecret: REDACTED,
    });
    expect(nested).toMatchObject({
      level: 'WARN',
      order: { id: 'order-1', ownerTokenSealed: REDACTED, owner: { callerToken: REDACTED } },
      attempts: [{ headers: { Authorization: REDACTED } }],
    });
    expect(failed).toMatchObject({
      level: 'ERROR',
      note: `retry with ${REDACTED} later`,
      error: {
        name: 'Error',
        message: `upstream refused token ${REDACTED}`,
        code: 'E_UPSTREAM',
        request: { headers: { 'x-auth-user': REDACTED } },
      },
    });
    expect(failed.error.stack).not.toContain(JWT);
    expect(debug).toMatchObject({ level: 'DEBUG', detail: REDACTED });
  });

  it('the replacer leaves everything else as it is', () => {
    expect(redact('orderId', 'abc')).toBe('abc');
    expect(redact('durationMs', 12)).toBe(12);
    expect(redact('', { token: 'x' })).toEqual({ token: 'x' }); // the root object: its keys are visited one by one
    expect(redact('sealedTokenOfOwner', 'x')).toBe(REDACTED);
    expect(redact('why', `a ${JWT} b`)).toBe(`a ${REDACTED} b`);
  });
});

describe('logger: levels, children and Powertools fields', () => {
  it('writes one JSON line per entry with Powertools keys, the child fields merged over the parent', () => {
    const output = captureOutput(() =>
      createLogger({ requestId: 'r', route: 'GET /x' }).child({ route: 'GET /y', orderId: 'o' }).info('hello', { status: 200 }),
    );
    const [entry] = lines(output);
    expect(entry).toMatchObject({
      level: 'INFO',
      message: 'hello',
      service: 'pos-basket-service',
      requestId: 'r',
      route: 'GET /y',
      orderId: 'o',
      status: 200,
    });
    expect(typeof entry!.timestamp).toBe('string');
    expect(entry).toHaveProperty('sampling_rate');
  });

  it('drops entries below the level', () => {
    const output = captureOutput(() => {
      const log = createLogger({}, 'warn');
      log.debug('d');
      log.info('i');
      log.warn('w');
      log.error('e');
    });
    expect(lines(output).map((entry) => entry.message)).toEqual(['w', 'e']);
  });

  it("keeps a field named like one of Powertools' own keys instead of losing it", () => {
    const [entry] = lines(captureOutput(() => createLogger().info('real message', { message: 'a field', level: 'x' })));
    expect(entry).toMatchObject({ message: 'real message', level: 'INFO', field_message: 'a field', field_level: 'x' });
  });

  it('LOG_SAMPLE_RATE=1 logs debug entries of a logger at info', () => {
    const previous = process.env.LOG_SAMPLE_RATE;
    process.env.LOG_SAMPLE_RATE = '1';
    try {
      const output = captureOutput(() => wrap(createPowertoolsLogger('info')).debug('sampled', { orderId: 'o' }));
      expect(lines(output).map((entry) => [entry.message, entry.sampling_rate])).toContainEqual(['sampled', 1]);
    } finally {
      if (previous === undefined) delete process.env.LOG_SAMPLE_RATE;
      else process.env.LOG_SAMPLE_RATE = previous;
    }
    expect(lines(captureOutput(() => wrap(createPowertoolsLogger('info')).debug('not sampled')))).toEqual([]);
  });
});
