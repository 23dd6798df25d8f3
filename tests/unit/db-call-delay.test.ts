import { parseConfig } from '../../lib/config';
import { DEPLOYED_ENV as deployed, LOCAL_ENV as local } from '../support/config-env';

describe('DATABASE_CALL_DELAY_MS (lib/db/delayed.ts): a benchmark setting', () => {
  it('is 0 unless set, and the local stage may set it', () => {
    expect(parseConfig(local).DATABASE_CALL_DELAY_MS).toBe(0);
    expect(parseConfig({ ...local, DATABASE_CALL_DELAY_MS: '10' }).DATABASE_CALL_DELAY_MS).toBe(10);
    expect(parseConfig({ ...local, DATABASE_CALL_DELAY_MS: '10', IS_OFFLINE: 'true' }).DATABASE_CALL_DELAY_MS).toBe(10);
  });

  it('is refused on a deployed stage, and inside AWS Lambda whatever the stage', () => {
    expect(parseConfig({ ...deployed, DATABASE_CALL_DELAY_MS: '0' }).DATABASE_CALL_DELAY_MS).toBe(0);
    expect(() => parseConfig({ ...deployed, DATABASE_CALL_DELAY_MS: '10' })).toThrow(/DATABASE_CALL_DELAY_MS.*only the local stage/);
    expect(() =>
      parseConfig({
        ...deployed,
        SERVICE_STAGE: 'local',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
        DATABASE_CALL_DELAY_MS: '10',
      }),
    ).toThrow(/never in AWS Lambda/);
  });

  it('must be a whole number of ms up to 1000', () => {
    expect(() => parseConfig({ ...local, DATABASE_CALL_DELAY_MS: '-1' })).toThrow(/DATABASE_CALL_DELAY_MS/);
    expect(() => parseConfig({ ...local, DATABASE_CALL_DELAY_MS: '2.5' })).toThrow(/DATABASE_CALL_DELAY_MS/);
    expect(() => parseConfig({ ...local, DATABASE_CALL_DELAY_MS: '1001' })).toThrow(/DATABASE_CALL_DELAY_MS/);
  });
});
