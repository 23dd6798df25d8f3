import { configFromEnv, startSimulator } from '../../dev/simulator';
import { ALICE, startHarness, type Harness } from './harness';

describe('configFromEnv', () => {
  it('is empty when no SIM_* variable is set', () => {
    expect(configFromEnv({})).toEqual({});
  });

  it('reads every variable', () => {
    const config = configFromEnv({
      SIM_SEED: '7',
      SIM_LATENCY_MEDIAN_MS: '40',
      SIM_LATENCY_P99_MS: '900',
      SIM_RATE_503: '0.05',
      SIM_RATE_500_AFTER: '0.02',
      SIM_RATE_HANG_AFTER: '0.01',
      SIM_RATE_RESET: '0.01',
      SIM_HANG_MS: '5000',
      SIM_DECLINE_RATE: '0.1',
      SIM_ORDER_IDS: 'rejected',
      SIM_PAYMENTS: 'pending',
      SIM_PENDING_PAYMENT_MS: '50',
      SIM_REFUNDS: 'repeat',
      SIM_REPLIES: 'varied',
      SIM_503: 'after_effect',
    });
    expect(config).toEqual({
      seed: 7,
      latency: { medianMs: 40, p99Ms: 900 },
      faults: { rate503: 0.05, rate500After: 0.02, rateHangAfter: 0.01, rateReset: 0.01 },
      hangMs: 5000,
      declineRate: 0.1,
      profile: {
        orderIds: 'rejected',
        payments: 'pending',
        pendingPaymentMs: 50,
        refunds: 'repeat',
        replies: 'varied',
        unavailable: 'after_effect',
      },
    });
  });

  it('fills the rest of a group: unset rates are 0, a median alone is a constant latency', () => {
    expect(configFromEnv({ SIM_RATE_503: '0.5', SIM_LATENCY_MEDIAN_MS: '30' })).toEqual({
      latency: { medianMs: 30, p99Ms: 30 },
      faults: { rate503: 0.5, rate500After: 0, rateHangAfter: 0, rateReset: 0 },
    });
  });

  /** A value one variable may not take: the error names that variable. */
  const badValues: Array<[string, string]> = [
    ['SIM_SEED', '1.5'],
    ['SIM_SEED', '-1'],
    ['SIM_RATE_503', 'often'],
    ['SIM_RATE_RESET', '2'],
    ['SIM_DECLINE_RATE', '-0.1'],
    ['SIM_HANG_MS', ' '],
    ['SIM_ORDER_IDS', 'duplicate'],
    ['SIM_PAYMENTS', 'later'],
    ['SIM_PENDING_PAYMENT_MS', '-5'],
    ['SIM_PENDING_PAYMENT_MS', 'soon'],
    ['SIM_REFUNDS', 'twice'],
    ['SIM_REPLIES', 'json'],
    ['SIM_503', 'after'],
  ];

  it.each([
    ...badValues.map(([variable, value]): [Record<string, string>, string] => [{ [variable]: value }, variable]),
    // Wrong together (or one without the other): the error names the variable at fault.
    [{ SIM_LATENCY_MEDIAN_MS: '100', SIM_LATENCY_P99_MS: '50' }, 'SIM_LATENCY_P99_MS'],
    [{ SIM_LATENCY_P99_MS: '50' }, 'SIM_LATENCY_MEDIAN_MS'],
    [{ SIM_RATE_503: '0.6', SIM_RATE_RESET: '0.6' }, 'SIM_RATE_503'],
  ])('rejects %j naming %s', (env, variable) => {
    expect(() => configFromEnv(env)).toThrow(variable);
  });
});

describe('startSimulator', () => {
  it('treats options set to undefined as not given', async () => {
    const sim = await startSimulator({ jwtSecret: 's', seed: undefined, latency: undefined });
    const config = await (await fetch(`${sim.url}/__config`)).json();
    await sim.close();
    expect(config).toMatchObject({ seed: 42, latency: { medianMs: 0, p99Ms: 0 } });
  });

  it('refuses an invalid config or a missing secret', async () => {
    await expect(startSimulator({ jwtSecret: 's', declineRate: 3 })).rejects.toThrow('declineRate');
    await expect(startSimulator({ jwtSecret: '' })).rejects.toThrow('jwtSecret');
  });
});

describe('admin routes', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ seed: 5, profile: { orderIds: 'rejected' } });
  });
  afterAll(() => h.close());

  it('GET /__health answers ok', async () => {
    expect(await h.admin('GET', '/__health')).toEqual({ status: 200, body: { ok: true } });
  });

  it('PUT /__config merges a partial config, nested groups included', async () => {
    await h.setConfig({ latency: { medianMs: 3, p99Ms: 30 } });
    const result = await h.admin('PUT', '/__config', { latency: { p99Ms: 60 }, faults: { rate503: 0.1 } });
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({
      seed: 5,
      profile: { orderIds: 'rejected', payments: 'completed' },
      latency: { medianMs: 3, p99Ms: 60 },
      faults: { rate503: 0.1, rateReset: 0 },
    });
  });

  it.each([
    [{ declineRate: 'high' }, ['body', 'declineRate']],
    [{ faults: { rate503: 0.7, rateReset: 0.7 } }, ['body', 'faults']],
    [{ latency: { medianMs: 10, p99Ms: 5 } }, ['body', 'latency', 'p99Ms']],
    [{ colour: 'red' }, ['body', 'colour']],
    [{ latency: 5 }, ['body', 'latency']],
    [{ profile: { orderIds: 'duplicate' } }, ['body', 'profile', 'orderIds']],
    [{ profile: { pendingPaymentMs: -1 } }, ['body', 'profile', 'pendingPaymentMs']],
    [{ profile: { colour: 'red' } }, ['body', 'profile', 'colour']],
    [{ profile: 'hostile' }, ['body', 'profile']],
    [{ orderIdMode: 'reject' }, ['body', 'orderIdMode']],
  ])('PUT /__config %j answers 422 and changes nothing', async (patch, loc) => {
    const before = (await h.admin('GET', '/__config')).body;
    const result = await h.admin('PUT', '/__config', patch);
    expect(result.status).toBe(422);
    expect(result.body).toEqual({ detail: [expect.objectContaining({ loc })] });
    expect((await h.admin('GET', '/__config')).body).toEqual(before);
  });

  it('POST /__token issues a token the upstream routes accept', async () => {
    const issued = await h.admin('POST', '/__token', { sub: ALICE, expiresIn: 60 });
    const { token } = issued.body as { token: string };
    expect((await h.call('GET', '/orders/', { token })).status).toBe(200);
    expect((await h.admin('POST', '/__token', {})).status).toBe(422);
  });

  it('POST /__reset restores the startup config and empties the ledger and the fault queue', async () => {
    await h.admin('PUT', '/__config', { profile: { orderIds: 'deduplicated' }, declineRate: 0.5 });
    await h.call('POST', '/orders/', { body: { total: 1 } });
    await h.queueFault({ method: 'GET', path: '/orders/', kind: '503' });
    await h.setProfile(ALICE, { replies: 'varied' });
    expect((await h.admin('POST', '/__reset')).status).toBe(200);
    expect((await h.admin('GET', '/__config')).body).toMatchObject({
      seed: 5,
      profile: { orderIds: 'rejected' },
      declineRate: 0,
    });
    expect((await h.admin('GET', `/__profiles/${ALICE}`)).body).toMatchObject({ replies: 'plain' });
    expect(await h.ledger()).toEqual({ orders: [], payments: [], refunds: [], calls: [] });
    expect((await h.admin('GET', '/__faults')).body).toEqual([]);
  });

  it('admin routes are never faulted nor recorded', async () => {
    await h.admin('PUT', '/__config', { faults: { rate503: 1 } });
    expect((await h.admin('GET', '/__health')).status).toBe(200);
    expect((await h.ledger()).calls).toEqual([]);
    await h.reset();
  });

  it('unknown admin routes answer 404', async () => {
    expect((await h.admin('GET', '/__nothing')).status).toBe(404);
  });
});
