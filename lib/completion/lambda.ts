import type { InvokeCommandInput } from '@aws-sdk/client-lambda';
import type { CompletionHandOff, CompletionRequest } from '../orders/completion';

export interface LambdaHandOffOptions {
  /** The completeOrder function (serverless.yml), by name or ARN. */
  functionName: string;
  /** Another endpoint than AWS's: serverless-offline's Lambda port on a local stack. Unset on AWS. */
  endpoint?: string;
  region?: string;
  /** The whole hand-off (every attempt of the one call) gives up after this: it is on the checkout's critical path. */
  timeoutMs: number;
}

/** One Invoke call: what the adapter needs of the SDK (a test passes its own). */
export type Invoke = (input: InvokeCommandInput, abortSignal: AbortSignal) => Promise<{ StatusCode?: number }>;

/**
 * CompletionHandOff as an asynchronous invocation (InvocationType 'Event') of
 * the completeOrder function: Lambda queues the event durably before it
 * answers 202, retries a run that failed (maximumRetryAttempts) and then sends
 * the event to the function's on-failure destination (serverless.yml). The
 * payload is the order id and the request id, never the owner's token.
 */
export class LambdaCompletionHandOff implements CompletionHandOff {
  private invoker: Promise<Invoke> | undefined;

  constructor(
    private readonly options: LambdaHandOffOptions,
    private readonly createInvoke: () => Promise<Invoke> = () => sdkInvoke(options),
  ) {}

  async handOff(request: CompletionRequest): Promise<void> {
    const invoke = await this.loaded();
    const output = await invoke(
      {
        FunctionName: this.options.functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify({ orderId: request.orderId, requestId: request.requestId })),
      },
      AbortSignal.timeout(this.options.timeoutMs),
    );
    // 202: queued. Anything else is no hand-off (the caller falls back).
    if (output.StatusCode !== 202) throw new Error(`invoking ${this.options.functionName} asynchronously answered ${output.StatusCode}`);
  }

  /** Starts loading the SDK and building its client, while the checkout waits for the upstream. */
  prepare(): void {
    this.loaded().catch(() => undefined); // a failure shows on the hand-off, which falls back
  }

  private loaded(): Promise<Invoke> {
    if (!this.invoker) {
      const loading = this.createInvoke();
      loading.catch(() => {
        if (this.invoker === loading) this.invoker = undefined; // the next hand-off tries again
      });
      this.invoker = loading;
    }
    return this.invoker;
  }
}

/** The SDK's Invoke, loaded on first use: a container that never pays never loads it. */
async function sdkInvoke(options: LambdaHandOffOptions): Promise<Invoke> {
  const { InvokeCommand, LambdaClient } = await import('@aws-sdk/client-lambda');
  const client = new LambdaClient({
    region: options.region,
    endpoint: options.endpoint,
    // serverless-offline checks no signature; on AWS the execution role's credentials sign the call.
    ...(options.endpoint ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    // One retry of a call that failed fast (throttled, a dropped connection); the abort signal bounds both together.
    maxAttempts: 2,
    requestHandler: { connectionTimeout: options.timeoutMs, requestTimeout: options.timeoutMs },
  });
  return (input, abortSignal) => client.send(new InvokeCommand(input), { abortSignal });
}
