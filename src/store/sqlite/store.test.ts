import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import type { NormalizedEvent } from '../../core/event.js';
import { parseQuery } from '../query-language.js';
import { storeContractSuite } from '../contract.suite.js';
import { SqliteStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-sqlite-'));
let counter = 0;
const freshPath = (): string => join(dir, `store-${counter++}.db`);
const pathOf = new WeakMap<object, string>();

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

storeContractSuite(
  'SqliteStore',
  async () => {
    const path = freshPath();
    const store = await SqliteStore.open({ path, deleteChunkSize: 7 });
    pathOf.set(store, path);
    return store;
  },
  {
    reopen: async (store) => {
      const path = pathOf.get(store);
      if (path === undefined) throw new Error('store opened outside the suite');
      await store.close();
      return SqliteStore.open({ path });
    },
  },
);

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
    expect(db.prepare('SELECT version, applied_at FROM schema_migrations').all()).toEqual([
      { version: 1, applied_at: 1_700_000_000_000 },
    ]);
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
    await expect(store.append([], { id: 'c', value: { v: 2 } })).resolves.toEqual({ inserted: 0, duplicates: 0 });
    expect(await store.cursor('c')).toEqual({ v: 2 });
    await store.close();
  });
});
