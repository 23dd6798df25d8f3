import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { Deadline } from '../../lib/deadline';
import { AppError } from '../../lib/errors';
import { idempotency, untakenKeyAnswer } from '../../lib/http/idempotency';
import { KeyNotTakenError } from '../../lib/idempotency/claim';
import type { ServiceEvent } from '../../lib/http/middleware';
import type { LambdaResult } from '../../lib/http/reply';
import { IdempotencyStore } from '../../lib/idempotency/store';
import { rootLogger } from '../../lib/logger';
import { drivers, suiteClients } from '../support/drivers';

const ROUTE = 'POST /baskets/{basketId}/orders';

describe.each(drivers)('the Idempotency-Key middleware over a real Postgres ($name)', (driver) => {
  const store = new IdempotencyStore(suiteClients(driver, { max: 4 }).sql, { ttlMs: 3_600_000 });
  let runs: number;
  beforeEach(() => (runs = 0));

  /**
   * The middleware as endpoint() installs it, in front of `work`, whose first write takes the key (as the
   * checkout's does) and which answers for a key it cannot take as endpoint() does; the event carries what
   * the earlier middlewares put there.
   */
  function handlerFor(work: () => Promise<LambdaResult>) {
    return middy<ServiceEvent, LambdaResult, Error, Context>()
      .use(idempotency(() => store, ROUTE))
      .handler(async (event) => {
        try {
          await event.state.idempotency!.claim.take();
        } catch (error) {
          if (!(error instanceof KeyNotTakenError)) throw error;
          return untakenKeyAnswer(store, error, event.state, () => {
            throw new Error('no answers stored as orders in this test');
          });
        }
        runs++;
        return work();
      });
  }

  const request = (ownerId: string, key: string | undefined, basketId = 'b1') =>
    ({
      routeKey: ROUTE,
      state: {
        requestId: randomUUID(),
        log: rootLogger,
        startedAt: Date.now(),
        deadline: Deadline.fromNow(10_000),
        caller: { userId: ownerId, token: 't', roles: [] },
        input: { params: { basketId }, body: undefined, query: {}, headers: key ? { 'idempotency-key': key } : {} },
      },
    }) as unknown as ServiceEvent;

  const invoke = (handler: ReturnType<typeof handlerFor>, event: ServiceEvent) => handler(event, {} as Context);
  const newCaller = () => ({ owner: `owner-${randomUUID()}`, key: randomUUID() });

  it('runs the handler once and replays its answer byte for byte, with only the replayable headers', async () => {
    const { owner, key } = newCaller();
    const handler = handlerFor(async () => ({
      statusCode: 201,
      body: '{"id":"o1","total":2880}',
      headers: { location: '/orders/o1', 'x-other': 'dropped' },
    }));

    const first = await invoke(handler, request(owner, key));
    const second = await invoke(handler, request(owner, key));

    expect(runs).toBe(1);
    expect(first.statusCode).toBe(201);
    expect(second).toEqual({
      statusCode: 201,
      body: first.body,
      headers: { 'content-type': 'application/json', location: '/orders/o1', 'idempotent-replayed': 'true' },
    });
  });

  it('stores a final error (402) and replays it without running again', async () => {
    const { owner, key } = newCaller();
    const handler = handlerFor(() => Promise.reject(new AppError('PAYMENT_DECLINED', 'declined', { extra: { orderId: 'o2' } })));

    await expect(invoke(handler, request(owner, key))).rejects.toMatchObject({ code: 'PAYMENT_DECLINED' });
    const replay = await invoke(handler, request(owner, key));

    expect(runs).toBe(1);
    expect(replay.statusCode).toBe(402);
    expect(JSON.parse(replay.body!)).toEqual({ error: { code: 'PAYMENT_DECLINED', message: 'declined', orderId: 'o2' } });
  });

  it('releases the key after an answer with Retry-After, an unexpected error or a 503, so the same key runs again', async () => {
    const { owner, key } = newCaller();
    await expect(
      invoke(
        handlerFor(() => Promise.reject(new AppError('UPSTREAM_UNAVAILABLE', 'down', { retryAfterSeconds: 5 }))),
        request(owner, key),
      ),
    ).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
    });
    await expect(
      invoke(
        handlerFor(() => Promise.reject(new Error('bug'))),
        request(owner, key),
      ),
    ).rejects.toThrow('bug');
    await invoke(
      handlerFor(async () => ({ statusCode: 202, body: '{}', headers: { 'retry-after': '2' } })),
      request(owner, key),
    );

    const last = await invoke(
      handlerFor(async () => ({ statusCode: 201, body: '{"ok":true}' })),
      request(owner, key),
    );

    expect(runs).toBe(4);
    expect(last.statusCode).toBe(201);
  });

  it('refuses the same key for another request, and a key whose request still runs', async () => {
    const { owner, key } = newCaller();
    let release!: () => void;
    const running = invoke(
      handlerFor(() => new Promise((resolve) => (release = () => resolve({ statusCode: 201, body: '{}' })))),
      request(owner, key),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));

    const quick = handlerFor(async () => ({ statusCode: 201, body: '{}' }));
    await expect(invoke(quick, request(owner, key))).rejects.toMatchObject({ code: 'REQUEST_IN_PROGRESS' });
    await expect(invoke(quick, request(owner, key, 'b2'))).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    release();
    await running;
    expect(runs).toBe(1);
  });

  it('scopes a key to its caller: another cashier with the same key runs on its own', async () => {
    const { owner, key } = newCaller();
    const handler = handlerFor(async () => ({ statusCode: 201, body: '{}' }));

    await invoke(handler, request(owner, key));
    await invoke(handler, request(`${owner}-other`, key));

    expect(runs).toBe(2);
  });

  it('answers 400 IDEMPOTENCY_KEY_MISSING without a key, running nothing', async () => {
    await expect(
      invoke(
        handlerFor(async () => ({ statusCode: 201, body: '{}' })),
        request(newCaller().owner, undefined),
      ),
    ).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_MISSING',
      status: 400,
    });
    expect(runs).toBe(0);
  });
});
