import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess, startCli } from '../helpers/cli.js';
import {
  addTestSource,
  setUpCollector,
  storedRawRecords,
  TEST_SOURCE,
  type CollectorEnv,
} from '../helpers/collector-env.js';
import { waitFor } from '../helpers/wait.js';

const HOUR_MS = 3_600_000;
const EVENTS = 120;
const FIRST = 'zt-sim-set-token-first-00000000000000000001';
const ROTATED = 'zt-sim-set-token-rotated-000000000000000042';
const REVOKED = 'zt-sim-set-token-revoked-000000000000000003';

describe('source set-token', () => {
  let setup: CollectorEnv;

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector(
      {
        seed: 41,
        traffic: { kind: 'fixed', fromMs: now - 3 * HOUR_MS, toMs: now - HOUR_MS, count: EVENTS },
        tokens: [{ value: FIRST }, { value: ROTATED }, { value: REVOKED, status: 'disabled' }],
      },
      false,
    );
    await addTestSource(setup, FIRST);
    const first = await runInProcess(['collect', '--once', '--backfill-days', '1'], { env: setup.env });
    expect(first.code, first.stderr).toBe(0);
  });
  afterAll(async () => setup.cleanup());

  it('refuses a token Cloudflare refuses and keeps the one stored', async () => {
    const refused = await runInProcess(['source', 'set-token', TEST_SOURCE, '--token-env', 'TOKEN'], {
      env: { ...setup.env, TOKEN: REVOKED },
    });
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain('error[SOURCE_AUTH_FAILED]');
    const listed = await runInProcess(['source', 'list', '--format', 'json'], { env: setup.env });
    expect(listed.stdout).toContain(`"${FIRST.slice(-4)}"`);

    const unknown = await runInProcess(['source', 'set-token', 'Nope', '--token-env', 'TOKEN'], {
      env: { ...setup.env, TOKEN: ROTATED },
    });
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('error[SOURCE_NOT_FOUND]: No data source is named "Nope".');
  });

  it('replaces the token and keeps the cursors: the next run resumes, backfilling nothing and storing nothing twice', async () => {
    const replaced = await runInProcess(['source', 'set-token', TEST_SOURCE, '--token-stdin'], {
      env: setup.env,
      input: `${ROTATED}\n`,
    });
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toContain(`Replaced the API token of data source "${TEST_SOURCE}"; its cursors stay`);
    const listed = await runInProcess(['source', 'list', '--format', 'json'], { env: setup.env });
    expect(listed.stdout).toContain(`"${ROTATED.slice(-4)}"`);
    expect(listed.stdout).not.toContain(ROTATED);

    const next = await runInProcess(['collect', '--once', '--backfill-days', '1'], { env: setup.env });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toContain('Backfilling');
    expect(next.stderr).toMatch(/Stored 0 new events/);
    expect(await storedRawRecords(setup.env)).toHaveLength(EVENTS);
  });
});

describe('source set-token while collect follows', () => {
  let setup: CollectorEnv;

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector(
      {
        seed: 43,
        traffic: { kind: 'fixed', fromMs: now - 3 * HOUR_MS, toMs: now - HOUR_MS, count: EVENTS },
        tokens: [{ value: ROTATED }, { value: REVOKED, status: 'disabled' }],
      },
      false,
    );
    await addTestSource(setup, REVOKED, ['--no-verify']);
  });
  afterAll(async () => setup.cleanup());

  it('is taken up by the running collector, which then collects everything', async () => {
    // The failed datasets would be tried again only after the default 10 minutes, with the token read at start.
    const collector = startCli(['collect', '--backfill-days', '1'], {
      ...setup.env,
      ZEROTRAIL_COLLECT__INTERVAL_SECS: '1',
    });
    const stderr = collector.stderr;
    try {
      await waitFor('the refused token', () => stderr().includes('failed, tried again in 10 min'), {
        timeoutMs: 30_000,
      });
      const replaced = await runInProcess(['source', 'set-token', TEST_SOURCE, '--token-stdin'], {
        env: setup.env,
        input: ROTATED,
      });
      expect(replaced.code, replaced.stderr).toBe(0);
      expect(replaced.stdout).toContain('A running zerotrail collect or serve takes it up within 15 seconds');
      await waitFor(
        'every event stored with the new token',
        async () => (await storedRawRecords(setup.env)).length === EVENTS,
        { timeoutMs: 45_000 },
      );
      expect(stderr()).toContain('The data sources changed');
      expect(collector.child.exitCode, 'the collector keeps running').toBeNull();
    } finally {
      expect(await collector.stop(), stderr()).toBe(0);
    }
    expect(stderr()).not.toContain(ROTATED);
  }, 120_000);
});
