import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { runInProcess } from '../helpers/cli.js';
import { deniedAccess } from '../helpers/events.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// Cloudflare writes times in microseconds; the store keeps milliseconds.
const STORED = Date.parse('2026-11-28T06:27:46.010Z');

describe('a search period with microseconds', () => {
  let dataDir: ReturnType<typeof makeTempDir>;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = makeTempDir('search-sub-ms');
    env = { ZEROTRAIL_DATA_DIR: dataDir.path };
    const store = await SqliteStore.open({ path: join(dataDir.path, 'zerotrail.db') });
    await store.migrate();
    await store.append([deniedAccess({ time: STORED }, 1)], { id: 'c', value: {} });
    await store.close();
  });
  afterAll(() => dataDir.remove());

  it('finds the event stored at the millisecond an exclusive --to with microseconds falls in', async () => {
    const found = await runInProcess(
      ['search', '--from', '2026-11-28T06:27:46.010000Z', '--to', '2026-11-28T06:27:46.010692Z', '--format', 'ndjson'],
      { env },
    );
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout.trim().split('\n')).toHaveLength(1);
    // An end at the stored millisecond itself still leaves it out: the end is not included.
    const before = await runInProcess(
      ['search', '--from', '2026-11-28T06:27:46Z', '--to', '2026-11-28T06:27:46.010Z', '--format', 'ndjson'],
      { env },
    );
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toBe('');
  });

  it('takes in the millisecond a range bound with microseconds falls in, at either end and either bracket', async () => {
    const count = async (query: string): Promise<number> => {
      const found = await runInProcess(['search', query, '--format', 'ndjson'], { env });
      expect(found.code, found.stderr).toBe(0);
      return found.stdout === '' ? 0 : found.stdout.trim().split('\n').length;
    };
    expect(await count('time:[2026-11-28T06:27:46Z TO 2026-11-28T06:27:46.010692Z}')).toBe(1);
    expect(await count('time:[2026-11-28T06:27:46Z TO 2026-11-28T06:27:46.010692Z]')).toBe(1);
    expect(await count('time:{2026-11-28T06:27:46.010692Z TO *]')).toBe(1);
    expect(await count('time:[2026-11-28T06:27:46.010692Z TO *]')).toBe(1);
    // Whole milliseconds keep their brackets' meaning.
    expect(await count('time:[2026-11-28T06:27:46Z TO 2026-11-28T06:27:46.010Z}')).toBe(0);
    expect(await count('time:{2026-11-28T06:27:46.010Z TO *]')).toBe(0);
  });

  it('replays through a rule the event stored at the millisecond an exclusive --to with microseconds falls in', async () => {
    const rule = join(dataDir.path, 'denied.yaml');
    writeFileSync(
      rule,
      [
        'id: denied-login',
        'title: Denied login',
        'type: event',
        'severity: low',
        'technique: T1110',
        'description: A denied login.',
        'summary: Denied login of {user}',
        'match: { outcome: failure }',
        '',
      ].join('\n'),
    );
    const replayed = await runInProcess(
      ['rules', 'test', rule, '--from', '2026-11-28T06:27:46Z', '--to', '2026-11-28T06:27:46.010692Z'],
      { env },
    );
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stderr).toMatch(/^1 alert would have been raised/m);
  });
});
