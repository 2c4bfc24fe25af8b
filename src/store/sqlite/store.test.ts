import {
  chmodSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { createLogger } from '../../core/logger.js';
import type { NormalizedEvent } from '../../core/event.js';
import { parseQuery } from '../query-language.js';
import { storeContractSuite } from '../contract.suite.js';
import { MIGRATIONS } from './migrations/migrations.js';
import { compileFilter, searchEventsSql } from './queries.js';
import { SqliteExport } from './bulk-export.js';
import { SqliteStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-sqlite-'));
let counter = 0;
const freshPath = (): string => join(dir, `store-${counter++}.db`);
const pathOf = new WeakMap<object, string>();

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// Once with every test event still in the recent tier, once with most of them already merged into the
// indexed table and the rest recent, so that every read covers both tiers and a mix of them.
for (const [name, mergeThreshold] of [
  ['SqliteStore', undefined],
  ['SqliteStore merging after every few events', 2],
] as const) {
  storeContractSuite(
    name,
    async () => {
      const path = freshPath();
      const store = await SqliteStore.open({
        path,
        deleteChunkSize: 7,
        ...(mergeThreshold === undefined ? {} : { mergeThreshold }),
      });
      pathOf.set(store, path);
      return store;
    },
    {
      reopen: async (store) => {
        const path = pathOf.get(store);
        if (path === undefined) throw new Error('store opened outside the suite');
        await store.close();
        return SqliteStore.open({ path, ...(mergeThreshold === undefined ? {} : { mergeThreshold }) });
      },
    },
  );
}

describe('SqliteStore on SQLite', () => {
  it('runs in WAL mode with synchronous=NORMAL', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path });
    await store.migrate();
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('refuses a file that is not a database and leaves its bytes alone', async () => {
    const path = freshPath();
    const bytes = Buffer.from('this is a spreadsheet, not a database\n'.repeat(200));
    writeFileSync(path, bytes);
    const attempt = SqliteStore.open({ path });
    await expect(attempt).rejects.toMatchObject({ name: 'StoreError', code: 'STORE_CORRUPT' });
    await expect(attempt).rejects.toThrow(path);
    await expect(attempt).rejects.toThrow(/left untouched/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('refuses a database whose header was damaged', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path });
    await store.migrate();
    await store.close();
    const damaged = readFileSync(path);
    damaged.write('garbage garbage!', 0);
    writeFileSync(path, damaged);
    await expect(SqliteStore.open({ path })).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    expect(readFileSync(path).equals(damaged)).toBe(true);
  });

  it('explains a path it cannot open with the OS reason', async () => {
    const path = join(dir, 'no-such-dir', 'store.db');
    const attempt = SqliteStore.open({ path });
    await expect(attempt).rejects.toMatchObject({ code: 'STORE_OPEN_FAILED' });
    await expect(attempt).rejects.toThrow(/ENOENT/);
    await expect(SqliteStore.open({ path: dir })).rejects.toMatchObject({ code: 'STORE_OPEN_FAILED' });
  });

  it('refuses a database written by a newer version', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path });
    await store.migrate();
    await store.close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(999, 'future', 0);
    db.close();
    const reopened = await SqliteStore.open({ path });
    await expect(reopened.migrate()).rejects.toMatchObject({ code: 'STORE_MIGRATION_FAILED' });
    await expect(reopened.migrate()).rejects.toThrow(/version 999/);
    await reopened.close();
  });

  it('records each migration once, with the clock time', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path, clock: new ManualClock(1_700_000_000_000) });
    await store.migrate();
    await store.migrate();
    await store.close();
    const db = new Database(path, { readonly: true });
    // Every migration there is, numbered 1, 2, 3, … without a gap.
    expect(db.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all()).toEqual(
      MIGRATIONS.map((_, index) => ({ version: index + 1, applied_at: 1_700_000_000_000 })),
    );
    db.close();
  });

  it('reports a closed store instead of crashing', async () => {
    const store = await SqliteStore.open({ path: freshPath() });
    await store.migrate();
    await store.close();
    await expect(store.getSetting('x')).rejects.toMatchObject({ code: 'STORE_OPEN_FAILED' });
  });
});

describe('SqliteStore with the query language', () => {
  it('answers the README query', async () => {
    const store = await SqliteStore.open({ path: freshPath() });
    await store.migrate();
    const event = (id: string, user: string, outcome: 'success' | 'failure', srcIp: string): NormalizedEvent => ({
      id,
      time: Date.UTC(2024, 0, 1) + Number(id.slice(1)),
      sourceName: 'cf',
      accountId: '0123456789abcdef0123456789abcdef',
      dataset: 'access_requests',
      classUid: 3002,
      activity: 'logon',
      outcome,
      user,
      srcIp,
      country: 'us',
      app: 'Wiki',
      appUid: null,
      idp: null,
      rayId: null,
      ocsf: {},
      raw: {},
    });
    await store.append(
      [
        event('e1', 'alice@example.com', 'failure', '10.1.1.1'),
        event('e2', 'alice@example.com', 'success', '10.1.1.2'),
        event('e3', 'bob@example.com', 'failure', '2001:db8::5'),
        event('e4', 'ALICE@example.com', 'failure', '192.0.2.1'),
      ],
      { id: 'cf/access_requests', value: {} },
    );
    const search = async (text: string): Promise<string[]> =>
      (await store.search({ filter: parseQuery(text), order: 'asc' }, { limit: 10 })).events.map((item) => item.id);
    expect(await search('user:alice@example.com AND outcome:failure')).toEqual(['e1', 'e4']);
    expect(await search('src_ip:10.0.0.0/8 OR src_ip:2001:db8::/32')).toEqual(['e1', 'e2', 'e3']);
    expect(await search('NOT status:denied')).toEqual(['e2']);
    expect(await search('alice* -ip:192.0.2.0/24')).toEqual(['e1', 'e2']);
    expect(await search('time:[2024-01-01T00:00:00.002Z TO *]')).toEqual(['e2', 'e3', 'e4']);
    await store.close();
  });
});

describe('SqliteStore file permissions', () => {
  const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

  it('makes the database and its -wal and -shm owner-only whatever the umask, in a directory others may read', () => {
    const dataDir = join(dir, 'shared-data-dir');
    const path = join(dataDir, 'zerotrail.db');
    const childFile = join(dir, 'open-under-umask.ts');
    const storeModule = fileURLToPath(new URL('./store.ts', import.meta.url));
    // The usual umask, set in a process of its own: files it makes are 0644 unless zerotrail says otherwise.
    writeFileSync(
      childFile,
      `import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { SqliteStore } from ${JSON.stringify(storeModule)};
process.umask(0o022);
mkdirSync(${JSON.stringify(dataDir)});
chmodSync(${JSON.stringify(dataDir)}, 0o755);
const store = await SqliteStore.open({ path: ${JSON.stringify(path)} });
await store.migrate();
await store.setSetting('probe', 'x');
const modes = {};
for (const suffix of ['', '-wal', '-shm']) modes[suffix] = (statSync(${JSON.stringify(path)} + suffix).mode & 0o777).toString(8);
await store.close();
process.stdout.write(JSON.stringify(modes));
`,
    );
    const viteNode = fileURLToPath(new URL('../../../node_modules/vite-node/vite-node.mjs', import.meta.url));
    const child = spawnSync(process.execPath, [viteNode, childFile], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({ '': '600', '-wal': '600', '-shm': '600' });
    expect(modeOf(path)).toBe('600');
  }, 30_000);

  it('takes group and other access away from files an earlier version made, and says so', async () => {
    const path = freshPath();
    const first = await SqliteStore.open({ path });
    await first.migrate();
    // A second connection keeps the -wal and -shm files in place while the first one closes.
    const other = new Database(path);
    other.prepare('SELECT count(*) FROM events').get();
    await first.close();
    for (const suffix of ['', '-wal', '-shm']) chmodSync(`${path}${suffix}`, 0o644);
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => lines.push(line) } });
    const store = await SqliteStore.open({ path, logger });
    expect([modeOf(path), modeOf(`${path}-wal`), modeOf(`${path}-shm`)]).toEqual(['600', '600', '600']);
    const notices = lines.map((line) => JSON.parse(line) as { level: number; msg: string; path: string; mode: string });
    expect(notices.filter((line) => line.msg === 'Database file made private to its owner')).toMatchObject([
      { level: 40, path, mode: '0644' },
      { level: 40, path: `${path}-wal`, mode: '0644' },
      { level: 40, path: `${path}-shm`, mode: '0644' },
    ]);
    await store.close();
    other.close();
    // Already private: opened again quietly, with the owner's own bits left as they were.
    chmodSync(path, 0o700);
    lines.length = 0;
    const again = await SqliteStore.open({ path, logger });
    await again.close();
    expect(modeOf(path)).toBe('700');
    expect(lines.filter((line) => line.includes('Database file'))).toEqual([]);
  });

  it('leaves the mode of a file that is not a database as it was', async () => {
    const path = freshPath();
    writeFileSync(path, 'not a database\n'.repeat(200));
    chmodSync(path, 0o644);
    await expect(SqliteStore.open({ path })).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    expect(modeOf(path)).toBe('644');
  });
});

describe('SqliteStore durability', () => {
  it('keeps every committed batch, and its cursor, when the process is killed', async () => {
    const path = freshPath();
    const childFile = join(dir, 'append-forever.ts');
    const storeModule = fileURLToPath(new URL('./store.ts', import.meta.url));
    writeFileSync(
      childFile,
      `import { SqliteStore } from ${JSON.stringify(storeModule)};
const store = await SqliteStore.open({ path: ${JSON.stringify(path)} });
await store.migrate();
for (let batch = 0; ; batch += 1) {
  const events = Array.from({ length: 200 }, (_, index) => ({
    id: 'k' + batch + '-' + index, time: batch * 1000 + index, sourceName: 'cf', accountId: 'a', dataset: 'd', classUid: 1,
    activity: 'logon', outcome: 'success', user: null, srcIp: null, country: null, app: null, appUid: null, idp: null,
    rayId: null, ocsf: {}, raw: { index },
  }));
  await store.append(events, { id: 'cf/d', value: { batch } });
  process.stdout.write('committed ' + batch + '\\n');
}
`,
    );
    const viteNode = fileURLToPath(new URL('../../../node_modules/vite-node/vite-node.mjs', import.meta.url));
    const child = spawn(process.execPath, [viteNode, childFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastCommitted = -1;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        for (const match of chunk.toString().matchAll(/committed (\d+)/g)) lastCommitted = Number(match[1]);
        if (lastCommitted >= 20) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`child exited early: ${stderr}`)));
    });
    await new Promise((resolve) => child.once('close', resolve));
    const store = await SqliteStore.open({ path });
    await store.migrate();
    const cursor = await store.cursor('cf/d');
    const batch = typeof cursor?.['batch'] === 'number' ? cursor['batch'] : -1;
    expect(batch).toBeGreaterThanOrEqual(lastCommitted);
    // Whatever batch the cursor names, exactly the events up to it are there: no more, no less.
    expect(await store.count({ filter: null })).toBe((batch + 1) * 200);
    await store.close();
  }, 30_000);
});

describe('SqliteStore under lock contention', () => {
  it('fails a write with a retryable STORE_BUSY once the busy timeout passes', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path, busyTimeoutMs: 50 });
    await store.migrate();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      const attempt = store.append([], { id: 'c', value: { v: 1 } });
      await expect(attempt).rejects.toMatchObject({ code: 'STORE_BUSY', retryable: true });
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    await expect(store.append([], { id: 'c', value: { v: 2 } })).resolves.toMatchObject({ inserted: 0, duplicates: 0 });
    expect(await store.cursor('c')).toEqual({ v: 2 });
    await store.close();
  });
});

// Events in the indexed table and in the recent tier of the file at `path`.
const tableCounts = (path: string): { merged: number; recent: number } => {
  const db = new Database(path, { readonly: true });
  const merged = (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  const recent = (db.prepare('SELECT count(*) AS n FROM events_recent').get() as { n: number }).n;
  db.close();
  return { merged, recent };
};

describe('SqliteStore recent and merged events', () => {
  const T0 = Date.UTC(2024, 0, 1);
  const event = (n: number, time: number): NormalizedEvent => ({
    id: `${time.toString(16).padStart(12, '0')}${String(n).padStart(20, '0')}`,
    time,
    sourceName: 'cf',
    accountId: 'a',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: n % 3 === 0 ? 'failure' : 'success',
    user: `user${n % 4}@example.com`,
    srcIp: `192.0.2.${n % 8}`,
    country: 'us',
    app: 'Wiki',
    appUid: null,
    idp: null,
    rayId: `ray${n}`,
    ocsf: { n },
    raw: { n },
  });

  it('keeps new events recent until the threshold, then moves them all at once', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path, mergeThreshold: 10 });
    await store.migrate();
    await store.append(
      [0, 1, 2, 3, 4, 5].map((n) => event(n, T0 + n)),
      { id: 'c', value: { v: 1 } },
    );
    expect(tableCounts(path)).toEqual({ merged: 0, recent: 6 });
    await store.append(
      [6, 7, 8, 9, 10].map((n) => event(n, T0 + n)),
      { id: 'c', value: { v: 2 } },
    );
    expect(tableCounts(path)).toEqual({ merged: 11, recent: 0 });
    await store.append([event(11, T0 + 11)], { id: 'c', value: { v: 3 } });
    expect(tableCounts(path)).toEqual({ merged: 11, recent: 1 });
    await store.close();
    expect(tableCounts(path)).toEqual({ merged: 12, recent: 0 });
  });

  it('fails the write whose merge finds the file damaged, instead of only logging it', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path, mergeThreshold: 10 });
    await store.migrate();
    await store.append(
      Array.from({ length: 11 }, (_, n) => event(n, T0 + n)),
      { id: 'c', value: { v: 1 } },
    );
    await store.close();
    const db = new Database(path);
    const { rootpage } = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'events_user_time'").get() as {
      rootpage: number;
    };
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const file = openSync(path, 'r+');
    writeSync(file, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (rootpage - 1) * pageSize);
    closeSync(file);

    const reopened = await SqliteStore.open({ path, mergeThreshold: 10 });
    await expect(
      reopened.append(
        Array.from({ length: 11 }, (_, n) => event(100 + n, T0 + 100 + n)),
        { id: 'c', value: { v: 2 } },
      ),
    ).rejects.toMatchObject({ code: 'STORE_CORRUPT', retryable: false });
    await reopened.close();
  });

  it('counts an event as a duplicate whether it is recent, merged or repeated in the batch', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path, mergeThreshold: 3 });
    await store.migrate();
    await store.append(
      [1, 2, 3, 4].map((n) => event(n, T0 + n)),
      { id: 'c', value: {} },
    );
    await store.append([event(5, T0 + 5)], { id: 'c', value: {} });
    expect(tableCounts(path)).toEqual({ merged: 4, recent: 1 });
    const again = await store.append([event(2, T0 + 2), event(5, T0 + 5), event(6, T0 + 6), event(6, T0 + 6)], {
      id: 'c',
      value: {},
    });
    expect(again).toMatchObject({ inserted: 1, duplicates: 3 });
    expect(await store.count({ filter: null })).toBe(6);
    await store.close();
  });

  it('pages, counts, aggregates and deletes across both tables, each event exactly once', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path, mergeThreshold: 20 });
    await store.migrate();
    // Even events are merged, odd ones stay recent; many share a time so the id breaks ties.
    const time = (n: number): number => T0 + Math.floor(n / 3);
    const evens = Array.from({ length: 15 }, (_, i) => event(2 * i, time(2 * i)));
    const odds = Array.from({ length: 15 }, (_, i) => event(2 * i + 1, time(2 * i + 1)));
    await store.append(evens.slice(0, 10), { id: 'c', value: {} });
    await store.append(evens.slice(10), { id: 'c', value: {} });
    await store.append(odds.slice(0, 6), { id: 'c', value: {} });
    expect(tableCounts(path)).toEqual({ merged: 21, recent: 0 });
    await store.append(odds.slice(6), { id: 'c', value: {} });
    expect(tableCounts(path)).toEqual({ merged: 21, recent: 9 });

    const all = [...evens, ...odds].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1)).map((e) => e.id);
    for (const order of ['asc', 'desc'] as const) {
      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await store.search(
          { filter: null, order },
          { limit: 4, ...(after === undefined ? {} : { after }) },
        );
        seen.push(...page.events.map((e) => e.id));
        after = page.nextPage ?? undefined;
      } while (after !== undefined);
      expect(seen).toEqual(order === 'asc' ? all : [...all].reverse());
    }
    const user = await store.search({ filter: parseQuery('user:user1@example.com'), order: 'desc' }, { limit: 100 });
    expect(user.events.map((e) => e.id)).toEqual(
      [...evens, ...odds]
        .filter((e) => e.user === 'user1@example.com')
        .sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1))
        .map((e) => e.id),
    );
    expect(
      (await store.search({ filter: parseQuery('ray_id:ray27'), order: 'asc' }, { limit: 5 })).events,
    ).toHaveLength(1);
    expect((await store.search({ filter: parseQuery('ray_id:ray4'), order: 'asc' }, { limit: 5 })).events).toHaveLength(
      1,
    );
    expect(await store.count({ filter: parseQuery('src_ip:192.0.2.0/30') })).toBe(16);
    expect(await store.aggregate({ filter: null, groupBy: 'user', limit: 10 })).toEqual([
      { key: 'user0@example.com', count: 8 },
      { key: 'user1@example.com', count: 8 },
      { key: 'user2@example.com', count: 7 },
      { key: 'user3@example.com', count: 7 },
    ]);

    // Events 0..20 are older than time(21); some of them are recent, some merged.
    expect(await store.deleteEventsBefore(time(21))).toBe(21);
    expect(await store.count({ filter: null })).toBe(9);
    await store.close();
  });

  it('keeps exactly one body per stored event through duplicates, moves and retention', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path, mergeThreshold: 5, deleteChunkSize: 2 });
    await store.migrate();
    const bodies = (): { seq: number; ocsf: string }[] => {
      const db = new Database(path, { readonly: true });
      const rows = db.prepare('SELECT seq, ocsf FROM event_bodies ORDER BY seq').all() as {
        seq: number;
        ocsf: string;
      }[];
      const unmatched = db
        .prepare(
          `SELECT count(*) AS n FROM event_bodies WHERE seq NOT IN (SELECT seq FROM events UNION ALL SELECT seq FROM events_recent)`,
        )
        .get() as { n: number };
      db.close();
      expect(unmatched.n).toBe(0);
      return rows;
    };
    await store.append(
      [0, 1, 2, 3, 4, 5].map((n) => event(n, T0 + n)),
      { id: 'c', value: {} },
    );
    await store.append(
      [4, 5, 6, 7, 7].map((n) => event(n, T0 + n)),
      { id: 'c', value: {} },
    );
    expect(tableCounts(path)).toEqual({ merged: 6, recent: 2 });
    expect(bodies().map((row) => JSON.parse(row.ocsf) as unknown)).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7].map((n) => ({ n })),
    );
    const page = await store.search({ filter: null, order: 'asc' }, { limit: 100 });
    expect(page.events.map((e) => e.raw)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((n) => ({ n })));

    expect(await store.deleteEventsBefore(T0 + 5)).toBe(5);
    expect(bodies().map((row) => JSON.parse(row.ocsf) as unknown)).toEqual([5, 6, 7].map((n) => ({ n })));
    // A seq freed by retention is never one a remaining row still uses.
    await store.append([event(8, T0 + 8)], { id: 'c', value: {} });
    const seqs = bodies().map((row) => row.seq);
    expect(new Set(seqs).size).toBe(4);
    expect((await store.search({ filter: null, order: 'desc' }, { limit: 1 })).events[0]?.ocsf).toEqual({ n: 8 });
    await store.close();
  });

  it('answers user, address and ray id searches from the indexes of the merged table', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path });
    await store.migrate();
    await store.close();
    const db = new Database(path, { readonly: true });
    const plan = (query: string): string => {
      const filter = parseQuery(query);
      const where = filter === null ? [] : [compileFilter(filter).sql];
      const params = filter === null ? [] : compileFilter(filter).params;
      const rows = db
        .prepare(`EXPLAIN QUERY PLAN ${searchEventsSql(where, 'DESC')}`)
        .all(...params, 101, ...params, 101, 101) as { detail: string }[];
      return rows.map((row) => row.detail).join('\n');
    };
    expect(plan('user:alice@example.com')).toMatch(/SEARCH events USING INDEX events_user_time/);
    expect(plan('src_ip:10.0.0.0/8')).toMatch(/SEARCH events USING INDEX events_ip_time/);
    expect(plan('ray_id:8f1e2d3c4b5a6978')).toMatch(/SEARCH events USING INDEX events_ray_id/);
    expect(plan('*')).toMatch(/SCAN events USING INDEX events_time_id/);
    db.close();
  });
});

describe('SqliteStore with enrichments stored once', () => {
  const T0 = Date.UTC(2024, 0, 1);
  const deepFreeze = <T>(value: T): T => {
    if (value !== null && typeof value === 'object') {
      Object.freeze(value);
      for (const item of Object.values(value)) deepFreeze(item);
    }
    return value;
  };
  const app = deepFreeze({
    name: 'service.uid',
    value: 'app-1',
    data: { uid: 'app-1', snapshot: { dataset: 'apps' } },
  });
  const user = deepFreeze({ name: 'user.email_addr', value: 'ann@example.com', data: { groups: [{ uid: 'g1' }] } });
  const event = (n: number, ocsf: Record<string, unknown>): NormalizedEvent => ({
    id: `e${String(n).padStart(4, '0')}`,
    time: T0 + n,
    sourceName: 'cf',
    accountId: 'acct',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: 'success',
    user: 'ann@example.com',
    srcIp: null,
    country: null,
    app: null,
    appUid: null,
    idp: null,
    rayId: `ray${n}`,
    ocsf,
    raw: { n, 'k"ey': 'caf\u00e9 \u2028' },
  });
  const bodies: Record<string, unknown>[] = [
    { n: 0, user: { email_addr: 'ann@example.com' }, enrichments: [app, user] },
    { n: 1, enrichments: [app, user] },
    { enrichments: [user] },
    // Not last, not frozen, or holding something else: stored whole.
    { enrichments: [app], n: 3 },
    { n: 4, enrichments: [{ ...app }] },
    { n: 5, enrichments: [app, 'text'] },
    { n: 6, enrichments: [] },
    { n: 7, enrichments: [deepFreeze({ big: 'x'.repeat(5000), list: [1, null, true] })] },
  ];

  it('reads back every body exactly, and stores a shared enrichments text once', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path, mergeThreshold: 3 });
    await store.migrate();
    await store.append(
      bodies.map((ocsf, n) => event(n, ocsf)),
      { id: 'c', value: {} },
    );
    const page = await store.search({ filter: null, order: 'asc' }, { limit: 100 });
    expect(page.events.map((e) => JSON.stringify(e.ocsf))).toEqual(bodies.map((body) => JSON.stringify(body)));
    expect(page.events.map((e) => e.raw)).toEqual(bodies.map((_, n) => ({ n, 'k"ey': 'caf\u00e9 \u2028' })));
    await store.close();
    const db = new Database(path, { readonly: true });
    const fragments = db.prepare('SELECT text FROM event_fragments ORDER BY id').pluck().all();
    const shared = db.prepare('SELECT count(*) FROM event_bodies WHERE enrichments_id IS NOT NULL').pluck().get();
    db.close();
    expect(fragments).toEqual([
      JSON.stringify([app, user]),
      JSON.stringify([user]),
      JSON.stringify(bodies[7]?.['enrichments']),
    ]);
    expect(shared).toBe(4);
  });

  it('stores the head many events begin with once, reads every body back exactly, and ignores a wrong hint', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path, mergeThreshold: 2 });
    await store.migrate();
    const head = { text: '{"kind":"logon","source":"cf \\"main\\"",' };
    const login = (n: number): Record<string, unknown> => ({ kind: 'logon', source: 'cf "main"', n });
    const withHead = (n: number, ocsf: Record<string, unknown>, hint = head): NormalizedEvent => ({
      ...event(n, ocsf),
      ocsfHead: hint,
    });
    const written = [
      withHead(0, login(0)),
      withHead(1, { ...login(1), enrichments: [app, user] }),
      withHead(2, { kind: 'logoff', n: 2 }),
      withHead(3, login(3), { text: '{"kind":"logon","source":"cf \\"main\\"",' }),
      event(4, login(4)),
    ];
    await store.append(written, { id: 'c', value: {} });
    const texts = written.map((e) => JSON.stringify(e.ocsf));
    const page = await store.search({ filter: null, order: 'asc' }, { limit: 100 });
    expect(page.events.map((e) => JSON.stringify(e.ocsf))).toEqual(texts);
    // The detector's read: first the events this connection just appended, then, on a fresh one, the tables.
    expect((await store.eventsAfter(0, 100)).map((e) => JSON.stringify(e.event.ocsf))).toEqual(texts);
    await store.close();
    const reopened = await SqliteStore.open({ path });
    expect((await reopened.eventsAfter(0, 100)).map((e) => JSON.stringify(e.event.ocsf))).toEqual(texts);
    await reopened.close();

    const exported = SqliteExport.open(path, { check: true });
    expect(exported.readEvents(0, 100).map((e) => JSON.stringify(JSON.parse(e.ocsf)))).toEqual(texts);
    exported.close();
    const db = new Database(path, { readonly: true });
    const rows = db
      .prepare(
        `SELECT body.ocsf, head.text AS head FROM event_bodies AS body
         LEFT JOIN event_fragments AS head ON head.id = body.head_id ORDER BY body.seq`,
      )
      .all() as { ocsf: string; head: string | null }[];
    const heads = db.prepare('SELECT count(*) FROM event_fragments WHERE text = ?').pluck().get(head.text);
    db.close();
    // Events 0, 1 and 3 share one stored head (3 by an equal text in another object); 2 and 4 are whole.
    expect(rows.map((row) => row.head !== null)).toEqual([true, true, false, true, false]);
    expect(rows[0]?.ocsf).toBe('"n":0}');
    expect(rows[2]?.ocsf).toBe(texts[2]);
    expect(heads).toBe(1);
  });

  // A store whose body insert fails at `seq`, and a second connection to its file that set that up.
  const refusingBodyAt = async (seq: number): Promise<{ store: SqliteStore; db: Database.Database }> => {
    const path = freshPath();
    const store = await SqliteStore.open({ path, busyTimeoutMs: 50 });
    await store.migrate();
    const db = new Database(path);
    db.exec(
      `CREATE TRIGGER refuse BEFORE INSERT ON event_bodies WHEN NEW.seq = ${seq} BEGIN SELECT RAISE(ABORT, 'no'); END`,
    );
    return { store, db };
  };

  it('keeps no fragment id of a write that rolled back', async () => {
    // The body insert fails after the fragment went in, so the whole transaction rolls back.
    const { store, db } = await refusingBodyAt(1);
    await expect(store.append([event(1, bodies[1] ?? {})], { id: 'c', value: {} })).rejects.toMatchObject({
      code: 'STORE_WRITE_FAILED',
    });
    db.exec('DROP TRIGGER refuse');
    expect(db.prepare('SELECT count(*) FROM event_fragments').pluck().get()).toBe(0);
    db.close();
    await store.append([event(1, bodies[1] ?? {})], { id: 'c', value: {} });
    const page = await store.search({ filter: null, order: 'asc' }, { limit: 10 });
    expect(page.events.map((e) => e.ocsf)).toEqual([bodies[1]]);
    await store.close();
  });

  it('lets the events go when a write fails part-way, as for-of would, and stores none of them', async () => {
    // Past the first chunk of the batch, so the failure comes while events are still being taken.
    const { store, db } = await refusingBodyAt(30);
    let taken = 0;
    let released = false;
    function* events(): Generator<NormalizedEvent> {
      try {
        for (let n = 0; n < 100; n += 1) {
          taken += 1;
          yield event(n, { n });
        }
      } finally {
        released = true;
      }
    }
    await expect(store.append(events(), { id: 'c', value: { at: 1 } })).rejects.toMatchObject({
      code: 'STORE_WRITE_FAILED',
    });
    expect(released).toBe(true);
    expect(taken).toBeLessThan(100);
    expect(db.prepare('SELECT count(*) FROM event_bodies').pluck().get()).toBe(0);
    expect(await store.cursor('c')).toBeUndefined();
    db.close();
    await store.close();
  });

  it('reads bodies written before migration 5 unchanged', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path });
    await store.migrate();
    await store.append([event(1, { n: 1, enrichments: [{ ...app }] }), event(2, { n: 2 })], { id: 'c', value: {} });
    await store.close();
    // Take the file back to schema 4, as a database written by that release, but for the later tables that do
    // not touch the bodies.
    const db = new Database(path);
    db.exec(`ALTER TABLE event_bodies DROP COLUMN enrichments_id; ALTER TABLE event_bodies DROP COLUMN head_id;
      DROP TABLE event_fragments; DROP TABLE fragment_sweeps; DELETE FROM schema_migrations WHERE version IN (5, 14, 15)`);
    db.close();
    const upgraded = await SqliteStore.open({ path });
    await upgraded.migrate();
    await upgraded.append([event(3, { n: 3, enrichments: [app] })], { id: 'c', value: {} });
    const page = await upgraded.search({ filter: null, order: 'asc' }, { limit: 10 });
    expect(page.events.map((e) => e.ocsf)).toEqual([
      { n: 1, enrichments: [app] },
      { n: 2 },
      { n: 3, enrichments: [app] },
    ]);
    await upgraded.close();
  });
});

describe('SqliteStore handing just-appended events to the detector', () => {
  const T0 = Date.UTC(2024, 0, 1);
  const hostile = (n: number): NormalizedEvent => ({
    id: `h${String(n).padStart(6, '0')}`,
    time: T0 + n,
    sourceName: 'cf',
    accountId: 'acct',
    dataset: 'access_requests',
    classUid: 3002,
    activity: n % 2 === 0 ? 'login' : 'act\uD800ivity',
    outcome: n % 3 === 0 ? 'failure' : 'success',
    user: `<script>alert(${n})</script>\uDC00'; DROP TABLE events;--@example.com`,
    srcIp: n % 4 === 0 ? null : `2001:db8::${n}`,
    country: n % 5 === 0 ? null : 'de',
    app: 'x'.repeat(n % 2 === 0 ? 10 : 100_000),
    appUid: null,
    idp: 'saml\u0000',
    rayId: `ray${n}`,
    ocsf: { n, message: 'bad \uD83D unicode', nested: { list: [1, 'two', null], skipped: undefined } },
    raw: { n, html: '<b>bold</b>', 'k"ey': 'caf\u00e9 \u2028' },
  });

  it('hands out exactly what a read of the tables gives, hostile values included', async () => {
    const path = freshPath();
    const writer = await SqliteStore.open({ path, mergeThreshold: 5 });
    await writer.migrate();
    for (let batch = 0; batch < 4; batch += 1) {
      const events = Array.from({ length: 6 }, (_, index) => hostile(batch * 4 + index));
      await writer.append(events, { id: 'cf/access_requests', value: { batch } });
    }
    const remembered = await writer.eventsAfter(0, 1000);
    const reader = await SqliteStore.open({ path });
    const read = await reader.eventsAfter(0, 1000);
    expect(remembered.map((entry) => entry.seq)).toEqual(read.map((entry) => entry.seq));
    expect(remembered.length).toBe(18);
    // Plain copies, so that the comparison reads every member, the lazily parsed documents included.
    const plain = (entries: typeof read): unknown => entries.map((entry) => ({ ...entry.event }));
    expect(plain(remembered)).toEqual(plain(read));
    expect(remembered[0]?.event.ocsf).toEqual({
      n: 0,
      message: 'bad \uD83D unicode',
      nested: { list: [1, 'two', null] },
    });
    await writer.close();
    await reader.close();
  });

  it('reads from the tables when another connection appended in between, so no event is skipped', async () => {
    const path = freshPath();
    const first = await SqliteStore.open({ path });
    await first.migrate();
    const second = await SqliteStore.open({ path });
    await first.append([hostile(1), hostile(2)], { id: 'cf/access_requests', value: { n: 1 } });
    await second.append([hostile(3)], { id: 'other/access_requests', value: { n: 1 } });
    await first.append([hostile(4), hostile(5)], { id: 'cf/access_requests', value: { n: 2 } });
    const firstSeen = await first.eventsAfter(0, 1000);
    expect(firstSeen.map((entry) => entry.event.id)).toEqual([1, 2, 3, 4, 5].map((n) => hostile(n).id));
    const afterTwo = await first.eventsAfter(firstSeen[1]?.seq ?? 0, 1000);
    expect(afterTwo.map((entry) => entry.event.id)).toEqual([3, 4, 5].map((n) => hostile(n).id));
    const afterThree = await first.eventsAfter(firstSeen[2]?.seq ?? 0, 1);
    expect(afterThree.map((entry) => entry.event.id)).toEqual([hostile(4).id]);
    await first.close();
    await second.close();
  });

  it('never hands out an event that retention deleted', async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path });
    await store.migrate();
    await store.append([hostile(1), hostile(2), hostile(3)], { id: 'cf/access_requests', value: { n: 1 } });
    await store.deleteEventsBefore(T0 + 3);
    expect((await store.eventsAfter(0, 1000)).map((entry) => entry.event.id)).toEqual([hostile(3).id]);
    await store.close();
  });
});

// The compiled store in a process of its own: SQLite reads SQLITE_TMPDIR once, when the process first uses it.
// It appends 4,000 events in batches of 400 and merges at 400, so each later merge changes more pages of the
// indexed table than its statement journal holds in memory before it needs a temporary file.
const STORE_MODULE = fileURLToPath(new URL('../../../dist/store/sqlite/store.js', import.meta.url));
const MERGING_STORE = `
import { pino } from 'pino';
const [storeModule, path] = process.argv.slice(1);
const { SqliteStore } = await import(storeModule);
const store = await SqliteStore.open({ path, mergeThreshold: 400, logger: pino({ level: 'warn' }) });
await store.migrate();
const hex = (n) => (Math.imul(n + 1, 2654435761) >>> 0).toString(16).padStart(8, '0');
for (let batch = 0; batch < 10; batch += 1) {
  const events = Array.from({ length: 400 }, (_, i) => {
    const n = batch * 400 + i;
    const time = 1704067200000 + n * 1000;
    return {
      id: time.toString(16).padStart(12, '0') + String(n).padStart(20, '0'),
      time, sourceName: 'cf', accountId: 'a', dataset: 'access_requests', classUid: 3002, activity: 'logon',
      outcome: 'success', user: 'user' + hex(n % 997) + '@example.com', srcIp: '198.51.100.' + (n % 250),
      country: 'us', app: 'Wiki', appUid: null, idp: null, rayId: hex(n) + hex(n * 7), ocsf: { n }, raw: { n },
    };
  });
  await store.append(events, { id: 'c', value: { batch } });
}
await store.close();
`;

describe.skipIf(!existsSync(STORE_MODULE))('SqliteStore merges without a writable temporary directory', () => {
  const runMerges = (env: NodeJS.ProcessEnv): { warnings: string[]; merged: number; recent: number } => {
    const path = freshPath();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', MERGING_STORE, STORE_MODULE, path], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(child.status, child.stderr).toBe(0);
    const warnings = child.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    return { warnings, ...tableCounts(path) };
  };

  it('merges with the journal on disk, quietly, where SQLite can create its temporary files', () => {
    expect(runMerges({})).toEqual({ warnings: [], merged: 4000, recent: 0 });
  });

  it('says once how to fix it and keeps merging with the journal in memory', () => {
    // /proc passes SQLite's check for a writable directory, but no file can be created in it.
    const { warnings, merged, recent } = runMerges({ SQLITE_TMPDIR: '/proc' });
    expect({ merged, recent }).toEqual({ merged: 4000, recent: 0 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not create a temporary file.*set SQLITE_TMPDIR to a writable directory/);
  });
});
