import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from './store.js';

const BINDING = createRequire(import.meta.url).resolve('better-sqlite3');
const dir = mkdtempSync(join(tmpdir(), 'zerotrail-rate-buckets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Another process's step on the bucket, holding the write lock for `holdMs` and stamping the row as it ends.
const OTHER_STEP = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.binding);
const db = new Database(workerData.path);
db.exec('BEGIN IMMEDIATE');
parentPort.postMessage('locked');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
const stepped = Date.now();
db.prepare('UPDATE rate_buckets SET updated_at = ? WHERE key = ?').run(stepped, workerData.key);
db.exec('COMMIT');
db.close();
parentPort.postMessage(stepped);
`;

describe('the shared rate bucket on SQLite', () => {
  it('times a step that waited for another process by when it got the lock, never rewinding the bucket', async () => {
    const path = join(dir, 'bucket.db');
    const store = await SqliteStore.open({ path });
    await store.migrate();
    const key = 'fingerprint-wait';
    await store.takeRateToken(key, 10, 60_000);
    const worker = new Worker(OTHER_STEP, {
      eval: true,
      workerData: { binding: BINDING, path, key, holdMs: 500 },
    });
    const messages: unknown[] = [];
    const next = (): Promise<unknown> =>
      new Promise((resolve) => worker.once('message', (message: unknown) => resolve(message)));
    messages.push(await next());
    const stepped = next();
    // Waits, blocking this thread, for the other step's commit.
    await store.takeRateToken(key, 10, 60_000);
    const otherStep = (await stepped) as number;
    await worker.terminate();
    await store.close();
    const db = new Database(path, { readonly: true });
    const row = db.prepare('SELECT updated_at AS updatedAt FROM rate_buckets WHERE key = ?').get(key) as {
      updatedAt: number;
    };
    db.close();
    expect(messages).toEqual(['locked']);
    // A time read before the wait would be written back older than the other step's, and the next step would
    // refill the waited time a second time.
    expect(row.updatedAt).toBeGreaterThanOrEqual(otherStep);
  });
});
