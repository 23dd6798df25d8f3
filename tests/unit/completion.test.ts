import { randomUUID } from 'node:crypto';
import type { InvokeCommandInput } from '@aws-sdk/client-lambda';
import type { CallContext } from '../../lib/call';
import { TokenVault } from '../../lib/credentials';
import { LambdaCompletionHandOff } from '../../lib/completion/lambda';
import { Deadline } from '../../lib/deadline';
import { Checkout } from '../../lib/orders/checkout';
import { Completion, type CompletionHandOff, type CompletionRequest } from '../../lib/orders/completion';
import type { Order } from '../../lib/orders/order';
import { Settlement } from '../../lib/orders/settlement';
import { FakeUpstream, InMemoryBaskets, InMemoryOrders, silentLogger, testVault, UNAVAILABLE } from '../support/fakes/index';
import { CASHIER, OPTIONS } from '../support/use-cases';

/**
 * A paid order's completion after the reply (lib/orders/completion.ts): the
 * checkout's side hands it to a worker (a fake hand-off here; on Lambda an
 * asynchronous invoke, lib/completion/lambda.ts) or, when that fails,
 * completes in its own process; the worker completes it as the order's owner,
 * through in-memory ports (tests/support/fakes/).
 */

/** Records every hand-off; fails or never answers when told to. */
class FakeHandOff implements CompletionHandOff {
  readonly handedOff: CompletionRequest[] = [];
  prepared = 0;
  failWith: Error | undefined;

  async handOff(request: CompletionRequest): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.handedOff.push(request);
  }

  prepare(): void {
    this.prepared++;
  }
}

let baskets: InMemoryBaskets;
let orders: InMemoryOrders;
let upstream: FakeUpstream;
let settlement: Settlement;
let checkout: Checkout;
let handOff: FakeHandOff;
let completion: Completion;

const call = (): CallContext => ({ token: CASHIER.token, deadline: Deadline.fromNow(2_000), log: silentLogger });

beforeEach(() => {
  baskets = new InMemoryBaskets();
  orders = new InMemoryOrders(baskets);
  upstream = new FakeUpstream();
  const vault = testVault();
  settlement = new Settlement({ orders, upstreamOrders: upstream, payments: upstream }, OPTIONS);
  checkout = new Checkout({ orders, baskets, upstreamOrders: upstream, payments: upstream, vault, settlement }, OPTIONS);
  handOff = new FakeHandOff();
  completion = new Completion({ orders, settlement, vault, handOff }, { deadlineMs: 2_000 });
});

/** A basket ordered and paid: the order is `paid`, its basket locked, the owner's token sealed beside it. */
async function paidOrder(): Promise<Order> {
  const basketId = randomUUID();
  await baskets.create(CASHIER.userId, basketId);
  await baskets.putLine(CASHIER.userId, basketId, {
    productId: 'pizza',
    productName: 'Pizza',
    quantity: 1,
    netUnitMinor: 1000,
    vatBasisPoints: 2500,
  });
  const order = await checkout.placeOrder(CASHIER, basketId, randomUUID(), undefined, call());
  expect(order.state).toBe('paid');
  return order;
}

const stateOf = async (order: Order) => (await orders.findById(order.id))!.state;
const basketOf = async (order: Order) => (await baskets.find(CASHIER.userId, order.basketId))?.status;

describe("the checkout's side: hand the completion off before the reply", () => {
  it('hands a paid order off with its id and the request id (never a token), and runs nothing after the reply', async () => {
    const order = await paidOrder();
    const afterReply: Array<() => void> = [];

    completion.prepare();
    const start = await completion.afterPayment(order, call(), { requestId: 'req-1', runAfterReply: (work) => afterReply.push(work) });

    expect(start).toBe('handed_off');
    expect(handOff.prepared).toBe(1);
    expect(handOff.handedOff).toEqual([{ orderId: order.id, requestId: 'req-1' }]);
    expect(JSON.stringify(handOff.handedOff)).not.toContain(CASHIER.token);
    expect(afterReply).toEqual([]);
    expect(await stateOf(order)).toBe('paid'); // the worker completes it, not this request
    expect(upstream.callsTo('setOrderStatus')).toBe(0);
  });

  it('falls back to completing in its own process after the reply when the hand-off fails', async () => {
    const order = await paidOrder();
    handOff.failWith = new Error('Lambda is unreachable');
    const afterReply: Array<() => void> = [];

    const start = await completion.afterPayment(order, call(), { requestId: 'req-2', runAfterReply: (work) => afterReply.push(work) });

    expect(start).toBe('in_process');
    expect(afterReply).toHaveLength(1);
    expect(await stateOf(order)).toBe('paid'); // nothing before the reply
    afterReply[0]!();
    await until(async () => (await stateOf(order)) === 'completed');
    expect(await basketOf(order)).toBe('closed');
    expect(upstream.optionsOf('setOrderStatus')?.token).toBe(CASHIER.token);
  });

  it('completes in its own process when no hand-off is configured', async () => {
    const inProcess = new Completion({ orders, settlement, vault: testVault() }, { deadlineMs: 2_000 });
    const order = await paidOrder();
    const afterReply: Array<() => void> = [];

    expect(await inProcess.afterPayment(order, call(), { requestId: 'req-3', runAfterReply: (work) => afterReply.push(work) })).toBe(
      'in_process',
    );
    afterReply[0]!();
    await until(async () => (await stateOf(order)) === 'completed');
  });

  it('hands nothing off for an order that is not paid', async () => {
    const order = { ...(await paidOrder()), state: 'declined' as const };
    const afterReply: Array<() => void> = [];

    expect(await completion.afterPayment(order, call(), { requestId: 'req-4', runAfterReply: (work) => afterReply.push(work) })).toBe(
      'not_paid',
    );
    expect(handOff.handedOff).toEqual([]);
    expect(afterReply).toEqual([]);
  });
});

describe('the worker: complete the order handed off, as its owner', () => {
  it("completes a paid order upstream with the owner's own token, then here, with the basket closed", async () => {
    const order = await paidOrder();

    expect(await completion.complete(order.id, silentLogger)).toBe('completed');

    expect(await stateOf(order)).toBe('completed');
    expect(await basketOf(order)).toBe('closed');
    expect(upstream.callsTo('setOrderStatus')).toBe(1);
    expect(upstream.optionsOf('setOrderStatus')?.token).toBe(CASHIER.token);
    expect(upstream.orders.map((o) => o.status)).toEqual(['completed']);
  });

  it('does nothing for an order completed already (a second delivery of the same hand-off)', async () => {
    const order = await paidOrder();
    await completion.complete(order.id, silentLogger);

    expect(await completion.complete(order.id, silentLogger)).toBe('not_paid');
    expect(upstream.callsTo('setOrderStatus')).toBe(1);
  });

  it('leaves an order whose lease someone holds (the reconciler) to them', async () => {
    const order = await paidOrder();
    await orders.claimLease(order.id, { holder: randomUUID(), ms: 60_000 });

    expect(await completion.complete(order.id, silentLogger)).toBe('in_progress');
    expect(upstream.callsTo('setOrderStatus')).toBe(0);
    expect(await stateOf(order)).toBe('paid');
  });

  it('throws on an upstream failure (so the platform retries), leaving the order paid and its lease free for the reconciler', async () => {
    const order = await paidOrder();
    upstream.failNext('setOrderStatus', UNAVAILABLE);

    await expect(completion.complete(order.id, silentLogger)).rejects.toThrow();

    expect(await stateOf(order)).toBe('paid');
    expect(await basketOf(order)).toBe('locked');
    expect(await orders.claimLease(order.id, { holder: randomUUID(), ms: 1_000 })).toBeDefined();
  });

  it('completes on the retry once the upstream answers again', async () => {
    const order = await paidOrder();
    upstream.failNext('setOrderStatus', UNAVAILABLE);
    await expect(completion.complete(order.id, silentLogger)).rejects.toThrow();

    expect(await completion.complete(order.id, silentLogger)).toBe('completed');
    expect(await stateOf(order)).toBe('completed');
  });

  it('answers without credentials, and calls nothing upstream, when the sealed token cannot be opened', async () => {
    const order = await paidOrder();
    const otherKeys = new Completion(
      { orders, settlement, vault: new TokenVault([{ id: 'other', key: Buffer.alloc(32, 9) }]) },
      { deadlineMs: 2_000 },
    );

    expect(await otherKeys.complete(order.id, silentLogger)).toBe('without_credentials');
    expect(upstream.callsTo('setOrderStatus')).toBe(0);
    expect(await stateOf(order)).toBe('paid');
  });

  it('answers not found for an order it does not know', async () => {
    expect(await completion.complete(randomUUID(), silentLogger)).toBe('not_found');
  });
});

describe('the Lambda hand-off (lib/completion/lambda.ts)', () => {
  const request = { orderId: randomUUID(), requestId: 'req-9' };

  it("invokes the function asynchronously ('Event') with the order id and the request id as its payload", async () => {
    const sent: InvokeCommandInput[] = [];
    const handOff = new LambdaCompletionHandOff({ functionName: 'svc-stage-completeOrder', timeoutMs: 500 }, async () => async (input) => {
      sent.push(input);
      return { StatusCode: 202 };
    });

    await handOff.handOff(request);

    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ FunctionName: 'svc-stage-completeOrder', InvocationType: 'Event' });
    expect(JSON.parse(Buffer.from(sent[0]!.Payload as Uint8Array).toString())).toEqual(request);
  });

  it('fails when Lambda did not queue the event, and gives up at its timeout', async () => {
    const refused = new LambdaCompletionHandOff({ functionName: 'f', timeoutMs: 500 }, async () => async () => ({ StatusCode: 200 }));
    await expect(refused.handOff(request)).rejects.toThrow(/answered 200/);

    const hanging = new LambdaCompletionHandOff(
      { functionName: 'f', timeoutMs: 50 },
      async () => (_input, signal) =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })),
    );
    const startedAt = Date.now();
    await expect(hanging.handOff(request)).rejects.toThrow('aborted');
    expect(Date.now() - startedAt).toBeLessThan(1_000);
  });

  it('builds its client once, and again after it could not', async () => {
    let builds = 0;
    const handOff = new LambdaCompletionHandOff({ functionName: 'f', timeoutMs: 500 }, async () => {
      builds++;
      if (builds === 1) throw new Error('could not load the SDK');
      return async () => ({ StatusCode: 202 });
    });

    handOff.prepare();
    await expect(handOff.handOff(request)).rejects.toThrow('could not load the SDK');
    await handOff.handOff(request);
    await handOff.handOff(request);
    expect(builds).toBe(2);
  });
});

async function until(condition: () => Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
