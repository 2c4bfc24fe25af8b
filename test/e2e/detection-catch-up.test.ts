import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../../src/app.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { runInProcess, spawnCli } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';
import { deniedLogin, deniedWithRay } from '../helpers/events.js';
import { waitFor } from '../helpers/wait.js';

const HOUR_MS = 3_600_000;

describe('a following collect with events stored but never evaluated', () => {
  let setup: CollectorEnv;
  const now = Date.now();

  beforeAll(async () => {
    setup = await setUpCollector({
      seed: 3,
      traffic: { kind: 'fixed', fromMs: now - 3 * HOUR_MS, toMs: now - HOUR_MS, count: 30 },
    });
    const first = await runInProcess(['collect', '--once', '--backfill-days', '1'], { env: setup.env });
    expect(first.code, first.stderr).toBe(0);
    // What a collector killed between storing a page and evaluating it leaves: events past the detection offset.
    const store = await SqliteStore.open({ path: join(setup.dataDir, DATABASE_FILE), keepAppended: false });
    try {
      await store.append(
        Array.from({ length: 14 }, (_, n) => deniedLogin(n, now - 2 * HOUR_MS)),
        { id: 'killed-run', value: { n: 14 } },
      );
    } finally {
      await store.close();
    }
  });
  afterAll(async () => setup?.cleanup());

  const bruteForceAlerts = async (): Promise<number> => {
    const listed = await runInProcess(['alerts', 'list', '--rule', 'zt-brute-force-user', '--format', 'json'], {
      env: setup.env,
    });
    return (JSON.parse(listed.stdout) as unknown[]).length;
  };

  it('evaluates them as it starts, though the API has nothing new for it', async () => {
    expect(await bruteForceAlerts()).toBe(0);
    const child = spawnCli(['collect'], { ...setup.env, ZEROTRAIL_COLLECT__INTERVAL_SECS: '1' });
    child.stdin?.end();
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('the alert of the denials left behind', async () => (await bruteForceAlerts()) === 1, {
        timeoutMs: 30_000,
        pollMs: 250,
      });
      expect(child.exitCode, 'the collector is still running').toBeNull();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
  }, 60_000);

  it('evaluates them as it starts, though every request to Cloudflare fails', async () => {
    // The first test raised the alert; the same leftovers again, on a second data source's job id.
    const store = await SqliteStore.open({ path: join(setup.dataDir, DATABASE_FILE), keepAppended: false });
    try {
      await store.append(
        Array.from({ length: 14 }, (_, n) =>
          deniedWithRay(100 + n, now - 2 * HOUR_MS + n * 10_000, 'second-victim@example.com'),
        ),
        { id: 'killed-run-2', value: { n: 14 } },
      );
    } finally {
      await store.close();
    }
    setup.simulator.setFaults({ serverError: { statuses: [503] } });
    const child = spawnCli(['collect'], { ...setup.env, ZEROTRAIL_COLLECT__INTERVAL_SECS: '1' });
    child.stdin?.end();
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('the alert of the second denials', async () => (await bruteForceAlerts()) === 2, {
        timeoutMs: 30_000,
        pollMs: 250,
      });
      expect(stderr).toContain('SOURCE_UNAVAILABLE');
    } finally {
      child.kill('SIGTERM');
      setup.simulator.setFaults({});
    }
    await exited;
  }, 60_000);
});
