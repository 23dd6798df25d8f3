export { DEV_JWT_SECRET, DEV_USER, signDevToken } from './auth';
export { DEFAULT_PRODUCTS } from './catalogue';
export { configFromEnv, DEFAULT_CONFIG } from './config';
export { startSimulator } from './server';
export type {
  FaultKind,
  Ledger,
  LedgerCall,
  Order,
  OrderIdMode,
  OrderStatus,
  Payment,
  PaymentStatus,
  Product,
  Refund,
  RunningSimulator,
  ScriptedFault,
  SimulatorConfig,
  SimulatorOptions,
} from './types';
