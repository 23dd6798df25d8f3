import { Deadline } from '../../lib/deadline';
import { renderError } from '../../lib/http/error-response';
import { LOCK_MARGIN_MS } from '../../lib/http/idempotency';
import { toLambdaResult, type Reply } from '../../lib/http/reply';
import { beginRequest, finishRequest } from '../../lib/idempotency/lifecycle';
import { orderReply, paymentReply } from '../../lib/orders/http';
import type { Order } from '../../lib/orders/order';
import type { CallOptions } from '../../lib/upstream/client';
import { describeStep, type ActorPlan, type Step } from './plan';
import { chargedPaymentsOf } from './truth';
import type { World } from './world';

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

/** Runs one actor of the plan; its answer (if it gives one) is added to `answers`. */
export async function runActor(world: World, plan: ActorPlan, name: string, answers: Answer[]): Promise<void> {
  const { runtime } = world;
  await runtime.gate(`starts: ${describeStep(plan.step)}`);
  const record = (decided: Decided | undefined) => {
    if (!decided) return;
    const answer = { ...readAnswer(decided.seq, name, plan.step, decided.rendered), replayed: decided.replayed };
    answers.push(answer);
    runtime.note(`answered ${answer.status}${answer.code ? ` ${answer.code}` : ''}${answer.orderStatus ? ` (order ${answer.orderStatus}, ${answer.paymentState})` : ''}${answer.message ? `: ${answer.message}` : ''}`);
  };
  switch (plan.step.kind) {
    case 'checkout':
      return record(await placeOrder(world, plan.step.key, plan.step.pay));
    case 'pay':
      return record(await payOrder(world, plan.step.key));
    case 'cancel':
      return record(await onLatestOrder(world, (order, call) => world.services.checkout.cancel(world.terminal, order.id, call).then((o) => orderReply(o, o.state === 'failing' ? 202 : 200))));
    case 'refund':
      return record(await onLatestOrder(world, (order, call) => world.services.refunds.refund(world.terminal, order.id, call).then((o) => orderReply(o))));
    case 'reconcile':
      await world.services.reconciler.run(world.log);
      return;
    case 'operator':
      await resolveAsOperator(world, answers, name);
      return;
    case 'wait': {
      const { ms } = plan.step;
      await runtime.gate(`time passes: ${ms / 1000} s`, () => world.clock.advanceTo(world.clock.now() + ms));
      return;
    }
  }
}

function requestCall(world: World): CallOptions {
  return { token: world.terminal.token, deadline: Deadline.fromNow(REQUEST_DEADLINE_MS, { clock: world.clock }), log: world.log };
}

/** A paying route behind its Idempotency-Key, as lib/http/idempotency.ts runs it. */
async function idempotent(world: World, route: string, key: string, params: unknown, body: unknown, call: CallOptions, run: () => Promise<Order>): Promise<Decided> {
  const store = world.services.idempotency;
  let begun;
  try {
    begun = await beginRequest(store, { ownerId: world.terminal.userId, key, method: 'POST', route, params, body, lockMs: call.deadline.remainingMs() + LOCK_MARGIN_MS });
  } catch (error) {
    return { rendered: renderError(error), seq: world.runtime.nextSeq() };
  }
  if (begun.kind === 'replay') return { rendered: begun.response, seq: world.runtime.nextSeq(), replayed: true };
  let order: Order | undefined;
  let rendered: Rendered;
  try {
    order = await run();
    rendered = asRendered(paymentReply(order));
  } catch (error) {
    rendered = renderError(error);
  }
  const seq = world.runtime.nextSeq();
  await finishRequest(store, begun.scope, rendered);
  if (order) world.services.checkout.completeAfterReply(order, call);
  return { rendered, seq };
}

function placeOrder(world: World, key: string, pay: boolean): Promise<Decided> {
  const call = requestCall(world);
  return idempotent(world, 'POST /baskets/{basketId}/orders', key, { basketId: world.basketId }, { pay }, call, () =>
    world.services.checkout.placeOrder(world.terminal, world.basketId, key, undefined, call, { pay }),
  );
}

/** The terminal knows the order from an earlier answer; without one there is nothing to pay. */
async function payOrder(world: World, key: string): Promise<Decided | undefined> {
  const order = await latestOrder(world);
  if (!order) return undefined;
  const call = requestCall(world);
  return idempotent(world, 'POST /orders/{orderId}/payments', key, { orderId: order.id }, null, call, () => world.services.checkout.payOrder(world.terminal, order.id, call));
}

async function onLatestOrder(world: World, run: (order: Order, call: CallOptions) => Promise<Reply>): Promise<Decided | undefined> {
  const order = await latestOrder(world);
  if (!order) return undefined;
  let rendered: Rendered;
  try {
    rendered = asRendered(await run(order, requestCall(world)));
  } catch (error) {
    rendered = renderError(error);
  }
  return { rendered, seq: world.runtime.nextSeq() };
}

/** The basket's live order, else its latest one. */
async function latestOrder(world: World): Promise<Order | undefined> {
  const { orders } = await world.services.orders.listForOwner(world.terminal.userId, { limit: 10, basketId: world.basketId });
  return orders.find((order) => order.state !== 'failed') ?? orders[0];
}

/**
 * An operator who checks each order that needs a person with the payment
 * provider (the upstream's ledger, as it stands now) and says what it shows:
 * charged (with the payment), not charged, or for a refund that is stuck,
 * refunded or still charged. A payment still pending there is left for later.
 */
export async function resolveAsOperator(world: World, answers: Answer[], name: string): Promise<void> {
  const { resolutions } = world.services;
  const call = { deadline: Deadline.fromNow(REQUEST_DEADLINE_MS, { clock: world.clock }), log: world.log };
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
    const answer = readAnswer(world.runtime.nextSeq(), name, { kind: 'operator' }, rendered);
    answers.push({ ...answer, orderId: order.id });
    world.runtime.note(`resolves ${order.id.slice(0, 8)} (${order.state}) as ${request.outcome}: ${answer.status}${answer.code ? ` ${answer.code}: ${answer.message}` : ''}`);
  }
}

function asRendered(reply: Reply): Rendered {
  const result = toLambdaResult(reply);
  return { status: result.statusCode ?? 200, body: String(result.body ?? ''), headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])) };
}

function readAnswer(seq: number, actor: string, step: Step, rendered: Rendered): Answer {
  const body = rendered.body ? (JSON.parse(rendered.body) as Record<string, any>) : {};
  if (body.error) return { seq, actor, step, status: rendered.status, code: body.error.code, message: body.error.message, orderId: body.error.orderId };
  return { seq, actor, step, status: rendered.status, orderId: body.id, paymentState: body.paymentState, orderStatus: body.status };
}
