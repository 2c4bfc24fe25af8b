import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { ADD_UNVERIFIED, runInProcess } from '../helpers/cli.js';
import { serve } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';

const NOTICE = 'No collector is running on this store';

describe('source status and source list with no collector alive', () => {
  let dataDir: ReturnType<typeof makeTempDir>;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = makeTempDir('source-status-collectors');
    env = { ZEROTRAIL_DATA_DIR: dataDir.path, CF_TOKEN: 'a'.repeat(40) };
    const added = await runInProcess(ADD_UNVERIFIED, { env });
    expect(added.code, added.stderr).toBe(0);
  });
  afterAll(() => dataDir.remove());

  it('say on stderr that nothing collects, leaving the table and the JSON for scripts', async () => {
    for (const args of [
      ['source', 'status'],
      ['source', 'list'],
      ['source', 'status', '--format', 'json'],
      ['source', 'list', '--format', 'json'],
    ]) {
      const shown = await runInProcess(args, { env });
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stderr, args.join(' ')).toContain(NOTICE);
      expect(shown.stdout, args.join(' ')).not.toContain(NOTICE);
    }
  });

  it('say nothing of it while a collector node is alive', async () => {
    const store = await SqliteStore.open({ path: join(dataDir.path, 'zerotrail.db') });
    await store.heartbeatNode('collector-1', 60_000);
    await store.close();
    for (const args of [
      ['source', 'status'],
      ['source', 'list'],
    ]) {
      const shown = await runInProcess(args, { env });
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stderr, args.join(' ')).not.toContain(NOTICE);
    }
  });
});

describe('a collector with no source yet', () => {
  it('counts as a live collector while it waits for one, and gives its place up when it stops', async () => {
    const dataDir = makeTempDir('standing-by');
    try {
      const env = { ZEROTRAIL_DATA_DIR: dataDir.path };
      const live = async (): Promise<readonly string[]> => {
        const store = await SqliteStore.open({ path: join(dataDir.path, 'zerotrail.db') });
        try {
          return await store.liveNodes();
        } finally {
          await store.close();
        }
      };
      // The first source added, through the CLI or the web UI, is collected by this server: nothing should say
      // that no collector runs.
      const served = serve(['--port', '0'], env);
      expect(await served.url, served.stderr()).toMatch(/^http/);
      await waitFor('the server to count as a collector', async () => (await live()).length === 1, {
        timeoutMs: 10_000,
      });
      served.stop();
      expect(await served.exit, served.stderr()).toBe(0);
      expect(await live()).toEqual([]);
    } finally {
      dataDir.remove();
    }
  });
});
