/**
 * `serverless package` as a deploy would run it, offline: no AWS account, fake
 * credentials, in a copy of the project under a temp dir (so nothing is left in
 * the repo and the running test stack's .esbuild is not touched). Then the
 * CloudFormation template and the zips are checked.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { load } from 'js-yaml';
import { copyProjectForPackaging, packagingEnv, SERVERLESS_CLI } from '../../dev/infra/packaging';
import { allRoutes } from '../../lib/http/routes';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '../..');
const MAX_ZIP_BYTES = 1024 * 1024;
/** What serverless.yml's `ci` stage sets (every optional part on). */
const CI = { stage: 'ci', upstream: 'https://pos.example.com', issuer: 'https://issuer.example.com/', audience: 'pos-terminals' };
const DATA_API_ACTIONS = [
  'rds-data:ExecuteStatement',
  'rds-data:BeginTransaction',
  'rds-data:CommitTransaction',
  'rds-data:RollbackTransaction',
];
const CLUSTER_ARN = { 'Fn::GetAtt': ['DatabaseCluster', 'DBClusterArn'] };
const SECRET_ARN = { Ref: 'AppDatabaseUserSecret' };

type Json = Record<string, any>;

/** The file names in a zip, read from its central directory (no unzip needed). */
function zipEntries(file: string): string[] {
  const zip = readFileSync(file);
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06])); // end of central directory record
  const count = zip.readUInt16LE(end + 10);
  const names: string[] = [];
  for (let at = zip.readUInt32LE(end + 16), i = 0; i < count; i++) {
    const [nameLength, extraLength, commentLength] = [zip.readUInt16LE(at + 28), zip.readUInt16LE(at + 30), zip.readUInt16LE(at + 32)];
    names.push(zip.toString('utf8', at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return names.sort();
}

interface ServerlessConfig {
  functions: Record<
    string,
    { handler: string; memorySize?: number; timeout?: number; events?: Array<{ httpApi?: unknown; schedule?: unknown }> }
  >;
}

const serverlessYml = load(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8')) as ServerlessConfig;

/** `serverless print` of the prod stage with these parameters, as JSON (the CLI prints a banner before it). */
async function printedProdConfig(params: string[]): Promise<Json> {
  const { stdout } = await serverless(['print', '--stage', 'prod', '--format', 'json', ...params]);
  return JSON.parse(stdout.slice(stdout.indexOf('{')));
}

let work: string;

/** The serverless CLI in the copy, with nothing of this machine's environment but PATH: no credentials, no DATABASE_URL. */
function serverless(args: string[]) {
  return run(process.execPath, [SERVERLESS_CLI, ...args], {
    cwd: path.join(work, 'project'),
    timeout: 240_000,
    maxBuffer: 32 * 1024 * 1024,
    env: packagingEnv(path.join(work, 'home')),
  });
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'pos-basket-package-'));
  copyProjectForPackaging(path.join(work, 'project'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('serverless package --stage ci (no AWS access)', () => {
  let template: Json;
  let resources: Json;
  let out: string;

  beforeAll(async () => {
    out = path.join(work, 'out');
    await serverless(['package', '--stage', CI.stage, '--package', out]);
    template = JSON.parse(readFileSync(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
    resources = template.Resources;
  }, 300_000);

  const ofType = (type: string) => Object.entries<Json>(resources).filter(([, resource]) => resource.Type === type);
  const lambdaOf = (functionName: string) => resources[`${functionName[0]!.toUpperCase()}${functionName.slice(1)}LambdaFunction`];

  it('packages every function on its own, each zip at most 1 MB, holding only its minified bundle', () => {
    const sizes: string[] = [];
    for (const [name, fn] of Object.entries(serverlessYml.functions)) {
      const zip = path.join(out, `${name}.zip`);
      const bytes = statSync(zip).size;
      sizes.push(`${name.padEnd(18)} ${(bytes / 1024).toFixed(0).padStart(5)} KB`);
      expect({ name, withinLimit: bytes <= MAX_ZIP_BYTES }).toEqual({ name, withinLimit: true });
      expect(lambdaOf(name).Properties.Code.S3Key).toMatch(new RegExp(`/${name}\\.zip$`));
      expect(fn.handler).toMatch(/\.handler$/);
    }
    expect(
      readdirSync(out)
        .filter((file) => file.endsWith('.zip'))
        .sort(),
    ).toEqual(
      Object.keys(serverlessYml.functions)
        .map((name) => `${name}.zip`)
        .sort(),
    );
    process.stdout.write(`\n[deploy] zipped bundles (stage ${CI.stage}):\n${sizes.map((line) => `  ${line}`).join('\n')}\n`);
  });

  it('zips the bundle alone: no source map, no node_modules, no TypeScript', () => {
    for (const [name, fn] of Object.entries(serverlessYml.functions)) {
      const handlerFile = `${fn.handler.replace(/\.handler$/, '')}.js`;
      expect({ name, entries: zipEntries(path.join(out, `${name}.zip`)) }).toEqual({ name, entries: [handlerFile] });
    }
  });

  it('deploys every HTTP route of serverless.yml, with the JWT authorizer on each authenticated one', () => {
    const routes = new Map(ofType('AWS::ApiGatewayV2::Route').map(([, route]) => [route.Properties.RouteKey as string, route.Properties]));
    const authorizers = ofType('AWS::ApiGatewayV2::Authorizer');
    expect(authorizers).toHaveLength(1);
    const [authorizerId, authorizer] = authorizers[0]!;
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.x-auth-user'],
      JwtConfiguration: { Issuer: CI.issuer, Audience: [CI.audience] },
    });
    for (const [functionName, fn] of Object.entries(serverlessYml.functions)) {
      for (const event of fn.events ?? []) {
        if (!event.httpApi) continue;
        if (event.httpApi === '*') {
          expect(routes.get('$default')).toMatchObject({
            Target: { 'Fn::Join': ['/', ['integrations', { Ref: 'HttpApiIntegrationNotFound' }]] },
          });
          expect(routes.get('$default')).not.toHaveProperty('AuthorizerId');
          continue;
        }
        const { method, path: routePath } = event.httpApi as { method: string; path: string };
        const key = `${method.toUpperCase()} ${routePath}`;
        const route = allRoutes.find((entry) => `${entry.method} ${entry.path}` === key);
        expect({ key, functionName: route?.functionName }).toEqual({ key, functionName });
        const deployed = routes.get(key);
        expect({ key, deployed: deployed !== undefined }).toEqual({ key, deployed: true });
        if (route!.authenticated === false) expect({ key, authorizer: deployed!.AuthorizerId }).toEqual({ key, authorizer: undefined });
        else
          expect({ key, type: deployed!.AuthorizationType, authorizer: deployed!.AuthorizerId }).toEqual({
            key,
            type: 'JWT',
            authorizer: { Ref: authorizerId },
          });
      }
    }
    expect(routes.size).toBe(allRoutes.length + 1);
  });

  it('runs the reconciler every minute', () => {
    const rules = ofType('AWS::Events::Rule').map(([, rule]) => rule.Properties);
    expect(rules).toEqual([
      expect.objectContaining({
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [expect.objectContaining({ Arn: { 'Fn::GetAtt': ['ReconcilerLambdaFunction', 'Arn'] } })],
      }),
    ]);
    expect(resources.ReconcilerLambdaFunction.Properties.Timeout).toBe(120);
  });

  it('lets the handlers use the Data API on the cluster only, and read its secret only', () => {
    const statements = [
      ...resources.IamRoleLambdaExecution.Properties.Policies.flatMap((policy: Json) => policy.PolicyDocument.Statement),
      ...ofType('AWS::IAM::Policy').flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement),
    ];
    const actionsOf = (statement: Json): string[] => [statement.Action].flat();
    const dataApi = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('rds-data:')));
    const secrets = statements.filter(
      (statement) =>
        actionsOf(statement).some((action) => action.startsWith('secretsmanager:')) && !actionsOf(statement).includes('ssm:GetParameter'),
    );
    expect(dataApi).toEqual([{ Effect: 'Allow', Action: DATA_API_ACTIONS, Resource: CLUSTER_ARN }]);
    expect(secrets).toEqual([{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: SECRET_ARN }]);
    for (const statement of statements) {
      expect(actionsOf(statement).filter((action) => action === '*' || /^(rds-data|secretsmanager|rds):\*$/.test(action))).toEqual([]);
    }
    const [, policy] = ofType('AWS::IAM::Policy').find(([, p]) =>
      p.Properties.PolicyDocument.Statement.some((s: Json) => s === dataApi[0] || actionsOf(s).includes('rds-data:ExecuteStatement')),
    )!;
    expect(policy.Condition).toBe('UseDataApi');
    expect(policy.Properties.Roles).toEqual([{ Ref: 'IamRoleLambdaExecution' }]);
  });

  it('creates an Aurora Serverless v2 PostgreSQL cluster with the Data API on and its master secret in Secrets Manager, under a condition', () => {
    expect(template.Conditions.CreateDatabase).toEqual({ 'Fn::Equals': ['true', 'true'] });
    expect(resources.DatabaseCluster).toMatchObject({
      Type: 'AWS::RDS::DBCluster',
      Condition: 'CreateDatabase',
      Properties: {
        Engine: 'aurora-postgresql',
        EnableHttpEndpoint: true,
        ManageMasterUserPassword: true,
        StorageEncrypted: true,
        ServerlessV2ScalingConfiguration: expect.any(Object),
      },
    });
    expect(resources.DatabaseInstance).toMatchObject({
      Condition: 'CreateDatabase',
      Properties: { DBInstanceClass: 'db.serverless', DBClusterIdentifier: { Ref: 'DatabaseCluster' }, PubliclyAccessible: false },
    });
  });

  it('gives every function its stage, the Data API target, the upstream, its own memory and timeout, and no local default', () => {
    for (const [name, fn] of Object.entries(serverlessYml.functions)) {
      const properties = lambdaOf(name).Properties;
      expect({ name, memory: typeof fn.memorySize, timeout: typeof fn.timeout }).toEqual({ name, memory: 'number', timeout: 'number' });
      expect(properties).toMatchObject({ MemorySize: fn.memorySize, Timeout: fn.timeout });
      if (fn.events?.some((event) => event.httpApi)) expect(properties.Timeout).toBeLessThan(29);
      expect(properties.Environment.Variables).toMatchObject({
        SERVICE_STAGE: CI.stage,
        UPSTREAM_BASE_URL: CI.upstream,
        DATA_API_CLUSTER_ARN: CLUSTER_ARN,
        DATA_API_SECRET_ARN: SECRET_ARN,
        DATA_API_DATABASE: 'pos',
        AUTH_TRUST_API_GATEWAY: 'true',
      });
    }
    expect(JSON.stringify(template)).not.toMatch(/127\.0\.0\.1|localhost/);
  });

  it('alarms on unknown orders older than an hour, an open breaker, the API 5xx rate, a silent reconciler, orders without credentials and completion dead letters', () => {
    const alarms = Object.fromEntries(ofType('AWS::CloudWatch::Alarm').map(([id, alarm]) => [id, alarm]));
    expect(Object.keys(alarms).sort()).toEqual([
      'Api5xxRateAlarm',
      'BreakerOpenAlarm',
      'CompletionDeadLettersAlarm',
      'ReconcilerNotRunningAlarm',
      'UnknownOrdersAlarm',
      'WithoutCredentialsAlarm',
    ]);
    const ours = [
      { Name: 'service', Value: 'pos-basket-service' },
      { Name: 'stage', Value: CI.stage },
    ];
    const single = (id: string) => {
      const p = alarms[id].Properties;
      return {
        namespace: p.Namespace,
        metric: p.MetricName,
        dimensions: p.Dimensions,
        statistic: p.Statistic,
        period: p.Period,
        evaluationPeriods: p.EvaluationPeriods,
        threshold: p.Threshold,
        comparison: p.ComparisonOperator,
        missing: p.TreatMissingData,
      };
    };
    expect(single('UnknownOrdersAlarm')).toEqual({
      namespace: 'PosBasketService',
      metric: 'OldestUnknownOrderSeconds',
      dimensions: ours,
      statistic: 'Maximum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 3600,
      comparison: 'GreaterThanOrEqualToThreshold',
      missing: 'notBreaching',
    });
    expect(single('WithoutCredentialsAlarm')).toEqual({
      namespace: 'PosBasketService',
      metric: 'ReconcilerWithoutCredentials',
      dimensions: ours,
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      missing: 'notBreaching',
    });
    expect(single('BreakerOpenAlarm')).toEqual({
      namespace: 'PosBasketService',
      metric: 'BreakerOpened',
      dimensions: ours,
      statistic: 'Sum',
      period: 60,
      evaluationPeriods: 1,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      missing: 'notBreaching',
    });
    expect(single('ReconcilerNotRunningAlarm')).toEqual({
      namespace: 'PosBasketService',
      metric: 'ReconcilerRun',
      dimensions: ours,
      statistic: 'Sum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 1,
      comparison: 'LessThanThreshold',
      missing: 'breaching',
    });
    expect(single('CompletionDeadLettersAlarm')).toEqual({
      namespace: 'AWS/SQS',
      metric: 'ApproximateNumberOfMessagesVisible',
      dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['CompletionDeadLetterQueue', 'QueueName'] } }],
      statistic: 'Maximum',
      period: 300,
      evaluationPeriods: 1,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      missing: 'notBreaching',
    });
    expect(alarms.ReconcilerNotRunningAlarm.Condition).toBe('ReconcilerScheduled');
    expect(template.Conditions.ReconcilerScheduled).toEqual({ 'Fn::Equals': ['true', 'true'] });

    const rate = alarms.Api5xxRateAlarm.Properties;
    expect(rate).toMatchObject({
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    const byId = Object.fromEntries(rate.Metrics.map((m: Json) => [m.Id, m]));
    const apiMetric = (name: string) => ({
      Metric: { Namespace: 'AWS/ApiGateway', MetricName: name, Dimensions: [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }] },
      Period: 300,
      Stat: 'Sum',
    });
    expect(byId.errors).toMatchObject({ ReturnData: false, MetricStat: apiMetric('5xx') });
    expect(byId.requests).toMatchObject({ ReturnData: false, MetricStat: apiMetric('Count') });
    expect(byId.rate).toMatchObject({ ReturnData: true, Expression: 'IF(requests >= 20, 100 * errors / requests, 0)' });
    expect(resources.HttpApi.Type).toBe('AWS::ApiGatewayV2::Api');

    // The handlers publish under the namespace and service the alarms select.
    for (const name of Object.keys(serverlessYml.functions)) {
      expect(lambdaOf(name).Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: 'PosBasketService',
        POWERTOOLS_SERVICE_NAME: 'pos-basket-service',
        SERVICE_STAGE: CI.stage,
      });
    }
    // No notification target by default: no topic, no actions.
    expect(template.Conditions.NotifyAlarms).toBeDefined();
    expect(resources.AlarmTopic.Condition).toBe('CreateAlarmTopic');
    for (const alarm of Object.values<Json>(alarms)) {
      expect(alarm.Properties.AlarmActions).toEqual({
        'Fn::If': ['NotifyAlarms', [{ 'Fn::If': ['HasAlarmTopicArn', '', { Ref: 'AlarmTopic' }] }], { Ref: 'AWS::NoValue' }],
      });
    }
  });

  it("hands a paid order's completion to completeOrder: an asynchronous invoke the API may make, retried twice, then a dead-letter queue", () => {
    const completeOrder = lambdaOf('completeOrder').Properties;
    expect(completeOrder).toMatchObject({ Timeout: 40, ReservedConcurrentExecutions: 10 });
    expect(completeOrder.Timeout * 1000).toBeGreaterThan(25_000); // REQUEST_DEADLINE_MS, the budget of its upstream calls
    expect(serverlessYml.functions.completeOrder!.events ?? []).toEqual([]);

    // Lambda retries a failed run twice, then sends the event to the queue (events older than an hour too).
    const configs = ofType('AWS::Lambda::EventInvokeConfig').map(([, config]) => config.Properties);
    const deadLetterArn = { 'Fn::GetAtt': ['CompletionDeadLetterQueue', 'Arn'] };
    expect(configs).toEqual([
      {
        FunctionName: { Ref: 'CompleteOrderLambdaFunction' },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: { OnFailure: { Destination: deadLetterArn } },
      },
    ]);
    expect(resources.CompletionDeadLetterQueue).toMatchObject({
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: `pos-basket-service-${CI.stage}-completion-dead-letters`,
        MessageRetentionPeriod: 1_209_600,
        SqsManagedSseEnabled: true,
      },
    });

    // The functions' role may invoke completeOrder (and nothing else) and send to the queue (and nothing else).
    const statements: Json[] = resources.IamRoleLambdaExecution.Properties.Policies.flatMap(
      (policy: Json) => policy.PolicyDocument.Statement,
    );
    const actionsOf = (statement: Json): string[] => [statement.Action].flat();
    const functionArn = {
      'Fn::Join': [
        ':',
        [
          'arn',
          { Ref: 'AWS::Partition' },
          'lambda',
          { Ref: 'AWS::Region' },
          { Ref: 'AWS::AccountId' },
          'function',
          `pos-basket-service-${CI.stage}-completeOrder`,
        ],
      ],
    };
    expect(statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('lambda:')))).toEqual([
      { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: functionArn },
    ]);
    expect(statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('sqs:')))).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: deadLetterArn },
    ]);

    // The checkouts know it by name, and invoke AWS's Lambda API (no local endpoint in a package).
    for (const name of ['placeOrder', 'payOrder']) {
      expect({ name, env: lambdaOf(name).Properties.Environment.Variables }).toMatchObject({
        name,
        env: {
          COMPLETION_FUNCTION_NAME: `pos-basket-service-${CI.stage}-completeOrder`,
          COMPLETION_INVOKE_ENDPOINT: '',
          COMPLETION_HANDOFF_TIMEOUT_MS: '1000',
        },
      });
    }
  });

  it('allows our request headers and exposes ours through CORS', () => {
    const cors = resources.HttpApi.Properties.CorsConfiguration;
    expect(cors.AllowHeaders).toEqual(
      expect.arrayContaining(['x-auth-user', 'idempotency-key', 'if-match', 'content-type', 'x-request-id']),
    );
    expect(cors.ExposeHeaders).toEqual(expect.arrayContaining(['etag', 'retry-after', 'location', 'x-request-id', 'idempotent-replayed']));
    expect(cors.AllowOrigins).toEqual(['https://tills.example.com']);
  });

  it('allows no origin at all unless a stage names some, and never any origin outside local', () => {
    const params = (serverlessYml as unknown as { params: Record<string, { corsAllowedOrigins?: string[] }> }).params;
    expect(params.default.corsAllowedOrigins).toEqual([]);
    for (const [stage, values] of Object.entries(params))
      if (stage !== 'local') expect([stage, values.corsAllowedOrigins ?? []]).not.toEqual([stage, expect.arrayContaining(['*'])]);
  });

  it('reserves concurrency for every function that writes the database, leaving the account 100 unreserved of its default 1,000', () => {
    const writers = [...new Set(allRoutes.filter((route) => route.method !== 'GET').map((route) => route.functionName))];
    expect(writers).toEqual(
      expect.arrayContaining(['placeOrder', 'payOrder', 'cancelOrder', 'refundOrder', 'resolveOrder', 'setBasketItem']),
    );
    for (const name of writers) expect([name, lambdaOf(name).Properties.ReservedConcurrentExecutions]).toEqual([name, 25]);
    expect(lambdaOf('reconciler').Properties.ReservedConcurrentExecutions).toBe(2);
    const reserved = ofType('AWS::Lambda::Function').reduce((sum, [, fn]) => sum + (fn.Properties.ReservedConcurrentExecutions ?? 0), 0);
    expect(reserved).toBeLessThanOrEqual(900);
  });

  it('connects the handlers as their own database user, never the master user', () => {
    expect(resources.AppDatabaseUserSecret).toMatchObject({
      Type: 'AWS::SecretsManager::Secret',
      Condition: 'CreateDatabase',
      Properties: { GenerateSecretString: { SecretStringTemplate: '{"username": "pos_app_login"}', GenerateStringKey: 'password' } },
    });
    expect(JSON.stringify(lambdaOf('placeOrder').Properties.Environment.Variables)).not.toContain('MasterUserSecret');
    expect(template.Outputs.AppDatabaseUserSecretArn).toMatchObject({
      Condition: 'CreateDatabase',
      Value: { Ref: 'AppDatabaseUserSecret' },
    });
  });

  it('lets the handlers read the secrets named by ARN, and only those, and tells them where', () => {
    const policy = resources.SecretStoreReadPolicy;
    expect(policy.Condition).toBe('ReadsSecretStore');
    const [statement] = policy.Properties.PolicyDocument.Statement;
    expect(statement.Action).toEqual(['secretsmanager:GetSecretValue', 'ssm:GetParameter']);
    expect(statement.Resource).toEqual([
      { 'Fn::If': ['HasJwtSecretRef', 'arn:aws:ssm:eu-west-1:123456789012:parameter/pos/ci/jwt-secret', { Ref: 'AWS::NoValue' }] },
      {
        'Fn::If': [
          'HasTokenKeysRef',
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pos-ci-token-keys-AbCdEf',
          { Ref: 'AWS::NoValue' },
        ],
      },
      { 'Fn::If': ['HasDatabaseUrlRef', '', { Ref: 'AWS::NoValue' }] },
    ]);
    const env = lambdaOf('placeOrder').Properties.Environment.Variables;
    expect(env).toMatchObject({
      TOKEN_ENCRYPTION_KEYS_REF: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pos-ci-token-keys-AbCdEf',
      AUTH_JWT_SECRET_REF: 'arn:aws:ssm:eu-west-1:123456789012:parameter/pos/ci/jwt-secret',
    });
    expect(env.TOKEN_ENCRYPTION_KEYS).toBe('');
    expect(env.AUTH_JWT_SECRET).toBe('');
  });

  it('throttles the HTTP API stage: every route, steady rate and burst', () => {
    const [[, stage]] = ofType('AWS::ApiGatewayV2::Stage') as [[string, Json]];
    expect(stage.Properties.DefaultRouteSettings).toEqual(expect.objectContaining({ ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 }));
  });
});

describe('serverless.yml with an existing cluster (serverless print, no AWS access)', () => {
  const cluster = 'arn:aws:rds:eu-west-1:123456789012:cluster:pos';
  const secret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pos-db-AbCdEf';

  it('scopes the Data API and the secret to the ARNs given, and creates no cluster', async () => {
    const config = await printedProdConfig([
      `--param=dataApiClusterArn=${cluster}`,
      `--param=dataApiSecretArn=${secret}`,
      `--param=upstreamBaseUrl=https://pos.example.com`,
    ]);
    expect(config.resources.Conditions.CreateDatabase).toEqual({ 'Fn::Equals': ['false', 'true'] });
    expect(config.resources.Conditions.UseDataApi['Fn::Or'][1]).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [cluster, ''] }] });
    expect(config.resources.Resources.DataApiAccessPolicy.Properties.PolicyDocument.Statement.map((s: Json) => s.Resource)).toEqual([
      cluster,
      secret,
    ]);
    expect(config.provider.environment).toMatchObject({
      SERVICE_STAGE: 'prod',
      DATA_API_CLUSTER_ARN: cluster,
      DATA_API_SECRET_ARN: secret,
      UPSTREAM_BASE_URL: 'https://pos.example.com',
      AUTH_TRUST_API_GATEWAY: 'false',
    });
    for (const fn of Object.values<Json>(config.functions))
      for (const event of fn.events ?? []) if (event.httpApi?.authorizer !== undefined) expect(event.httpApi.authorizer).toBe('');
  }, 120_000);

  it('sends the alarms to the SNS topic given, or to one it creates for an email address', async () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:pos-alarms';
    const { Conditions, Resources } = (await printedProdConfig([`--param=alarmTopicArn=${topic}`, '--param=alarmEmail=oncall@example.com']))
      .resources;
    expect(Conditions.HasAlarmTopicArn).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [topic, ''] }] });
    expect(Conditions.HasAlarmEmail).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['oncall@example.com', ''] }] });
    // The topic given wins; the stack creates one only for an email address alone.
    expect(Conditions.CreateAlarmTopic).toEqual({
      'Fn::And': [{ Condition: 'HasAlarmEmail' }, { 'Fn::Not': [{ Condition: 'HasAlarmTopicArn' }] }],
    });
    expect(Resources.AlarmTopic.Properties.Subscription).toEqual([{ Protocol: 'email', Endpoint: 'oncall@example.com' }]);
    for (const id of [
      'UnknownOrdersAlarm',
      'BreakerOpenAlarm',
      'Api5xxRateAlarm',
      'ReconcilerNotRunningAlarm',
      'CompletionDeadLettersAlarm',
    ]) {
      expect({ id, actions: Resources[id].Properties.AlarmActions }).toEqual({
        id,
        actions: {
          'Fn::If': ['NotifyAlarms', [{ 'Fn::If': ['HasAlarmTopicArn', topic, { Ref: 'AlarmTopic' }] }], { Ref: 'AWS::NoValue' }],
        },
      });
    }
  }, 120_000);
});
