import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { createLogger, silentLogger, type Logger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { loadBuiltinRules } from '../detect/builtin-rules.js';
import { Detector } from '../detect/detector.js';
import { normalizeAccessRequest } from '../normalize/cloudflare/access-requests.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/simulator.js';
import { AccessRequestsSource } from '../sources/cloudflare/datasets/access-requests.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { deniedLogin } from '../../test/helpers/events.js';
import { simulatorClient } from '../../test/helpers/simulators.js';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { waitFor } from '../../test/helpers/wait.js';
import { pullUntilCaughtUp, type DatasetJob } from './runner.js';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const LOOKBACK_MS = 5 * MINUTE;
const LATE_WARNING = /^Events showed up in the API \d+ s after their time, more than half the 300 s lookback/;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A simulator on a manual clock, a SQLite store in a temporary directory and the access_requests job between them. */
async function accessRequestsJob(
  simulatorOptions: Omit<SimulatorOptions, 'clock'>,
  logger: Logger,
  pageSize = 1000,
): Promise<{ clock: ManualClock; store: SqliteStore; job: DatasetJob; metrics: Metrics; simulator: Simulator }> {
  const clock = new ManualClock(NOW);
  const simulator = await startSimulator({ clock, ...simulatorOptions });
  cleanups.push(() => simulator.stop());
  const dir = makeTempDir('zerotrail-runner-');
  cleanups.push(() => dir.remove());
  const store = await SqliteStore.open({ path: join(dir.path, 'zerotrail.db'), logger, clock });
  cleanups.push(() => store.close());
  await store.migrate();
  const metrics = new Metrics();
  const job: DatasetJob = {
    kind: 'log',
    id: 'cf/access_requests',
    sourceName: 'cf',
    accountId: simulator.accountId,
    required: true,
    source: new AccessRequestsSource({
      client: simulatorClient(simulator, { clock, logger, metrics }),
      clock,
      logger,
      pageSize,
      lookbackMs: LOOKBACK_MS,
    }),
    normalize: normalizeAccessRequest,
  };
  return { clock, store, job, metrics, simulator };
}

describe('late events found by the lookback', () => {
  /** Collects an hour of events twice, five minutes apart, from a simulator that shows some of them late. */
  async function collectTwice(delayMs: number): Promise<{ messages: { level: number; msg: string }[] }> {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => lines.push(line) } });
    const { clock, store, job, metrics } = await accessRequestsJob(
      {
        seed: 3,
        traffic: { kind: 'fixed', fromMs: NOW - 60 * MINUTE, toMs: NOW, count: 600 },
        faults: { lateEvents: { fraction: 0.5, delayMs } },
      },
      logger,
    );
    const pull = () =>
      pullUntilCaughtUp(
        job,
        { store, clock, logger, metrics },
        { backfillFromMs: NOW - 60 * MINUTE, signal: new AbortController().signal },
      );
    const first = await pull();
    clock.advance(5 * MINUTE);
    const second = await pull();
    // The late events are all there in the end, each once.
    expect(first.inserted + second.inserted).toBe(600);
    expect(await store.count({ filter: null })).toBe(600);
    const messages = lines
      .map((line) => JSON.parse(line) as { level: number; msg: string; jobId?: string })
      .filter((entry) => entry.jobId === 'cf/access_requests');
    return { messages };
  }
  it('warns when events show up more than half the lookback after their time, naming the setting', async () => {
    const { messages } = await collectTwice(4 * MINUTE);
    const warnings = messages.filter((entry) => LATE_WARNING.test(entry.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, lookbackSecs: 300 });
    expect((warnings[0] as { lateBySecs?: number }).lateBySecs).toBeGreaterThanOrEqual(180);
    expect(warnings[0]?.msg).toContain('ZEROTRAIL_CLOUDFLARE__LOOKBACK_SECS');
  }, 60_000);

  it('only notes events a little late, well within the lookback', async () => {
    const { messages } = await collectTwice(MINUTE);
    expect(messages.filter((entry) => LATE_WARNING.test(entry.msg))).toEqual([]);
    expect(messages.filter((entry) => entry.msg === 'Late events found by the lookback')).toHaveLength(1);
  }, 60_000);
});

describe('the detector, told by a pull', () => {
  it('catches up on events left past its offset, though the pull stored nothing new', async () => {
    const logger = silentLogger();
    const { clock, store, job, metrics } = await accessRequestsJob(
      { seed: 4, traffic: { kind: 'fixed', fromMs: NOW - 60 * MINUTE, toMs: NOW - 10 * MINUTE, count: 20 } },
      logger,
    );
    const options = { backfillFromMs: NOW - 60 * MINUTE, signal: new AbortController().signal };
    expect((await pullUntilCaughtUp(job, { store, clock, logger, metrics }, options)).inserted).toBe(20);
    // Stored by a process killed before it evaluated them.
    await store.append(
      Array.from({ length: 14 }, (_, n) => deniedLogin(n, NOW - 30 * MINUTE)),
      { id: 'killed-run', value: { n: 14 } },
    );
    const detector = new Detector({ store, clock, logger, metrics }, loadBuiltinRules(), { minIntervalMs: 0 });
    cleanups.push(() => detector.close());
    clock.advance(MINUTE);
    expect((await pullUntilCaughtUp(job, { store, clock, logger, metrics, detector }, options)).inserted).toBe(0);
    await waitFor(
      'the alert of the events left behind',
      async () => (await store.listAlerts({ ruleId: 'zt-brute-force-user', limit: 10 })).length === 1,
      { timeoutMs: 5_000 },
    );
  });
});

describe('a pull that falls behind a retention shortened while it reads', () => {
  it('moves on to the new cut-off from its committed cursor, storing everything after it once', async () => {
    const { clock, store, job, metrics, simulator } = await accessRequestsJob(
      { seed: 5, traffic: { kind: 'fixed', fromMs: NOW - 10 * DAY, toMs: NOW - HOUR, count: 5000 } },
      silentLogger(),
      100,
    );
    let retentionDays = 30;
    let pages = 0;
    const totals = await pullUntilCaughtUp(
      job,
      {
        store,
        clock,
        logger: silentLogger(),
        metrics,
        retentionCutoff: () => Promise.resolve(clock.now() - retentionDays * DAY),
      },
      {
        backfillFromMs: NOW - 10 * DAY,
        signal: new AbortController().signal,
        onPageStored: () => {
          // An admin shortens the retention to 2 days a few pages into the 10-day backfill.
          if (++pages !== 3) return;
          retentionDays = 2;
          clock.advance(2 * MINUTE);
        },
      },
    );
    const cutoff = clock.now() - 2 * DAY;
    const count = (fromMs: number, toMs: number): Promise<number> => store.count({ filter: null, fromMs, toMs });
    // The three pages read before the change, and none after it until the cut-off.
    const before = await count(0, cutoff);
    expect(before).toBeGreaterThan(200);
    expect(before).toBeLessThanOrEqual(300);
    expect(simulator.eventsBetween(NOW - 10 * DAY, cutoff).length).toBeGreaterThan(3000);
    expect(await count(cutoff, clock.now())).toBe(simulator.eventsBetween(cutoff, clock.now()).length);
    expect(totals.inserted).toBe(before + (await count(cutoff, clock.now())));
  });
});
