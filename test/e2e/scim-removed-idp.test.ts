import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { DEFAULT_PERMISSIONS, PERMISSIONS } from '../../src/simulator/simulator.js';
import { runInProcess } from '../helpers/cli.js';
import { expectExactlyOnce, setUpCollector, storedRawRecords, type CollectorEnv } from '../helpers/collector-env.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
// Off the whole second, so that no simulated record sits exactly on a window's end.
const START = Date.parse('2026-11-18T12:00:00.000Z') + 123;

describe('SCIM updates of an identity provider deleted between two runs', () => {
  let setup: CollectorEnv | undefined;
  afterEach(async () => {
    await setup?.cleanup();
    setup = undefined;
  });

  it('are all stored, those it sent after the first run included', async () => {
    const clock = new ManualClock(START);
    setup = await setUpCollector({
      seed: 7,
      clock,
      adminTraffic: { historyDays: 10 },
      traffic: { kind: 'fixed', fromMs: START - DAY_MS, toMs: START, count: 20 },
      tokens: [
        {
          value: 'zt-sim-token-scim-removed-idp-00000000001',
          permissions: [...DEFAULT_PERMISSIONS, PERMISSIONS.accessScimLogs],
        },
      ],
    });
    const sim = setup.simulator;
    const collect = async (): Promise<void> => {
      const result = await runInProcess(['collect', '--once', '--backfill-days', '10'], {
        env: setup?.env ?? {},
        clock: { now: () => clock.now() },
      });
      expect(result.code, result.stderr).toBe(0);
    };

    await collect();
    clock.advance(8 * HOUR_MS);
    const azure = String(sim.inventory().identityProviders.find((idp) => idp['type'] === 'azureAD')?.['id']);
    sim.updateInventory((inventory) => ({
      ...inventory,
      identityProviders: inventory.identityProviders.filter((idp) => idp['id'] !== azure),
    }));
    await collect();

    const expected = sim.scimUpdatesBetween(START - 10 * DAY_MS, clock.now() + 1);
    const sentSinceFirstRun = expected.filter(
      (r) => r['idp_id'] === azure && Date.parse(String(r['logged_at'])) > START,
    );
    expect(sentSinceFirstRun.length).toBeGreaterThan(0);
    expectExactlyOnce(await storedRawRecords(setup.env, 'scim_updates'), expected);
  });
});
