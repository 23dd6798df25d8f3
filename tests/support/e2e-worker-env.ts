import { applyTierEnv } from './tier-env';

applyTierEnv('e2e');
