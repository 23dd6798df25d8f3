/**
 * What `npm run bench:cpu` measures its handlers against, in a process of its own so none of their CPU
 * counts as the handlers': the upstream simulator (no latency, no faults), a stand-in for the Lambda
 * invoke API the checkout's completion hand-off calls (202 to an 'Event' invocation; the payloads are
 * kept for GET /__invocations, which hands them over once), and with `--data-api <database url>` the
 * Data API emulator over that database. Prints one JSON line with their URLs, then runs until killed.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDataApiEmulator } from '../../dev/infra/data-api-emulator';
import { DEV_JWT_SECRET, startSimulator } from '../../dev/simulator';
import { QUIET_UPSTREAM } from './harness';

export interface CpuPeers {
  simulatorUrl: string;
  /** POST {lambdaUrl}/2015-03-31/functions/{name}/invocations answers 202; GET {lambdaUrl}/__invocations the payloads since the last GET. */
  lambdaUrl: string;
  dataApiEndpoint?: string;
}

export interface RecordedInvocation {
  functionName: string;
  invocationType: string | undefined;
  payload: unknown;
}

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

async function startLambdaStandIn(): Promise<string> {
  let recorded: RecordedInvocation[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
      if (req.method === 'POST' && invoke) {
        const type = req.headers['x-amz-invocation-type'];
        let payload: unknown = body;
        try {
          payload = JSON.parse(body);
        } catch {
          // kept as text
        }
        recorded.push({ functionName: decodeURIComponent(invoke[1]), invocationType: Array.isArray(type) ? type[0] : type, payload });
        res.writeHead(type === 'Event' ? 202 : 200, { 'content-type': 'application/json' }).end(type === 'Event' ? '' : 'null');
        return;
      }
      if (req.method === 'GET' && req.url === '/__invocations') {
        const taken = recorded;
        recorded = [];
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(taken));
        return;
      }
      res.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function main(): Promise<void> {
  const dataApiAt = process.argv.indexOf('--data-api');
  const simulator = await startSimulator({
    ...QUIET_UPSTREAM,
    latency: { medianMs: 0, p99Ms: 0 },
    jwtSecret: process.env.AUTH_JWT_SECRET || DEV_JWT_SECRET,
  });
  const lambdaUrl = await startLambdaStandIn();
  const dataApi = dataApiAt > 0 ? await startDataApiEmulator(process.argv[dataApiAt + 1]) : undefined;
  const peers: CpuPeers = { simulatorUrl: simulator.url, lambdaUrl, ...(dataApi ? { dataApiEndpoint: dataApi.endpoint } : {}) };
  process.stdout.write(`${JSON.stringify(peers)}\n`);
  const stop = () => void Promise.allSettled([simulator.close(), dataApi?.stop()]).finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
