import { releaseTier } from './tiers';

export default async function integrationTeardown(): Promise<void> {
  await releaseTier('integration');
}
