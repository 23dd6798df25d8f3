export type FaultKind =
  '503' | '503_after' | '500_after' | 'hang_after' | 'reset' | 'reset_after' | 'decline' | 'wrong_total' | 'late_effect';
export type OrderStatus = 'pending' | 'completed' | 'failed';
export type PaymentStatus = 'pending' | 'completed' | 'failed' | 'refunded';

/**
 * One reading of what the upstream contract leaves open (upstream-api.md, "What the contract leaves open").
 * The defaults are the simulator's original behaviour.
 */
export interface UpstreamProfile {
  /**
   * POST /orders/ with order_id. 'kept': the order gets order_id as its id; a repeat makes a second record
   * with the same id. 'deduplicated': a repeat by the same user answers the existing order. 'rejected': a
   * repeat answers 409. 'ignored': every order gets a fresh UUID; a repeat makes a second order.
   */
  orderIds: 'kept' | 'deduplicated' | 'rejected' | 'ignored';
  /**
   * 'completed': POST /payments/ answers the payment completed at once (a decline answers 402).
   * 'pending': it answers 201 with status 'pending'; after pendingPaymentMs the payment is 'completed',
   * or 'failed' when that request was declined.
   */
  payments: 'completed' | 'pending';
  pendingPaymentMs: number;
  /**
   * A second DELETE /payments/{id} of a refunded payment. 'idempotent': answers the refunded payment and
   * records nothing. 'once': answers 404. 'repeat': records another refund each time and answers 200.
   */
  refunds: 'idempotent' | 'once' | 'repeat';
  /**
   * 'plain': 201 on creation, 200 on PATCH, error bodies as JSON strings, FastAPI-style 422 reports.
   * 'varied': POST /orders/ and POST /payments/ answer 200, PATCH /orders/{id} 201, error bodies are
   * text/plain and 422 reports are shaped like Elysia/TypeBox's.
   */
  replies: 'plain' | 'varied';
  /** Whether a 503 fault comes before the request's effect or after it. */
  unavailable: 'before_effect' | 'after_effect';
  /**
   * Share of changing requests (POST, PATCH, DELETE) not otherwise faulted that the upstream is still
   * working on when the caller gives up: nothing is answered (the connection is cut after `hangMs`), and
   * the effect lands `lateEffectMs` later, after any read in between saw nothing.
   */
  lateEffects: number;
  lateEffectMs: number;
}

export interface SimulatorConfig {
  seed: number;
  latency: { medianMs: number; p99Ms: number };
  faults: { rate503: number; rate500After: number; rateHangAfter: number; rateReset: number };
  hangMs: number;
  declineRate: number;
  /** The reading every user gets unless PUT /__profiles/{user} overrides part of it. */
  profile: UpstreamProfile;
}

/** A partial config whose groups may be partial too. */
export type SimulatorConfigPatch = {
  [K in keyof SimulatorConfig]?: SimulatorConfig[K] extends object ? Partial<SimulatorConfig[K]> : SimulatorConfig[K];
};

export interface SimulatorOptions extends SimulatorConfigPatch {
  port?: number;
  host?: string;
  jwtSecret: string;
}

export interface RunningSimulator {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface Product {
  id: string;
  name: string;
  vat_rate: number;
  price_unit: number;
}

export interface Order {
  id: string;
  amount_total: number;
  basket_id: string | null;
  user_id: string;
  created_at: string;
  status: OrderStatus;
}

export interface Payment {
  id: string;
  amount: number;
  user_id: string;
  created_at: string;
  status: PaymentStatus;
  type: string;
  order_id: string;
}

export interface Refund {
  payment_id: string;
  order_id: string;
  amount: number;
  at: string;
}

export interface LedgerCall {
  seq: number;
  method: string;
  path: string;
  user: string | null;
  /** HTTP status sent, or 0 when the socket was destroyed instead (reset, hang). */
  status: number;
  fault: FaultKind | null;
  latencyMs: number;
  effectApplied: boolean;
  at: string;
}

export interface Ledger {
  orders: Order[];
  payments: Payment[];
  refunds: Refund[];
  calls: LedgerCall[];
}

export interface ScriptedFault {
  method: string;
  path: string;
  kind: FaultKind;
  times: number;
  user: string | null;
}
