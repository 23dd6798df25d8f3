import type { UpstreamProfile } from './types';

/**
 * Readings of the open points of the upstream contract that the service must work under, by name:
 * each is a partial profile to PUT to /__profiles/{user} (or to set as the global `profile`).
 */
export const UPSTREAM_READINGS = {
  default: {},
  'ids-deduplicated': { orderIds: 'deduplicated' },
  'ids-rejected': { orderIds: 'rejected' },
  'ids-ignored': { orderIds: 'ignored' },
  'payments-pending': { payments: 'pending' },
  'refunds-once': { refunds: 'once' },
  'refunds-repeat': { refunds: 'repeat' },
  'replies-varied': { replies: 'varied' },
  '503-after-effect': { unavailable: 'after_effect' },
  'late-effects': { lateEffects: 0.1 },
  hostile: {
    orderIds: 'ignored',
    payments: 'pending',
    refunds: 'repeat',
    replies: 'varied',
    unavailable: 'after_effect',
    lateEffects: 0.1,
  },
} satisfies Record<string, Partial<UpstreamProfile>>;

export type UpstreamReading = keyof typeof UPSTREAM_READINGS;
