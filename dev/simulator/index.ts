export { DEV_JWT_SECRET, DEV_USER, signDevToken } from './auth';
export { DEFAULT_PRODUCTS } from './catalogue';
export { configFromEnv, DEFAULT_CONFIG, DEFAULT_PROFILE } from './config';
export { UPSTREAM_READINGS, type UpstreamReading } from './profiles';
export { startSimulator } from './server';
export type {
  FaultKind,
  Ledger,
  LedgerCall,
  Order,
  OrderStatus,
  Payment,
  PaymentStatus,
  Product,
  Refund,
  RunningSimulator,
  ScriptedFault,
  SimulatorConfig,
  SimulatorConfigPatch,
  SimulatorOptions,
  UpstreamProfile,
} from './types';
