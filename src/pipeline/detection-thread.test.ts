import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.js';
import { createLogger, silentLogger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { loadBuiltinRules } from '../detect/builtin-rules.js';
import { Detector } from '../detect/detector.js';
import { PostgresStore } from '../store/postgres/store.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { deniedLogin } from '../../test/helpers/events.js';
import { ensurePostgres, TestSchemas } from '../../test/helpers/postgres.js';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { waitFor } from '../../test/helpers/wait.js';
import { DetectionThread } from './detection-thread.js';

// The thread runs compiled code, as the binary does; `npm test` builds dist/ first.
const WORKER_URL = new URL('../../dist/pipeline/detection-worker.js', import.meta.url);
const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);

// A thread's niceness: field 19 of its stat file, after the parenthesised name.
function nicenessIn(statPath: string): number {
  return Number(readFileSync(statPath, 'utf8').split(') ')[1]?.split(' ')[16]);
}

// The niceness of each thread of this process, by thread id.
function threadNiceness(): Map<number, number> {
  const niceness = new Map<number, number>();
  for (const id of readdirSync('/proc/self/task')) niceness.set(Number(id), nicenessIn(`/proc/self/task/${id}/stat`));
  return niceness;
}

function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    logger: createLogger({ level: 'debug', destination }),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('the detection thread', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function storeWithDenials(dir: string, count: number): Promise<string> {
    const path = join(dir, 'zerotrail.db');
    const store = await SqliteStore.open({ path, logger: silentLogger(), keepAppended: false });
    try {
      await store.migrate();
      await store.append(
        Array.from({ length: count }, (_, n) => deniedLogin(n, T0)),
        { id: 'cf/access_requests', value: { n: count } },
      );
    } finally {
      await store.close();
    }
    return path;
  }

  it('raises on its own connection the alerts the detector raises in this thread, and says so', async () => {
    const dir = makeTempDir('detection-thread');
    cleanups.push(() => dir.remove());
    const path = await storeWithDenials(dir.path, 14);
    copyFileSync(path, join(dir.path, 'inline.db'));

    const metrics = new Metrics();
    const { logger, lines } = capturedLogger();
    const thread = new DetectionThread({
      data: { dataDir: dir.path, databasePath: path, logLevel: 'debug' },
      logger,
      metrics,
      workerUrl: WORKER_URL,
    });
    cleanups.push(() => thread.close());
    const told: { created: number; updated: number }[] = [];
    thread.onAlerts((committed) => told.push(committed));
    thread.notify();
    await waitFor('the thread to tell of the alert', () => told.length > 0, { timeoutMs: 20_000 });
    // Everything was evaluated once: a catch-up asked for now finds nothing left.
    expect(await thread.catchUp()).toEqual({ events: 0, created: 0, updated: 0 });
    expect(metrics.value('detect_events_evaluated_total')).toBe(14);
    expect(metrics.value('detect_alerts_created_total')).toBe(1);
    await thread.close();
    // The thread's log lines come out of this thread's logger.
    expect(lines().some((line) => line['component'] === 'detect' && line['msg'] === 'Detections stored')).toBe(true);

    const threaded = await SqliteStore.open({ path, logger: silentLogger() });
    cleanups.push(() => threaded.close());
    const inline = await SqliteStore.open({ path: join(dir.path, 'inline.db'), logger: silentLogger() });
    cleanups.push(() => inline.close());
    const detector = new Detector(
      { store: inline, logger: silentLogger(), clock: systemClock, metrics: new Metrics() },
      loadBuiltinRules(),
    );
    const inlineRun = await detector.catchUp();
    expect(inlineRun).toMatchObject({ events: 14, created: 1 });
    expect(told).toEqual([{ created: inlineRun.created, updated: inlineRun.updated }]);
    const alertsOf = async (store: SqliteStore): Promise<unknown[]> =>
      (await store.listAlerts({ limit: 10 })).map((alert) => [alert.ruleId, alert.entity, alert.count, alert.summary]);
    expect(await alertsOf(threaded)).toEqual(await alertsOf(inline));
  });

  it.runIf(process.platform === 'linux')("runs below the collecting thread's priority, and only itself", async () => {
    const dir = makeTempDir('detection-thread-priority');
    cleanups.push(() => dir.remove());
    const path = await storeWithDenials(dir.path, 3);
    const ownNiceness = nicenessIn('/proc/thread-self/stat');
    expect([...threadNiceness().values()].every((niceness) => niceness === ownNiceness)).toBe(true);
    const { logger, lines } = capturedLogger();
    const thread = new DetectionThread({
      data: { dataDir: dir.path, databasePath: path, logLevel: 'debug' },
      logger,
      metrics: new Metrics(),
      workerUrl: WORKER_URL,
    });
    cleanups.push(() => thread.close());
    // A catch-up answered means the thread is past its start.
    await thread.catchUp();
    // Threads started meanwhile (libuv's pool, the worker's own helpers) inherit this thread's niceness.
    const lowered = [...threadNiceness()].filter(([, niceness]) => niceness !== ownNiceness);
    expect(lowered).toEqual([[expect.any(Number) as number, Math.min(19, ownNiceness + 10)]]);
    expect(lowered[0]?.[0]).not.toBe(process.pid);
    await thread.close();
    expect(lines().some((line) => line['msg'] === 'Priority lowered' && line['threadId'] === lowered[0]?.[0])).toBe(
      true,
    );
  });

  it.runIf(process.platform === 'linux')(
    'keeps its priority when the store is PostgreSQL, whose server does the storing',
    async () => {
      await ensurePostgres();
      const schemas = new TestSchemas('detection_priority');
      cleanups.push(() => schemas.dropAll());
      const databaseUrl = schemas.url();
      const store = await PostgresStore.open({ url: databaseUrl, logger: silentLogger() });
      try {
        await store.migrate();
      } finally {
        await store.close();
      }
      const dir = makeTempDir('detection-thread-postgres');
      cleanups.push(() => dir.remove());
      const ownNiceness = nicenessIn('/proc/thread-self/stat');
      const { logger, lines } = capturedLogger();
      const thread = new DetectionThread({
        data: { dataDir: dir.path, databasePath: join(dir.path, 'unused.db'), databaseUrl, logLevel: 'debug' },
        logger,
        metrics: new Metrics(),
        workerUrl: WORKER_URL,
      });
      cleanups.push(() => thread.close());
      expect(await thread.catchUp()).toEqual({ events: 0, created: 0, updated: 0 });
      expect([...threadNiceness().values()].every((niceness) => niceness === ownNiceness)).toBe(true);
      await thread.close();
      expect(lines().some((line) => line['msg'] === 'Priority lowered')).toBe(false);
    },
  );

  it('fails a catch-up with the reason when the thread cannot start, logs it, and starts again later', async () => {
    const dir = makeTempDir('detection-thread-failed');
    cleanups.push(() => dir.remove());
    const metrics = new Metrics();
    const { logger, lines } = capturedLogger();
    const thread = new DetectionThread({
      // A directory where the database file should be: the thread's store cannot open it.
      data: { dataDir: dir.path, databasePath: dir.path, logLevel: 'info' },
      logger,
      metrics,
      workerUrl: WORKER_URL,
      restartDelayMs: 200,
    });
    cleanups.push(() => thread.close());
    await expect(thread.catchUp()).rejects.toThrow(dir.path);
    expect(metrics.value('detect_thread_failures_total')).toBe(1);
    expect(
      lines().find((line) => line['msg'] === 'Detection thread failed; it starts again on the next stored batch'),
    ).toMatchObject({ level: 50 });
    // Within the restart delay a catch-up fails at once; after it, the thread is started (and fails) again.
    await expect(thread.catchUp()).rejects.toThrow('restarting');
    thread.notify();
    await waitFor('the second start to fail', () => metrics.value('detect_thread_failures_total') === 2, {
      timeoutMs: 10_000,
    });
  });
});
