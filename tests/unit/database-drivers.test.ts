import { parseConfig } from '../../lib/config';
import { DataApiError, parseTimestamp } from '../../lib/db/data-api';
import { chooseDriver } from '../../lib/db/driver';
import { splitStatements, stripComments } from '../../lib/db/statements';

const app = { UPSTREAM_BASE_URL: 'http://127.0.0.1:4010', AUTH_JWT_SECRET: 'a-secret-of-enough-length' };
const dataApi = {
  DATA_API_CLUSTER_ARN: 'arn:aws:rds:eu-west-1:123456789012:cluster:pos',
  DATA_API_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pos-db',
  DATA_API_DATABASE: 'pos',
  AWS_REGION: 'eu-west-1',
};

describe('choosing the database driver', () => {
  it('takes postgres.js for DATABASE_URL and the Data API for cluster, secret and database', () => {
    expect(chooseDriver({ DATABASE_URL: 'postgres://db/pos' })).toEqual({ kind: 'postgres', url: 'postgres://db/pos' });
    expect(chooseDriver(dataApi)).toEqual({
      kind: 'data-api',
      resourceArn: dataApi.DATA_API_CLUSTER_ARN,
      secretArn: dataApi.DATA_API_SECRET_ARN,
      database: 'pos',
      region: 'eu-west-1',
      endpoint: undefined,
    });
    expect(chooseDriver({ ...dataApi, DATA_API_ENDPOINT: 'http://127.0.0.1:8080' })).toMatchObject({
      kind: 'data-api',
      endpoint: 'http://127.0.0.1:8080',
    });
  });

  it.each([
    ['nothing', {}, /DATABASE_URL.*DATA_API_CLUSTER_ARN \+ DATA_API_SECRET_ARN \+ DATA_API_DATABASE/],
    [
      'both drivers',
      { DATABASE_URL: 'postgres://db/pos', ...dataApi },
      /both DATABASE_URL and DATA_API_CLUSTER_ARN, DATA_API_SECRET_ARN, DATA_API_DATABASE/,
    ],
    [
      'half the Data API',
      { DATA_API_CLUSTER_ARN: dataApi.DATA_API_CLUSTER_ARN, AWS_REGION: 'eu-west-1' },
      /also needs DATA_API_SECRET_ARN, DATA_API_DATABASE/,
    ],
    ['only a database name (serverless.yml always sets one)', { DATA_API_DATABASE: 'pos' }, /no database configured/],
    ['no region', { ...dataApi, AWS_REGION: '' }, /AWS_REGION/],
  ])('refuses %s, naming the variables', (_, env, message) => {
    const choice = chooseDriver(env);
    expect('problem' in choice && choice.problem).toMatch(message);
  });

  it('is checked with the rest of the configuration at cold start', () => {
    const config = parseConfig({ ...app, ...dataApi });
    expect(config).toMatchObject({ DATA_API_DATABASE: 'pos', AWS_REGION: 'eu-west-1' });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(() => parseConfig({ ...app, DATABASE_URL: 'postgres://db/pos', ...dataApi })).toThrow(/DATABASE_URL: both DATABASE_URL and/);
    expect(() => parseConfig({ ...app, ...dataApi, DATA_API_DATABASE: '' })).toThrow(
      /DATA_API_DATABASE: the RDS Data API also needs DATA_API_DATABASE/,
    );
    expect(() => parseConfig({ ...app, ...dataApi, DATA_API_SECRET_ARN: 'pos-db' })).toThrow(/DATA_API_SECRET_ARN must be an ARN/);
  });
});

describe('reading Data API timestamps', () => {
  it.each([
    ['AWS’s form: UTC, no offset, microseconds', '2024-05-01 12:34:56.123456', '2024-05-01T12:34:56.123Z'],
    ['whole seconds', '2024-05-01 12:34:56', '2024-05-01T12:34:56.000Z'],
    ['an offset', '2024-05-01 14:34:56.5+02', '2024-05-01T12:34:56.500Z'],
    ['an offset with minutes', '2024-05-01 07:04:56-05:30', '2024-05-01T12:34:56.000Z'],
    ['ISO with Z (the emulator)', '2024-05-01T12:34:56.789Z', '2024-05-01T12:34:56.789Z'],
    ['a date', '2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['a year before 100', '0042-01-02 03:04:05', '0042-01-02T03:04:05.000Z'],
  ])('%s', (_, text, iso) => {
    expect(parseTimestamp(text).toISOString()).toBe(iso);
  });

  it('gives an Invalid Date for infinity, as postgres.js does', () => {
    expect(Number.isNaN(parseTimestamp('infinity').getTime())).toBe(true);
  });
});

describe('Data API errors', () => {
  it('carry the SQLSTATE the Data API names, as postgres.js errors carry theirs', () => {
    const aws = Object.assign(
      new Error(
        'ERROR: duplicate key value violates unique constraint "orders_pkey"\n  Detail: Key (id)=(x) already exists.; SQLState: 23505',
      ),
      { name: 'DatabaseErrorException' },
    );

    const error = new DataApiError(aws);

    expect(error).toMatchObject({ code: '23505', awsError: 'DatabaseErrorException', cause: aws });
    expect(error.message).toContain('duplicate key value');
    expect(new DataApiError(new Error('ERROR: no such table')).code).toBeUndefined();
  });
});

describe('splitting a migration into statements', () => {
  it('splits on semicolons outside quotes, dollar quotes and comments, and drops the comments', () => {
    const script = [
      '-- a comment; not a statement',
      "create table t (a text default 'x;y', b text default E'it\\'s;', \"odd;name\" int);",
      '/* block; /* nested; */ comment */ create function f() returns int language sql as $fn$ select 1; $fn$;',
      'insert into t (a) values ($$a;b$$);;',
      'select $1::int',
    ].join('\n');

    expect(splitStatements(script)).toEqual([
      "create table t (a text default 'x;y', b text default E'it\\'s;', \"odd;name\" int)",
      'create function f() returns int language sql as $fn$ select 1; $fn$',
      'insert into t (a) values ($$a;b$$)',
      'select $1::int',
    ]);
  });

  it('leaves quoted comment markers alone and drops a trailing semicolon', () => {
    expect(stripComments("select '--not a comment', 1 -- a comment: with a colon\n from t;")).toBe(
      "select '--not a comment', 1  \n from t",
    );
  });
});
