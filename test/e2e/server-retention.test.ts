import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startServerFixture, type ServerFixture, type Session } from '../../src/server/server-fixture.suite.js';
import { startSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { runInProcess } from '../helpers/cli.js';
import { simulatorEnv } from '../helpers/collector-env.js';

const DAY_MS = 86_400_000;

/**
 * An admin sets the retention through the API; it overrides the config file's 365 days, is audited, and the
 * retention run of `collect` deletes what is older.
 */
describe('retention set by an admin', () => {
  let simulator: Simulator;
  let fixture: ServerFixture;
  let admin: Session;
  let env: Record<string, string>;
  const nowMs = Date.now();

  beforeAll(async () => {
    simulator = await startSimulator({
      rateLimit: { requests: 1_000_000, windowSecs: 300 },
      traffic: { kind: 'fixed', fromMs: nowMs - 10 * DAY_MS, toMs: nowMs - DAY_MS, count: 400 },
    });
    fixture = await startServerFixture({ env: simulatorEnv(simulator, '') });
    fixture.clock.set(nowMs);
    env = simulatorEnv(simulator, fixture.dataDir, { ZEROTRAIL_COLLECT__BACKFILL_DAYS: '14' });
    admin = await login(fixture.server, 'admin');
  });
  afterAll(async () => {
    await fixture.close();
    await simulator.stop();
  });

  const send = async (method: 'GET' | 'POST', payload?: Record<string, unknown>) => {
    const res = await fixture.server.inject({
      method,
      url: '/api/settings/retention',
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken },
      ...(payload === undefined ? {} : { payload }),
    });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };

  const countEvents = (fromMs?: number, toMs?: number): Promise<number> =>
    fixture.app.store.count({
      filter: null,
      ...(fromMs === undefined ? {} : { fromMs }),
      ...(toMs === undefined ? {} : { toMs }),
    });

  it('reports the config file value until an admin sets one', async () => {
    expect(await send('GET')).toEqual({
      status: 200,
      body: { retention: { days: 365, origin: 'config', configDays: 365, minDays: 1, maxDays: 36_500 } },
    });
  });

  it('refuses a value outside 1 to 36500 whole days, and a viewer', async () => {
    for (const days of [0, 36_501, 1.5, '30']) {
      const refused = await send('POST', { days });
      expect({ days, status: refused.status }).toEqual({ days, status: 400 });
    }
    const viewer = await login(fixture.server, 'viewer');
    const res = await fixture.server.inject({
      method: 'POST',
      url: '/api/settings/retention',
      headers: { cookie: viewer.cookie, 'x-csrf-token': viewer.csrfToken },
      payload: { days: 3 },
    });
    expect(res.statusCode).toBe(403);
    expect((await send('GET')).body['retention']).toMatchObject({ days: 365, origin: 'config' });
  });

  it('keeps older events under the config retention, then deletes them once an admin shortens it', async () => {
    const added = await runInProcess(
      ['source', 'add', '--name', 'Retained', '--account-id', simulator.accountId, '--token-env', 'CF_TOKEN'],
      { env: { ...env, CF_TOKEN: simulator.token } },
    );
    expect(added.code, added.stderr).toBe(0);
    const first = await runInProcess(['collect', '--once'], { env });
    expect(first.code, first.stderr).toBe(0);
    const cutoff = nowMs - 3 * DAY_MS;
    expect(await countEvents(undefined, cutoff)).toBeGreaterThan(0);
    const recent = await countEvents(cutoff);
    expect(recent).toBeGreaterThan(0);

    const set = await send('POST', { days: 3 });
    expect(set).toEqual({
      status: 200,
      body: { retention: { days: 3, origin: 'settings', configDays: 365, minDays: 1, maxDays: 36_500 } },
    });
    const audit = await fixture.auth.listAudit({ limit: 1 });
    expect(audit[0]).toMatchObject({
      actor: 'admin',
      action: 'retention_changed',
      outcome: 'success',
      details: { fromDays: 365, toDays: 3 },
    });

    // The retention run at the start of collection applies the setting over the config file's 365 days.
    const second = await runInProcess(['collect', '--once'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(await countEvents(undefined, cutoff - 60_000)).toBe(0);
    expect(await countEvents(cutoff + 60_000)).toBeGreaterThan(0);
  });
});
