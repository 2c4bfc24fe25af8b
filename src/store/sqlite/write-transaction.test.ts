import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/helpers/temp-dir.js';
import { sqliteCode } from './sqlite-code.js';
import { writeTransaction } from './write-transaction.js';

// Another process takes the write lock, says so, holds it for the given time and commits.
const LOCK_HOLDER = `
const Database = require('better-sqlite3');
const [path, holdMs] = process.argv.slice(1);
const db = new Database(path);
db.exec('BEGIN IMMEDIATE');
db.prepare("INSERT INTO marks (who) VALUES ('holder')").run();
process.stdout.write('locked\\n');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(holdMs));
db.exec('COMMIT');
db.close();
`;

describe('writeTransaction', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let path: string;
  let db: Database.Database;
  let holder: ChildProcess | undefined;

  beforeEach(() => {
    dir = makeTempDir('write-transaction');
    path = join(dir.path, 'test.db');
    // No busy timeout: SQLite answers SQLITE_BUSY at once, as it does where it skips its busy handler.
    db = new Database(path, { timeout: 0 });
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE marks (who TEXT NOT NULL)');
  });

  afterEach(async () => {
    if (holder !== undefined && holder.exitCode === null) {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }
    holder = undefined;
    db.close();
    dir.remove();
  });

  // Resolves once the lock is held; `exited` settles when the holder has committed and gone.
  async function holdWriteLock(holdMs: number): Promise<{ readonly exited: Promise<unknown> }> {
    const child = spawn(process.execPath, ['-e', LOCK_HOLDER, path, String(holdMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    holder = child;
    const exited = once(child, 'exit');
    // Not `for await … break`: leaving that loop waits for the pipe to close, which is when the holder exits.
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stdout?.on('data', (chunk) => {
        output += String(chunk);
        if (output.includes('locked')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before taking the lock`)));
    });
    return { exited };
  }

  function marks(): string[] {
    return db.prepare('SELECT who FROM marks ORDER BY rowid').pluck().all() as string[];
  }

  it('waits for the write lock where SQLite gives up at once, then runs the work once and commits', async () => {
    const { exited } = await holdWriteLock(400);
    // The connection's own busy timeout (none) is the default wait: SQLite's answer stands.
    expect(() => writeTransaction(db, () => db.exec("INSERT INTO marks (who) VALUES ('impatient')"))).toThrow(
      expect.objectContaining({ code: 'SQLITE_BUSY' }) as Error,
    );
    let runs = 0;
    const started = performance.now();
    const result = writeTransaction(
      db,
      () => {
        runs += 1;
        db.exec("INSERT INTO marks (who) VALUES ('waiter')");
        return 'done';
      },
      10_000,
    );
    const waitedMs = performance.now() - started;
    expect(result).toBe('done');
    expect(runs).toBe(1);
    expect(waitedMs).toBeGreaterThan(100);
    expect(db.inTransaction).toBe(false);
    await exited;
    expect(marks()).toEqual(['holder', 'waiter']);
  });

  it('fails with SQLITE_BUSY once the wait is over, without running the work', async () => {
    const { exited } = await holdWriteLock(1_500);
    let runs = 0;
    const started = performance.now();
    let failure: unknown;
    try {
      writeTransaction(
        db,
        () => {
          runs += 1;
        },
        250,
      );
    } catch (error) {
      failure = error;
    }
    const waitedMs = performance.now() - started;
    expect(sqliteCode(failure)).toBe('SQLITE_BUSY');
    expect(runs).toBe(0);
    expect(waitedMs).toBeGreaterThanOrEqual(240);
    expect(waitedMs).toBeLessThan(1_200);
    expect(db.inTransaction).toBe(false);
    await exited;
    expect(marks()).toEqual(['holder']);
  });

  it('rolls back everything the work wrote when it throws, and the next transaction starts clean', () => {
    expect(() =>
      writeTransaction(db, () => {
        db.exec("INSERT INTO marks (who) VALUES ('lost')");
        throw new Error('work failed');
      }),
    ).toThrow('work failed');
    expect(db.inTransaction).toBe(false);
    expect(marks()).toEqual([]);
    writeTransaction(db, () => db.exec("INSERT INTO marks (who) VALUES ('kept')"));
    expect(marks()).toEqual(['kept']);
  });
});
