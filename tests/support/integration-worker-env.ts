import { applyTierEnv } from './tier-env';

applyTierEnv('integration');
