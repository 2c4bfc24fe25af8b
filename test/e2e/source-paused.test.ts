import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { runInProcess } from '../helpers/cli.js';
import { setUpCollector, TEST_SOURCE, type CollectorEnv } from '../helpers/collector-env.js';

const HOUR_MS = 3_600_000;

describe('a paused data source on the command line', () => {
  let setup: CollectorEnv;

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector({
      seed: 5,
      traffic: { kind: 'fixed', fromMs: now - 2 * HOUR_MS, toMs: now - HOUR_MS, count: 20 },
    });
  });
  afterAll(async () => setup.cleanup());

  async function setPaused(paused: boolean): Promise<void> {
    const store = await SqliteStore.open({ path: join(setup.dataDir, 'zerotrail.db'), logger: silentLogger() });
    try {
      const stored = await store.getSource(TEST_SOURCE);
      if (stored === undefined) throw new Error('the test source is missing');
      const settings = { ...stored.settings };
      if (paused) settings['paused'] = true;
      else delete settings['paused'];
      await store.updateSource({ ...stored, settings }, { resetCollection: false });
    } finally {
      await store.close();
    }
  }

  it('is shown as paused by source list, in JSON and in the table, and as running once resumed', async () => {
    await setPaused(true);
    const json = await runInProcess(['source', 'list', '--format', 'json'], { env: setup.env });
    expect(JSON.parse(json.stdout)).toMatchObject([{ name: TEST_SOURCE, paused: true }]);
    const table = await runInProcess(['source', 'list'], { env: setup.env });
    expect(table.stdout).toContain('PAUSED');

    await setPaused(false);
    const resumed = await runInProcess(['source', 'list', '--format', 'json'], { env: setup.env });
    expect(JSON.parse(resumed.stdout)).toMatchObject([{ name: TEST_SOURCE, paused: false }]);
    expect((await runInProcess(['source', 'list'], { env: setup.env })).stdout).not.toContain('PAUSED');
  });
});
