export type FaultKind = '503' | '500_after' | 'hang_after' | 'reset' | 'reset_after' | 'decline';
export type OrderIdMode = 'duplicate' | 'dedupe' | 'reject';
export type OrderStatus = 'pending' | 'completed' | 'failed';
export type PaymentStatus = 'pending' | 'completed' | 'failed' | 'refunded';

export interface SimulatorConfig {
  seed: number;
  latency: { medianMs: number; p99Ms: number };
  faults: { rate503: number; rate500After: number; rateHangAfter: number; rateReset: number };
  hangMs: number;
  declineRate: number;
  orderIdMode: OrderIdMode;
}

export interface SimulatorOptions extends Partial<SimulatorConfig> {
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
