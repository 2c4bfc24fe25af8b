import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../../src/app.js';
import type { NormalizedEvent } from '../../src/core/event.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { runInProcess, spawnCli } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';
import { deniedLogin, deniedWithRay } from '../helpers/events.js';
import { waitFor } from '../helpers/wait.js';

const HOUR_MS = 3_600_000;

/** Stores what a collector killed between storing a page and evaluating it leaves: events past the detection offset. */
async function leaveUnevaluated(dataDir: string, jobId: string, events: readonly NormalizedEvent[]): Promise<void> {
  const store = await SqliteStore.open({ path: join(dataDir, DATABASE_FILE), keepAppended: false });
  try {
    await store.append(events, { id: jobId, value: { n: events.length } });
  } finally {
    await store.close();
  }
}

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
    await leaveUnevaluated(
      setup.dataDir,
      'killed-run',
      Array.from({ length: 14 }, (_, n) => deniedLogin(n, now - 2 * HOUR_MS)),
    );
  });
  afterAll(async () => setup?.cleanup());

  const bruteForceAlerts = async (): Promise<number> => {
    const listed = await runInProcess(['alerts', 'list', '--rule', 'zt-brute-force-user', '--format', 'json'], {
      env: setup.env,
    });
    return (JSON.parse(listed.stdout) as unknown[]).length;
  };

  /** Runs a following collect until `alerts` brute-force alerts exist, then stops it; its exit code and stderr. */
  const followUntilAlerts = async (alerts: number): Promise<{ code: number | null; stderr: string }> => {
    const child = spawnCli(['collect'], { ...setup.env, ZEROTRAIL_COLLECT__INTERVAL_SECS: '1' });
    child.stdin?.end();
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(`${alerts} brute-force alerts`, async () => (await bruteForceAlerts()) === alerts, {
        timeoutMs: 30_000,
        pollMs: 250,
      });
      expect(child.exitCode, 'the collector is still running').toBeNull();
    } finally {
      child.kill('SIGTERM');
    }
    return { code: await exited, stderr };
  };

  it('evaluates them as it starts, though the API has nothing new for it', async () => {
    expect(await bruteForceAlerts()).toBe(0);
    const { code, stderr } = await followUntilAlerts(1);
    expect(code, stderr).toBe(0);
  }, 60_000);

  it('evaluates them as it starts, though every request to Cloudflare fails', async () => {
    // The first test raised the alert; other leftovers, of another victim, on another job id.
    await leaveUnevaluated(
      setup.dataDir,
      'killed-run-2',
      Array.from({ length: 14 }, (_, n) =>
        deniedWithRay(100 + n, now - 2 * HOUR_MS + n * 10_000, 'second-victim@example.com'),
      ),
    );
    setup.simulator.setFaults({ serverError: { statuses: [503] } });
    try {
      const { stderr } = await followUntilAlerts(2);
      expect(stderr).toContain('SOURCE_UNAVAILABLE');
    } finally {
      setup.simulator.setFaults({});
    }
  }, 60_000);
});
