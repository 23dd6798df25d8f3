import { Deadline } from '../../lib/deadline';
import { renderError } from '../../lib/http/error-response';
import { LOCK_MARGIN_MS, replayedResponse } from '../../lib/http/idempotency';
import { toLambdaResult, type Reply } from '../../lib/http/reply';
import { KeyNotTakenError, type KeyClaim } from '../../lib/idempotency/claim';
import { answerForUntakenKey, claimRequest, finishClaim } from '../../lib/idempotency/lifecycle';
import { orderReply, paymentReply, storedPaymentAnswer } from '../../lib/orders/http';
import type { Order } from '../../lib/orders/order';
import type { CallOptions } from '../../lib/upstream/client';
import { describeStep, type ActorPlan, type Step } from './plan';
import { chargedPaymentsOf } from './truth';
import type { Logger } from '../../lib/logger';
import type { Services } from '../../lib/services';
import { Actor, ACTOR_START } from './runtime';
import { traceLogger, type World } from './world';

/** The service's request deadline (REQUEST_DEADLINE_MS's default). */
const REQUEST_DEADLINE_MS = 25_000;

/** What a terminal (or an operator) was told, in order with the upstream calls sent (`seq`: when the service decided it). */
export interface Answer {
  seq: number;
  /** A stored answer replayed for a retry with the same key: it was judged when it was first given. */
  replayed?: boolean;
  actor: string;
  step: Step;
  orderId?: string;
  status: number;
  code?: string;
  message?: string;
  /** The order's paymentState and status in a successful answer. */
  paymentState?: string;
  orderStatus?: string;
}

interface Rendered {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** An answer, with when the service decided it (before it stored it for the key and sent it). */
interface Decided {
  rendered: Rendered;
  seq: number;
  replayed?: boolean;
}

/** One actor at work: the world it acts in, the service as it runs it, and its log into the trace. */
export interface Acting {
  world: World;
  actor: Actor;
  services: Services;
  log: Logger;
}

export function acting(world: World, actor: Actor): Acting {
  return { world, actor, services: world.servicesFor(actor), log: traceLogger(world.runtime, actor.name) };
}

/** Runs one actor of the plan; its answer (if it gives one) is added to `answers`. */
export async function runActor(world: World, plan: ActorPlan, name: string, answers: Answer[]): Promise<void> {
  const { runtime } = world;
  const as = acting(world, new Actor(name, plan.dieAtStep));
  await runtime.gate(as.actor, `${ACTOR_START}${describeStep(plan.step)}`);
  const record = (decided: Decided | undefined) => {
    if (!decided) return;
    const answer = { ...readAnswer(decided.seq, name, plan.step, decided.rendered), replayed: decided.replayed };
    answers.push(answer);
    runtime.note(
      `answered ${answer.status}${answer.code ? ` ${answer.code}` : ''}${answer.orderStatus ? ` (order ${answer.orderStatus}, ${answer.paymentState})` : ''}${answer.message ? `: ${answer.message}` : ''}`,
      name,
    );
  };
  const { checkout, refunds } = as.services;
  switch (plan.step.kind) {
    case 'checkout':
      return record(await placeOrder(as, plan.step.key, plan.step.pay));
    case 'pay':
      return record(await payOrder(as, plan.step.key));
    case 'cancel':
      return record(
        await onLatestOrder(as, (order, call) =>
          checkout.cancel(world.terminal, order.id, call).then((o) => orderReply(o, o.state === 'failing' ? 202 : 200)),
        ),
      );
    case 'refund':
      return record(await onLatestOrder(as, (order, call) => refunds.refund(world.terminal, order.id, call).then((o) => orderReply(o))));
    case 'reconcile':
      await as.services.reconciler.run(as.log);
      return;
    case 'operator':
      await resolveAsOperator(as, answers);
      return;
    case 'wait': {
      const { ms } = plan.step;
      await runtime.gate(as.actor, `time passes: ${ms / 1000} s`, () => world.clock.advanceTo(world.clock.now() + ms));
      return;
    }
  }
}

function requestCall(as: Acting): CallOptions {
  return { token: as.world.terminal.token, deadline: requestDeadline(as), log: as.log };
}

/**
 * The request's deadline, counted from when the request reached the service
 * (the actor's first step), not from when the actor was created: an actor the
 * scheduler holds back is a request not sent yet. Nothing goes upstream after it.
 */
function requestDeadline(as: Acting): Deadline {
  const { clock } = as.world;
  const createdAt = clock.now();
  const sinceArrival = {
    now: () => (as.actor.firstStepAt === undefined ? createdAt : createdAt + clock.now() - as.actor.firstStepAt),
    sleep: (ms: number) => clock.sleep(ms),
  };
  return Deadline.fromNow(REQUEST_DEADLINE_MS, { clock: sinceArrival });
}

/**
 * A paying route behind its Idempotency-Key, as lib/http/idempotency.ts and
 * lib/http/endpoint.ts run it: the use-case's first write takes the key;
 * when it cannot, the stored answer is replayed (or 409/422 given).
 */
async function idempotent(
  as: Acting,
  route: string,
  key: string,
  params: unknown,
  body: unknown,
  call: CallOptions,
  run: (claim: KeyClaim) => Promise<Order>,
): Promise<Decided> {
  const { runtime } = as.world;
  const store = as.services.idempotency;
  const claim = claimRequest(store, {
    ownerId: as.world.terminal.userId,
    key,
    method: 'POST',
    route,
    params,
    body,
    lockMs: call.deadline.remainingMs() + LOCK_MARGIN_MS,
  });
  let order: Order | undefined;
  let rendered: Rendered;
  try {
    order = await run(claim);
    rendered = asRendered(paymentReply(order));
  } catch (error) {
    if (error instanceof KeyNotTakenError) return untakenKey(as, claim);
    rendered = renderError(error);
  }
  const seq = runtime.nextSeq();
  await finishClaim(store, claim, rendered);
  if (order) as.services.settlement.completeAfterReply(order, call);
  return { rendered, seq };
}

async function untakenKey(as: Acting, claim: KeyClaim): Promise<Decided> {
  try {
    const replayed = await answerForUntakenKey(as.services.idempotency, claim);
    return { rendered: replayedResponse(replayed, storedPaymentAnswer), seq: as.world.runtime.nextSeq(), replayed: true };
  } catch (error) {
    return { rendered: renderError(error), seq: as.world.runtime.nextSeq() };
  }
}

function placeOrder(as: Acting, key: string, pay: boolean): Promise<Decided> {
  const call = requestCall(as);
  const { terminal, basketId } = as.world;
  return idempotent(as, 'POST /baskets/{basketId}/orders', key, { basketId }, { pay }, call, (claim) =>
    as.services.checkout.placeOrder(terminal, basketId, key, undefined, call, { pay, key: claim }),
  );
}

/** The terminal knows the order from an earlier answer; without one there is nothing to pay. */
async function payOrder(as: Acting, key: string): Promise<Decided | undefined> {
  const order = await latestOrder(as);
  if (!order) return undefined;
  const call = requestCall(as);
  return idempotent(as, 'POST /orders/{orderId}/payments', key, { orderId: order.id }, null, call, (claim) =>
    as.services.checkout.payOrder(as.world.terminal, order.id, call, claim),
  );
}

async function onLatestOrder(as: Acting, run: (order: Order, call: CallOptions) => Promise<Reply>): Promise<Decided | undefined> {
  const order = await latestOrder(as);
  if (!order) return undefined;
  let rendered: Rendered;
  try {
    rendered = asRendered(await run(order, requestCall(as)));
  } catch (error) {
    rendered = renderError(error);
  }
  return { rendered, seq: as.world.runtime.nextSeq() };
}

/** The basket's live order, else its latest one. */
async function latestOrder(as: Acting): Promise<Order | undefined> {
  const { orders } = await as.services.orders.listForOwner(as.world.terminal.userId, { limit: 10, basketId: as.world.basketId });
  return orders.find((order) => order.state !== 'failed') ?? orders[0];
}

/**
 * An operator who checks each order that needs a person with the payment
 * provider (the upstream's ledger, as it stands now) and says what it shows:
 * charged (with the payment), not charged, or for a refund that is stuck,
 * refunded or still charged. A payment still pending there is left for later.
 */
export async function resolveAsOperator(as: Acting, answers: Answer[]): Promise<void> {
  const { world } = as;
  const { resolutions } = as.services;
  const call = { deadline: requestDeadline(as), log: as.log };
  const page = await resolutions.list(world.operator, { limit: 50 });
  for (const order of page.orders.filter((o) => o.ownerId === world.terminal.userId)) {
    const truth = chargedPaymentsOf(world.upstream.state.ledger(world.terminal.userId), order.id);
    if (truth.pending) continue;
    const charge = truth.charged[0];
    const seen = 'seen at the payment provider';
    const request =
      order.state === 'refunding'
        ? { outcome: charge?.status === 'refunded' ? ('refunded' as const) : ('charged' as const), reason: seen }
        : charge
          ? { outcome: 'charged' as const, paymentId: charge.id, reason: seen }
          : { outcome: 'not_charged' as const, reason: 'nothing at the payment provider' };
    let rendered: Rendered;
    try {
      const resolved = await resolutions.resolve(world.operator, order.id, request, call);
      rendered = asRendered(orderReply(resolved.order));
    } catch (error) {
      rendered = renderError(error);
    }
    const answer = readAnswer(world.runtime.nextSeq(), as.actor.name, { kind: 'operator' }, rendered);
    answers.push({ ...answer, orderId: order.id });
    world.runtime.note(
      `resolves ${order.id.slice(0, 8)} (${order.state}) as ${request.outcome}: ${answer.status}${answer.code ? ` ${answer.code}: ${answer.message}` : ''}`,
      as.actor.name,
    );
  }
}

function asRendered(reply: Reply): Rendered {
  const result = toLambdaResult(reply);
  return {
    status: result.statusCode ?? 200,
    body: String(result.body ?? ''),
    headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])),
  };
}

function readAnswer(seq: number, actor: string, step: Step, rendered: Rendered): Answer {
  const body = rendered.body ? (JSON.parse(rendered.body) as Record<string, any>) : {};
  if (body.error)
    return { seq, actor, step, status: rendered.status, code: body.error.code, message: body.error.message, orderId: body.error.orderId };
  return { seq, actor, step, status: rendered.status, orderId: body.id, paymentState: body.paymentState, orderStatus: body.status };
}
