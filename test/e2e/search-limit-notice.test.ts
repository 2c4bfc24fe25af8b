import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { runInProcess } from '../helpers/cli.js';
import { deniedAccess } from '../helpers/events.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const MORE_MATCH = '2 events (more match: raise --limit or narrow the query)\n';

/** The events each format printed on stdout, read as a script would read them. */
const PRINTED: Record<string, (stdout: string) => number> = {
  json: (stdout) => (JSON.parse(stdout) as unknown[]).length,
  ndjson: (stdout) => stdout.split('\n').filter((line) => line !== '').length,
  // Event values hold no line break, so every line after the header is one event.
  csv: (stdout) => stdout.split('\n').filter((line) => line !== '').length - 1,
  table: (stdout) => stdout.split('\n').filter((line) => line.includes('alice@example.com')).length,
};

describe('a search cut short by --limit', () => {
  let dataDir: ReturnType<typeof makeTempDir>;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = makeTempDir('search-limit');
    env = { ZEROTRAIL_DATA_DIR: dataDir.path };
    const store = await SqliteStore.open({ path: join(dataDir.path, 'zerotrail.db') });
    await store.migrate();
    const start = Date.now() - 3_600_000;
    await store.append(
      [0, 1, 2].map((n) => deniedAccess({ time: start + n * 1000 }, n)),
      { id: 'c', value: {} },
    );
    await store.close();
  });
  afterAll(() => dataDir.remove());

  it.each(Object.keys(PRINTED))(
    'says so on stderr in %s, in the same words, leaving stdout only the events',
    async (format) => {
      const cut = await runInProcess(['search', '--limit', '2', '--format', format], { env });
      expect(cut.code, cut.stderr).toBe(0);
      expect(cut.stderr).toBe(MORE_MATCH);
      expect(PRINTED[format]?.(cut.stdout)).toBe(2);
    },
  );

  it('says nothing of more when every match was printed', async () => {
    for (const format of ['json', 'ndjson', 'csv']) {
      const whole = await runInProcess(['search', '--limit', '3', '--format', format], { env });
      expect({ format, code: whole.code, stderr: whole.stderr }).toEqual({ format, code: 0, stderr: '' });
      expect(PRINTED[format]?.(whole.stdout)).toBe(3);
    }
    const table = await runInProcess(['search', '--limit', '3'], { env });
    expect(table.stderr).toBe('3 events\n');
  });
});
