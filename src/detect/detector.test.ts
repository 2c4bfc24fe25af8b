import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import type { NormalizedEvent } from '../core/event.js';
import { silentLogger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { diffInventory } from '../normalize/inventory-changes.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { loadBuiltinRules } from './builtin-rules.js';
import { Detector } from './detector.js';
import { deniedAccess } from '../../test/helpers/events.js';

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-detect-'));
let counter = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);
const MIN = 60_000;
const DAY = 86_400_000;
const RULES = loadBuiltinRules();

let seq = 0;
function access(overrides: Partial<NormalizedEvent> & { time: number }): NormalizedEvent {
  seq += 1;
  return deniedAccess(overrides, seq);
}

function denials(
  count: number,
  from: number,
  stepMs: number,
  overrides: Partial<NormalizedEvent> = {},
): NormalizedEvent[] {
  return Array.from({ length: count }, (_, i) => access({ time: from + i * stepMs, ...overrides }));
}

type AnyMethod = (...args: unknown[]) => unknown;

// The store with one method wrapped: `wrap` gets the original, bound to the store, and returns its stand-in.
function withMethod(
  target: SqliteStore,
  name: keyof SqliteStore,
  wrap: (original: AnyMethod) => AnyMethod,
): SqliteStore {
  return new Proxy(target, {
    get(store, property) {
      const value: unknown = Reflect.get(store, property, store);
      if (typeof value !== 'function') return value;
      const method = (value as AnyMethod).bind(store);
      return property === name ? wrap(method) : method;
    },
  });
}

describe('Detector with the built-in rules', () => {
  let store: SqliteStore;
  let path: string;
  const clock = new ManualClock(T0 + 30 * DAY);
  const deps = () => ({ store, clock, logger: silentLogger(), metrics: new Metrics() });
  const append = (events: readonly NormalizedEvent[]) =>
    store.append(events, { id: 'cf/access_requests', value: { n: seq } });
  const alertsOf = async (ruleId: string) => await store.listAlerts({ ruleId, limit: 100 });

  const openFreshStore = async () => {
    path = join(dir, `detect-${counter++}.db`);
    store = await SqliteStore.open({ path, clock });
    await store.migrate();
  };
  // For a test that compares two runs: the first run's store is closed, the second starts on an empty one.
  const switchToFreshStore = async () => {
    await store.close();
    await openFreshStore();
  };

  beforeEach(openFreshStore);
  afterEach(async () => {
    await store.close();
  });

  describe('stopping', () => {
    it('stops evaluating when its time to stop runs out, and the next start evaluates the rest', async () => {
      await append(denials(40, T0, 1_000, { user: 'stop@example.com' }));
      // The store numbers the events of a fresh store 1 to 40.
      const last = 40;
      const stopping = new Detector(deps(), RULES, {
        batch: 5,
        batchesPerCommit: 1,
        minIntervalMs: 0,
        closeBudgetMs: 0,
      });
      stopping.notify();
      await stopping.close();
      const left = await store.detectionOffset('rules');
      // A backlog of a whole cluster would otherwise hold the process past its supervisor's patience.
      expect(left).toBeLessThan(last);
      await new Detector(deps(), RULES).catchUp();
      expect(await store.detectionOffset('rules')).toBe(last);
      const [alert, ...rest] = await alertsOf('zt-brute-force-user');
      expect(rest).toEqual([]);
      expect(alert?.count).toBe(40);
    });

    it('evaluates what is left when it stops within its time', async () => {
      await append(denials(40, T0, 1_000, { user: 'stop@example.com' }));
      const stopping = new Detector(deps(), RULES, { batch: 5, batchesPerCommit: 1, minIntervalMs: 0 });
      stopping.notify();
      await stopping.close();
      expect(await store.detectionOffset('rules')).toBe(40);
    });
  });

  describe('brute force against a user', () => {
    it('fires on 14 denials of one user in 6 minutes, with event times and a summary', async () => {
      await append(denials(14, T0, 27_000));
      await new Detector(deps(), RULES).catchUp();
      const [alert, ...rest] = await alertsOf('zt-brute-force-user');
      expect(rest).toEqual([]);
      expect(alert).toMatchObject({
        severity: 'high',
        technique: 'T1110.001',
        entity: { user: 'alice@example.com', ip: '203.0.113.7', app: 'wiki.example.com' },
        firstEventTime: T0,
        lastEventTime: T0 + 13 * 27_000,
        count: 14,
        status: 'open',
        summary: 'alice@example.com was denied 14 times from 203.0.113.7 (RU) in 6 minutes',
      });
      expect(await store.alertEvidence(alert?.id ?? '')).toHaveLength(14);
    });

    it('does not fire on 9 denials, nor on denials spread wider than the window', async () => {
      await append(denials(9, T0, 30_000));
      await append(denials(12, T0 + DAY, 2 * MIN));
      await new Detector(deps(), RULES).catchUp();
      expect(await alertsOf('zt-brute-force-user')).toEqual([]);
    });

    it('keeps its state across a restart: 6 denials before and 6 after make one alert', async () => {
      await append(denials(6, T0, 20_000));
      await new Detector(deps(), RULES).catchUp();
      await store.close();
      store = await SqliteStore.open({ path, clock });
      await store.migrate();
      await append(denials(6, T0 + 2 * MIN + 1, 20_000));
      await new Detector(deps(), RULES).catchUp();
      const alerts = await alertsOf('zt-brute-force-user');
      expect(alerts).toHaveLength(1);
      expect(alerts[0]?.count).toBe(12);
    });

    it('judges a late denial in event-time order and stamps the alert with event time', async () => {
      const early = denials(10, T0, 30_000);
      // Every other denial arrives first, the rest later, as a backfill of an older page would.
      await append(early.filter((_, i) => i % 2 === 1));
      const detector = new Detector(deps(), RULES);
      await detector.catchUp();
      expect(await alertsOf('zt-brute-force-user')).toEqual([]);
      await append(early.filter((_, i) => i % 2 === 0));
      await detector.catchUp();
      const [alert] = await alertsOf('zt-brute-force-user');
      expect(alert).toMatchObject({ firstEventTime: T0, lastEventTime: T0 + 9 * 30_000, count: 10 });
      expect(alert?.createdAt).toBe(clock.now());
    });

    it('grows one alert within the suppression window and opens another after it', async () => {
      await append(denials(10, T0, 10_000));
      await append(denials(10, T0 + 30 * MIN, 10_000));
      await append(denials(10, T0 + 5 * 60 * MIN, 10_000));
      await new Detector(deps(), RULES).catchUp();
      const alerts = await alertsOf('zt-brute-force-user');
      expect(alerts.map((alert) => alert.count)).toEqual([10, 20]);
    });

    it('skips users on the allow-list and honours a threshold override and a disabled rule', async () => {
      const base = {
        enabled: null,
        overrides: {},
        allow: { users: [], ips: [], apps: [], countries: [] },
        updatedAt: T0,
        updatedBy: 'admin',
      };
      await store.saveRuleSetting({
        ...base,
        ruleId: 'zt-brute-force-user',
        allow: { ...base.allow, users: ['ALICE@example.com'] },
      });
      await append(denials(12, T0, 10_000));
      await append(denials(12, T0, 10_000, { user: 'bob@example.com', srcIp: '198.51.100.9' }));
      await new Detector(deps(), RULES).catchUp();
      expect((await alertsOf('zt-brute-force-user')).map((alert) => alert.entity.user)).toEqual(['bob@example.com']);

      await store.saveRuleSetting({ ...base, ruleId: 'zt-brute-force-user', overrides: { threshold: 3 } });
      await append(denials(3, T0 + DAY, 10_000, { user: 'carol@example.com' }));
      await store.saveRuleSetting({ ...base, ruleId: 'zt-password-spraying', enabled: false });
      await append(denials(12, T0 + 2 * DAY, 10_000).map((event, i) => ({ ...event, user: `u${i}@example.com` })));
      await new Detector(deps(), RULES).catchUp();
      expect((await alertsOf('zt-brute-force-user')).map((alert) => alert.entity.user)).toContain('carol@example.com');
      expect(await alertsOf('zt-password-spraying')).toEqual([]);
    });
  });

  describe('exactly once', () => {
    it('evaluates each stored event once, however often and however many detectors run', async () => {
      await append(denials(14, T0, 10_000));
      const first = new Detector(deps(), RULES);
      const second = new Detector(deps(), RULES);
      const results = await Promise.all([first.catchUp(), second.catchUp(), first.catchUp()]);
      expect(results.reduce((sum, result) => sum + result.events, 0)).toBe(14);
      expect(await first.catchUp()).toEqual({ events: 0, created: 0, updated: 0 });
      const alerts = await alertsOf('zt-brute-force-user');
      expect(alerts).toHaveLength(1);
      expect(alerts[0]?.count).toBe(14);
      expect(await store.alertHistory(alerts[0]?.id ?? '')).toHaveLength(1);
    });

    it('after a crash between storing and evaluating, the next start evaluates the stored events once', async () => {
      await append(denials(14, T0, 10_000));
      // The process dies here: the events are committed, the detection step never ran.
      await store.close();
      store = await SqliteStore.open({ path, clock });
      await store.migrate();
      expect(await new Detector(deps(), RULES).catchUp()).toMatchObject({ events: 14, created: 1 });
      expect(await new Detector(deps(), RULES).catchUp()).toEqual({ events: 0, created: 0, updated: 0 });
      expect((await alertsOf('zt-brute-force-user')).map((alert) => alert.count)).toEqual([14]);
    });

    it('a step that fails before its commit leaves the offset, the state and the alerts as they were', async () => {
      await append(denials(14, T0, 10_000));
      await store.close();
      store = await SqliteStore.open({ path, clock, busyTimeoutMs: 50 });
      // Another connection holds the write lock, so the step's commit fails as it would on a busy database.
      const other = new Database(path);
      other.prepare('BEGIN IMMEDIATE').run();
      const detector = new Detector(deps(), RULES);
      await expect(detector.catchUp()).rejects.toMatchObject({ code: 'STORE_BUSY' });
      other.prepare('ROLLBACK').run();
      other.close();
      expect(await store.detectionOffset('rules')).toBe(0);
      expect(await store.listAlerts({ limit: 10 })).toEqual([]);
      expect(await store.detectionState('zt-brute-force-user', ['alice@example.com'])).toEqual(new Map());
      await detector.catchUp();
      expect((await alertsOf('zt-brute-force-user')).map((alert) => alert.count)).toEqual([14]);
    });

    it('keeps the same rule state with two detectors taking turns as with one, though each caches what it committed', async () => {
      const turns = [0, 1, 2, 3].map((turn) => denials(7, T0 + turn * 70_000, 10_000));
      const first = new Detector(deps(), RULES);
      const second = new Detector(deps(), RULES);
      for (const [turn, events] of turns.entries()) {
        await append(events);
        await (turn % 2 === 0 ? first : second).catchUp();
      }
      const keys = ['alice@example.com'];
      const together = await store.detectionState('zt-brute-force-user', keys);
      const alertsTogether = (await alertsOf('zt-brute-force-user')).map((alert) => alert.count);

      await switchToFreshStore();
      const single = new Detector(deps(), RULES);
      for (const events of turns) {
        await append(events);
        await single.catchUp();
      }
      expect(together.size).toBe(1);
      expect(together).toEqual(await store.detectionState('zt-brute-force-user', keys));
      expect(alertsTogether).toEqual((await alertsOf('zt-brute-force-user')).map((alert) => alert.count));
    });

    it('reads rule state back from the store once its cache outgrows the budget, and judges the same', async () => {
      const turns = [0, 1, 2, 3].map((turn) => denials(7, T0 + turn * 70_000, 10_000));
      // Counts the state reads that reach the store, for the detector on the store of the moment.
      const counted = (reads: { n: number }) => ({
        ...deps(),
        store: withMethod(store, 'detectionState', (read) => (...args) => {
          reads.n += 1;
          return read(...args);
        }),
      });
      const run = async (options: { maxCachedStateChars?: number }) => {
        const reads = { n: 0 };
        const detector = new Detector(counted(reads), RULES, options);
        for (const events of turns) {
          await append(events);
          await detector.catchUp();
        }
        const state = await store.detectionState('zt-brute-force-user', ['alice@example.com']);
        const alerts = (await alertsOf('zt-brute-force-user')).map((alert) => alert.count);
        return { reads: reads.n, state, alerts };
      };
      const cached = await run({});
      await switchToFreshStore();
      const starved = await run({ maxCachedStateChars: 1 });
      expect(starved.reads).toBeGreaterThan(cached.reads);
      expect(starved.state).toEqual(cached.state);
      expect(starved.alerts).toEqual(cached.alerts);
      expect(cached.alerts.length).toBeGreaterThan(0);
    });

    // 23 events in batches of 5: alice's 14 denials (brute force), then bob denied 5 times and allowed (a sequence
    // across two batches), with a success of alice's in between.
    const mixedDay = (): NormalizedEvent[] => [
      ...denials(14, T0, 10_000),
      access({ time: T0 + 15 * 10_000, outcome: 'success', srcIp: '192.0.2.1', country: 'us' }),
      ...denials(5, T0 + 20 * 10_000, MIN, { user: 'bob@example.com' }),
      access({ time: T0 + 30 * 10_000 + 6 * MIN, outcome: 'success', user: 'bob@example.com' }),
      ...denials(2, T0 + DAY, MIN, { user: 'carol@example.com' }),
    ];
    // The detector's commits, alerts and rule state after one catch-up over mixedDay on a fresh store.
    const runMixedDay = async (
      events: readonly NormalizedEvent[],
      options: { batch: number; batchesPerCommit: number },
    ) => {
      await switchToFreshStore();
      await append(events);
      const commits: number[] = [];
      const counting = withMethod(store, 'commitDetections', (commitDetections) => (commit) => {
        commits.push((commit as { toOffset: number }).toOffset);
        return commitDetections(commit);
      });
      const result = await new Detector({ ...deps(), store: counting }, RULES, options).catchUp();
      const alerts = (await store.listAlerts({ limit: 100 })).map((alert) => ({
        ruleId: alert.ruleId,
        entityKey: alert.entityKey,
        severity: alert.severity,
        count: alert.count,
        first: alert.firstEventTime,
        last: alert.lastEventTime,
        summary: alert.summary,
      }));
      const state = await Promise.all(
        ['zt-brute-force-user', 'zt-denied-then-allowed', 'zt-new-country'].map(async (ruleId) => [
          ...(await store.detectionState(ruleId, [
            'alice@example.com',
            'bob@example.com',
            'carol@example.com',
            'bob@example.com\u001fwiki.example.com',
            'alice@example.com\u001fwiki.example.com',
          ])),
        ]),
      );
      return { result, commits, alerts, state };
    };

    it('commits several full batches at once, with the alerts and state of a commit per batch', async () => {
      const events = mixedDay();
      const perBatch = await runMixedDay(events, { batch: 5, batchesPerCommit: 1 });
      const grouped = await runMixedDay(events, { batch: 5, batchesPerCommit: 4 });
      expect(perBatch.commits).toEqual([5, 10, 15, 20, 23]);
      // Four full batches, then the short one that ends the catch-up.
      expect(grouped.commits).toEqual([20, 23]);
      expect(grouped.result).toEqual({ ...perBatch.result, updated: grouped.result.updated });
      expect(grouped.result.events).toBe(23);
      // alice: brute force, then allowed after her denials; bob: allowed after his.
      expect(grouped.alerts.map((alert) => `${alert.ruleId} ${alert.count}`).sort()).toEqual([
        'zt-brute-force-user 14',
        'zt-denied-then-allowed 15',
        'zt-denied-then-allowed 6',
      ]);
      expect(grouped.alerts).toEqual(perBatch.alerts);
      expect(grouped.state.flat().length).toBeGreaterThan(0);
      expect(grouped.state).toEqual(perBatch.state);
    });

    it('a batch that fails inside a commit of several leaves the offset, the state and the alerts as they were', async () => {
      await append(mixedDay());
      let reads = 0;
      const failing = withMethod(store, 'eventsAfter', (eventsAfter) => (...args) => {
        reads += 1;
        // The third batch of the first commit cannot be read.
        if (reads === 3) return Promise.reject(new Error('disk went away'));
        return eventsAfter(...args);
      });
      const detector = new Detector({ ...deps(), store: failing }, RULES, { batch: 5, batchesPerCommit: 4 });
      await expect(detector.catchUp()).rejects.toThrow('disk went away');
      expect(await store.detectionOffset('rules')).toBe(0);
      expect(await store.listAlerts({ limit: 10 })).toEqual([]);
      expect(await store.detectionState('zt-brute-force-user', ['alice@example.com'])).toEqual(new Map());
      // The same detector goes on from the offset, as one that never failed would have.
      expect(await detector.catchUp()).toMatchObject({ events: 23, created: 3 });
      expect((await alertsOf('zt-brute-force-user')).map((alert) => alert.count)).toEqual([14]);
      expect((await alertsOf('zt-denied-then-allowed')).map((alert) => alert.count).sort()).toEqual([15, 6]);
    });

    it('a commit from a stale offset is refused and changes nothing', async () => {
      await append(denials(14, T0, 10_000));
      await new Detector(deps(), RULES).catchUp();
      const before = await store.listAlerts({ limit: 100 });
      const result = await store.commitDetections({
        offsetName: 'rules',
        fromOffset: 0,
        toOffset: 14,
        state: [{ ruleId: 'zt-brute-force-user', key: 'alice@example.com', value: null }],
        firings: [],
      });
      expect(result.committed).toBe(false);
      expect(await store.listAlerts({ limit: 100 })).toEqual(before);
      expect(await store.detectionState('zt-brute-force-user', ['alice@example.com'])).toHaveProperty('size', 1);
    });
  });

  describe('alert listeners', () => {
    it('are told after each commit that created or grew alerts, and only then', async () => {
      const detector = new Detector(deps(), RULES, { batch: 7, batchesPerCommit: 1 });
      const told: { created: number; updated: number }[] = [];
      const stop = detector.onAlerts((committed) => told.push({ ...committed }));
      await append(denials(14, T0, 10_000));
      // Two commits of seven: the first stays under the threshold, the second raises the alert (and grows it).
      const raised = await detector.catchUp();
      expect(raised).toMatchObject({ events: 14, created: 1 });
      expect(told).toEqual([{ created: 1, updated: raised.updated }]);
      // A commit that raises nothing tells no one.
      await append([access({ time: T0 + 14 * 10_000, user: 'bob@example.com' })]);
      expect(await detector.catchUp()).toEqual({ events: 1, created: 0, updated: 0 });
      expect(told).toHaveLength(1);
      await append(denials(3, T0 + 15 * 10_000, 10_000));
      const grown = await detector.catchUp();
      expect(grown).toMatchObject({ created: 0, updated: 3 });
      expect(told).toEqual([
        { created: 1, updated: raised.updated },
        { created: 0, updated: 3 },
      ]);
      stop();
      await append(denials(14, T0 + DAY, 10_000, { user: 'carol@example.com' }));
      expect(await detector.catchUp()).toMatchObject({ created: 1 });
      expect(told).toHaveLength(2);
    });

    it('a listener that throws neither fails the run nor keeps the others from being told', async () => {
      const metrics = new Metrics();
      const detector = new Detector({ ...deps(), metrics }, RULES);
      let told = 0;
      detector.onAlerts(() => {
        throw new Error('listener broke');
      });
      detector.onAlerts(() => (told += 1));
      await append(denials(14, T0, 10_000));
      expect(await detector.catchUp()).toMatchObject({ created: 1 });
      expect(told).toBe(1);
      expect(metrics.value('detect_alert_listeners_failed_total')).toBe(1);
      expect(await alertsOf('zt-brute-force-user')).toHaveLength(1);
    });
  });

  describe('password spraying', () => {
    it('fires on denials for 12 users from one /24', async () => {
      const users = Array.from({ length: 12 }, (_, i) => `user${i}@example.com`);
      await append(users.map((user, i) => access({ time: T0 + i * MIN, user, srcIp: `203.0.113.${10 + i}` })));
      // Eleven users are not enough.
      await append(
        users.slice(1).map((user, i) => access({ time: T0 + DAY + i * MIN, user, srcIp: `198.51.100.${i}` })),
      );
      await new Detector(deps(), RULES).catchUp();
      const [alert, ...others] = await alertsOf('zt-password-spraying');
      expect(others).toEqual([]);
      expect(alert?.entity.ip).toBe('203.0.113.0/24');
      expect(alert?.summary).toMatch(
        /^Denied logins for 12 users \(user0@example.com, .*\) from 203.0.113.0\/24 \(RU\) in 11 minutes$/,
      );
      expect(await alertsOf('zt-brute-force-user')).toEqual([]);
    });

    it('does not fire for 12 users from 12 networks, nor for one user denied from one network many times', async () => {
      await append(
        Array.from({ length: 12 }, (_, i) =>
          access({ time: T0 + i * MIN, user: `user${i}@example.com`, srcIp: `198.51.${i}.1` }),
        ),
      );
      await append(denials(9, T0 + DAY, MIN));
      await new Detector(deps(), RULES).catchUp();
      expect(await alertsOf('zt-password-spraying')).toEqual([]);
    });
  });

  describe('denied, then allowed', () => {
    it('fires at medium when the success comes from a known address, high from a new one', async () => {
      await append([access({ time: T0 - DAY, outcome: 'success', srcIp: '192.0.2.1', country: 'us' })]);
      await append(denials(5, T0, MIN, { srcIp: '192.0.2.1', country: 'us' }));
      await append([access({ time: T0 + 6 * MIN, outcome: 'success', srcIp: '192.0.2.1', country: 'us' })]);
      await append([
        access({ time: T0 - DAY, outcome: 'success', user: 'bob@example.com', srcIp: '192.0.2.2', country: 'us' }),
      ]);
      await append(denials(5, T0, MIN, { user: 'bob@example.com' }));
      await append([access({ time: T0 + 7 * MIN, outcome: 'success', user: 'bob@example.com' })]);
      await new Detector(deps(), RULES).catchUp();
      const alerts = await alertsOf('zt-denied-then-allowed');
      const byUser = new Map(alerts.map((alert) => [alert.entity.user, alert]));
      expect(byUser.get('alice@example.com')?.severity).toBe('medium');
      expect(byUser.get('bob@example.com')?.severity).toBe('high');
      expect(byUser.get('bob@example.com')?.summary).toBe(
        'bob@example.com was denied 5 times on wiki.example.com, then allowed from a new address from 203.0.113.7 (RU) within 7 minutes',
      );
      expect(byUser.get('bob@example.com')?.count).toBe(6);
    });

    it('does not fire on 4 denials, on a success on another app, or on a success an hour later', async () => {
      await append(denials(4, T0, MIN));
      await append([access({ time: T0 + 5 * MIN, outcome: 'success' })]);
      await append(denials(5, T0 + DAY, MIN, { user: 'bob@example.com' }));
      await append([
        access({ time: T0 + DAY + 6 * MIN, outcome: 'success', user: 'bob@example.com', app: 'mail.example.com' }),
      ]);
      await append(denials(5, T0 + 2 * DAY, MIN, { user: 'carol@example.com' }));
      await append([access({ time: T0 + 2 * DAY + 65 * MIN, outcome: 'success', user: 'carol@example.com' })]);
      await new Detector(deps(), RULES).catchUp();
      expect(await alertsOf('zt-denied-then-allowed')).toEqual([]);
    });
  });

  describe('burst of denied logins across the organisation', () => {
    // The burst alerts of one catch-up over `events`, on a fresh store.
    const burstAlertsOf = async (
      events: readonly NormalizedEvent[],
      options: { batch: number; batchesPerCommit: number },
    ) => {
      await switchToFreshStore();
      await append(events);
      await new Detector(deps(), RULES, options).catchUp();
      return (await alertsOf('zt-denied-burst')).map((alert) => ({ count: alert.count, summary: alert.summary }));
    };

    // Two days of a quiet organisation: one denial an hour.
    const quiet = (): NormalizedEvent[] =>
      Array.from({ length: 48 }, (_, i) =>
        access({ time: T0 + i * 60 * MIN, user: `q${i}@example.com`, srcIp: `198.51.100.${i}` }),
      );

    it('fires on 40 denials in ten minutes after a day of learning', async () => {
      await append(quiet());
      await append(
        Array.from({ length: 40 }, (_, i) =>
          access({ time: T0 + 2 * DAY + i * 10_000, user: `b${i}@example.com`, srcIp: `192.0.2.${i}` }),
        ),
      );
      await new Detector(deps(), RULES).catchUp();
      const [alert, ...rest] = await alertsOf('zt-denied-burst');
      expect(rest).toEqual([]);
      expect(alert?.summary).toBe('40 denied logins in 10 minutes, against a usual 0.2 per 10 minutes');
      expect(alert?.severity).toBe('medium');
    });

    it('judges a bucket against a baseline that late denials raised, within one commit as across commits', async () => {
      const burstAt = T0 + 2 * DAY;
      const burst = (from: number, count: number) =>
        Array.from({ length: count }, (_, i) =>
          access({ time: burstAt + (from + i) * 10_000, user: `b${from + i}@example.com`, srcIp: '192.0.2.1' }),
        );
      // Late denials of the day before the burst, under the minimum in each of their buckets: the usual rate
      // becomes (48 + 2,600) / 288 buckets, about 9.2, and a burst must then reach 46.
      const late = Array.from({ length: 2_600 }, (_, i) =>
        access({ time: burstAt - DAY + Math.floor((i * DAY) / 2_600), user: `l${i % 40}@example.com` }),
      );
      const events = [...quiet(), ...burst(0, 35), ...late, ...burst(35, 5)];
      const run = (batchesPerCommit: number) => burstAlertsOf(events, { batch: 50, batchesPerCommit });
      const grouped = await run(1_000);
      // The burst's 30th to 35th denials fired against the quiet baseline; its last five no longer reach 46.
      expect(grouped).toEqual([
        { count: 35, summary: '35 denied logins in 10 minutes, against a usual 0.2 per 10 minutes' },
      ]);
      expect(await run(1)).toEqual(grouped);
    });

    it('judges a late denial against the baseline as pruned since, within one commit as across commits', async () => {
      // 200 denials in the first bucket, a burst exactly a week later, a denial in a newer bucket (which prunes
      // that first bucket from the counts), then late denials of the burst's bucket.
      const burstAt = T0 + 7 * DAY;
      const denied = (time: number, n: number) =>
        access({ time, user: `d${n}@example.com`, srcIp: `192.0.2.${n % 250}` });
      const events = [
        ...Array.from({ length: 200 }, (_, i) => denied(T0 + i * 1_000, i)),
        ...Array.from({ length: 35 }, (_, i) => denied(burstAt + i * 1_000, 200 + i)),
        denied(burstAt + 20 * MIN, 235),
        ...Array.from({ length: 5 }, (_, i) => denied(burstAt + (35 + i) * 1_000, 236 + i)),
      ];
      const run = (batchesPerCommit: number) => burstAlertsOf(events, { batch: 10, batchesPerCommit });
      const grouped = await run(1_000);
      // The last firings came after the first bucket was pruned: the usual rate they name no longer counts it.
      expect(grouped).toEqual([
        { count: 40, summary: '40 denied logins in 10 minutes, against a usual 0.0 per 10 minutes' },
      ]);
      expect(await run(1)).toEqual(grouped);
    });

    it('does not fire during the learning day, nor on a rate the organisation is used to', async () => {
      await append(
        Array.from({ length: 40 }, (_, i) =>
          access({ time: T0 + i * 10_000, user: `b${i}@example.com`, srcIp: `192.0.2.${i}` }),
        ),
      );
      // A busy organisation: 8 denials every ten minutes for two days, then 35 in ten minutes.
      const busy = { accountId: 'fedcba9876543210fedcba9876543210' };
      await append(
        Array.from({ length: 2 * 144 * 8 }, (_, i) =>
          access({
            time: T0 + 10 * DAY + i * 75_000,
            user: `q${i % 50}@example.com`,
            srcIp: `198.51.100.${i % 200}`,
            ...busy,
          }),
        ),
      );
      await append(
        Array.from({ length: 35 }, (_, i) =>
          access({ time: T0 + 12 * DAY + i * 10_000, user: `z${i}@example.com`, srcIp: `192.0.2.${i}`, ...busy }),
        ),
      );
      await new Detector(deps(), RULES).catchUp();
      expect(await alertsOf('zt-denied-burst')).toEqual([]);
    });
  });

  describe('login by a deprovisioned user', () => {
    const scim = (time: number, activity: string, user = 'alice@example.com'): NormalizedEvent =>
      access({
        time,
        dataset: 'scim_updates',
        classUid: 3007,
        activity,
        outcome: 'success',
        user,
        srcIp: null,
        country: null,
        app: null,
        appUid: null,
      });

    it('fires on a login after a SCIM disable, and not after re-enabling', async () => {
      await append([scim(T0, 'disable'), access({ time: T0 + MIN, outcome: 'success' })]);
      await append([scim(T0, 'delete', 'bob@example.com'), scim(T0 + MIN, 'enable', 'bob@example.com')]);
      await append([access({ time: T0 + 2 * MIN, outcome: 'success', user: 'bob@example.com' })]);
      await append([
        access({ time: T0 - MIN, outcome: 'success', user: 'carol@example.com' }),
        scim(T0, 'disable', 'carol@example.com'),
      ]);
      await new Detector(deps(), RULES).catchUp();
      const alerts = await alertsOf('zt-deprovisioned-login');
      expect(alerts.map((alert) => alert.entity.user)).toEqual(['alice@example.com']);
      expect(alerts[0]?.count).toBe(2);
      expect(alerts[0]?.summary).toMatch(
        /^alice@example.com signed in to wiki.example.com from 203.0.113.7 \(RU\) after being deprovisioned \(scim_updates disable at /,
      );
    });

    it('fires on logins evaluated before the SCIM disable that preceded them, as had the disable come first', async () => {
      const logins = [
        access({ time: T0 + MIN, outcome: 'success' }),
        access({ time: T0 + 2 * MIN, outcome: 'success' }),
        access({ time: T0 + MIN, outcome: 'success', user: 'bob@example.com' }),
        // After bob was enabled again: not a finding.
        access({ time: T0 + 5 * MIN, outcome: 'success', user: 'bob@example.com' }),
      ];
      const scimEvents = [
        scim(T0, 'disable'),
        scim(T0, 'delete', 'bob@example.com'),
        scim(T0 + 3 * MIN, 'enable', 'bob@example.com'),
      ];
      const findings = async () =>
        await Promise.all(
          (await alertsOf('zt-deprovisioned-login')).map(async (alert) => ({
            user: alert.entity.user,
            summary: alert.summary,
            evidence: (await store.alertEvidence(alert.id)).map((ref) => ref.eventId).sort(),
          })),
        );

      // SCIM logs collected late: the logins are evaluated first, the disable and delete in a later pass.
      await append(logins);
      await new Detector(deps(), RULES).catchUp();
      expect(await alertsOf('zt-deprovisioned-login')).toEqual([]);
      await append(scimEvents.slice(1));
      await new Detector(deps(), RULES).catchUp();
      await append(scimEvents.slice(0, 1));
      await new Detector(deps(), RULES).catchUp();
      const late = await findings();
      expect(late.map((finding) => [finding.user, finding.evidence.length])).toEqual([
        ['alice@example.com', 3],
        ['bob@example.com', 2],
      ]);

      await switchToFreshStore();
      await append([...scimEvents, ...logins]);
      await new Detector(deps(), RULES).catchUp();
      expect(await findings()).toEqual(late);
    });

    it('fires on a login after the inventory showed the user without a seat', async () => {
      await store.saveInventorySnapshot(
        {
          sourceName: 'cf',
          dataset: 'access_users',
          takenAt: T0,
          entities: [
            { kind: 'user', id: 'u1', name: 'Dana', attributes: { email: 'dana@example.com', access_seat: false } },
            { kind: 'user', id: 'u2', name: 'Eve', attributes: { email: 'eve@example.com', access_seat: true } },
          ],
        },
        [],
      );
      await append([
        access({ time: T0 - MIN, outcome: 'success', user: 'dana@example.com' }),
        access({ time: T0 + MIN, outcome: 'success', user: 'dana@example.com' }),
        access({ time: T0 + MIN, outcome: 'success', user: 'eve@example.com' }),
      ]);
      await new Detector(deps(), RULES).catchUp();
      const alerts = await alertsOf('zt-deprovisioned-login');
      expect(alerts.map((alert) => [alert.entity.user, alert.count])).toEqual([['dana@example.com', 1]]);
    });
  });

  describe('login by a user whose Access seat was removed, with a snapshot every two hours', () => {
    const HOUR = 60 * MIN;
    const user = (seat: boolean) =>
      ({
        kind: 'user',
        id: 'u1',
        name: 'Dana',
        attributes: { email: 'Dana@example.com', access_seat: seat },
      }) as const;
    const snapshot = async (takenAt: number, previous: { seat: boolean; takenAt: number }, seat: boolean) => {
      const meta = {
        sourceName: 'cf',
        accountId: '0123456789abcdef0123456789abcdef',
        dataset: 'access_users',
        takenAt,
        previousTakenAt: previous.takenAt,
      };
      await store.saveInventorySnapshot(
        { sourceName: 'cf', dataset: 'access_users', takenAt, entities: [user(seat)] },
        diffInventory([user(previous.seat)], [user(seat)], meta),
      );
    };
    const login = (time: number) => access({ time, outcome: 'success', user: 'dana@example.com' });

    it('counts the logins after the snapshot that first showed no seat, though later snapshots were taken', async () => {
      await store.saveInventorySnapshot(
        { sourceName: 'cf', dataset: 'access_users', takenAt: T0, entities: [user(true)] },
        [],
      );
      // Each run takes a snapshot, then collects the logins up to then.
      await snapshot(T0 + 2 * HOUR, { seat: true, takenAt: T0 }, false);
      await append([login(T0 + HOUR), login(T0 + 2 * HOUR - MIN)]);
      await new Detector(deps(), RULES).catchUp();
      await snapshot(T0 + 4 * HOUR, { seat: false, takenAt: T0 + 2 * HOUR }, false);
      await append([login(T0 + 3 * HOUR)]);
      await new Detector(deps(), RULES).catchUp();
      await snapshot(T0 + 6 * HOUR, { seat: false, takenAt: T0 + 4 * HOUR }, false);
      await append([login(T0 + 5 * HOUR), login(T0 + 5 * HOUR + MIN)]);
      await new Detector(deps(), RULES).catchUp();
      const alerts = await alertsOf('zt-deprovisioned-login');
      expect(alerts.map((alert) => [alert.entity.user, alert.count])).toEqual([['dana@example.com', 3]]);
      expect(alerts[0]?.summary).toContain('after being deprovisioned (the inventory shows no Access seat)');
    });

    it('counts none once the seat is back', async () => {
      await store.saveInventorySnapshot(
        { sourceName: 'cf', dataset: 'access_users', takenAt: T0, entities: [user(false)] },
        [],
      );
      await snapshot(T0 + 2 * HOUR, { seat: false, takenAt: T0 }, true);
      await append([login(T0 + 3 * HOUR)]);
      await new Detector(deps(), RULES).catchUp();
      expect(await alertsOf('zt-deprovisioned-login')).toEqual([]);
    });
  });

  describe('configuration tampering', () => {
    const change = (time: number, dataset: string, activity: string, ocsf: Record<string, unknown>): NormalizedEvent =>
      access({
        time,
        dataset,
        classUid: 3004,
        activity,
        outcome: 'success',
        user: null,
        srcIp: null,
        country: null,
        app: null,
        appUid: null,
        ocsf,
      });

    it('fires on an identity provider added, a group widened and a Gateway rule disabled, not on a rename', async () => {
      await append([
        change(T0, 'identity_providers', 'create', {
          message: 'Identity provider "Google Workspace" created',
          entity: { type: 'Identity provider' },
        }),
        change(T0 + MIN, 'groups', 'update', {
          message: 'Access group "Contractors" changed',
          entity: { data: { include: [] } },
          updated_entity: { data: { include: [{ everyone: {} }] } },
        }),
        change(T0 + 2 * MIN, 'gateway', 'update', {
          message: 'Gateway rule "Block malware" disabled',
          entity: { type: 'Policy', policy: { type: 'Gateway rule' }, data: { enabled: true } },
          updated_entity: { type: 'Policy', policy: { type: 'Gateway rule' }, data: { enabled: false } },
        }),
        change(T0 + 3 * MIN, 'gateway', 'update', {
          message: 'Gateway rule "Block malware" changed',
          entity: { type: 'Policy', policy: { type: 'Gateway rule' }, data: { name: 'a' } },
          updated_entity: { type: 'Policy', policy: { type: 'Gateway rule' }, data: { name: 'b' } },
        }),
        change(T0 + 4 * MIN, 'apps', 'create', { message: 'Access application "Wiki" created' }),
      ]);
      await append([
        access({
          time: T0 + 5 * MIN,
          dataset: 'audit_logs',
          classUid: 6003,
          activity: 'create',
          outcome: 'success',
          user: 'admin@example.com',
          ocsf: { message: 'Created API token', resources: [{ uid: 't1', type: 'api_token' }] },
        }),
      ]);
      await new Detector(deps(), RULES).catchUp();
      const alerts = await alertsOf('zt-config-tampering');
      expect(alerts.map((alert) => alert.summary).sort()).toEqual([
        'Access group "Contractors" changed (groups)',
        'Created API token (audit_logs)',
        'Gateway rule "Block malware" disabled (gateway)',
        'Identity provider "Google Workspace" created (identity_providers)',
      ]);
      expect(alerts.every((alert) => alert.technique === 'T1556')).toBe(true);
    });

    it('fires on a Gateway rule disabled or deleted as the inventory differ reports it, not on an Access policy', async () => {
      const rule = { kind: 'gateway_rule', id: 'r1', name: 'Block malware', attributes: { enabled: true } } as const;
      const policy = { kind: 'policy', id: 'p1', name: 'Staff', attributes: { enabled: true } } as const;
      const meta = (dataset: string, takenAt: number) => ({
        sourceName: 'cf',
        accountId: 'acc',
        dataset,
        takenAt,
        previousTakenAt: takenAt - MIN,
      });
      const off = <T extends { attributes: object }>(entity: T): T => ({ ...entity, attributes: { enabled: false } });
      await append([
        ...diffInventory([rule], [off(rule)], meta('gateway', T0)),
        ...diffInventory([rule], [], meta('gateway', T0 + MIN)),
        ...diffInventory([policy], [off(policy)], meta('policies', T0 + 2 * MIN)),
      ]);
      await new Detector(deps(), RULES).catchUp();
      const alerts = await alertsOf('zt-config-tampering');
      expect(alerts.map((alert) => alert.summary).sort()).toEqual([
        'Gateway rule "Block malware" deleted (gateway)',
        'Gateway rule "Block malware" disabled: enabled true → false (gateway)',
      ]);
    });
  });
  describe('first seen: new country, first sensitive application, unusual identity provider', () => {
    const login = (time: number, overrides: Partial<NormalizedEvent> = {}): NormalizedEvent =>
      access({ time, outcome: 'success', country: 'us', srcIp: '192.0.2.5', ...overrides });
    // Three weeks of one login a day from the US through Okta to the wiki.
    const history = (user = 'alice@example.com'): NormalizedEvent[] =>
      Array.from({ length: 21 }, (_, day) => login(T0 + day * DAY, { user }));

    it('fires on a new country after the learning period, not during it, and not for a known country', async () => {
      await append(history());
      await append([login(T0 + 22 * DAY, { country: 'br', srcIp: '198.51.100.77' })]);
      await append([login(T0 + 22 * DAY + MIN, { country: 'us' })]);
      await append([
        login(T0 + 2 * DAY, { user: 'bob@example.com' }),
        login(T0 + 3 * DAY, { user: 'bob@example.com', country: 'fr' }),
      ]);
      await new Detector(deps(), RULES).catchUp();
      const alerts = await alertsOf('zt-new-country');
      expect(alerts.map((alert) => alert.summary)).toEqual([
        'alice@example.com signed in from BR for the first time (seen before: US), from 198.51.100.77 to wiki.example.com',
      ]);
    });

    it('fires on the first visit to an application marked sensitive, not on other new applications', async () => {
      const base = {
        enabled: null,
        allow: { users: [], ips: [], apps: [], countries: [] },
        updatedAt: T0,
        updatedBy: 'admin',
      };
      await store.saveRuleSetting({
        ...base,
        ruleId: 'zt-first-sensitive-app',
        overrides: { values: ['payroll.example.com'] },
      });
      await append(history());
      await append([
        login(T0 + 22 * DAY, { app: 'payroll.example.com' }),
        login(T0 + 22 * DAY, { app: 'mail.example.com' }),
      ]);
      await new Detector(deps(), RULES).catchUp();
      expect((await alertsOf('zt-first-sensitive-app')).map((alert) => alert.entity.app)).toEqual([
        'payroll.example.com',
      ]);
    });

    it('fires on a device enrolled from an address the user never signed in from, not from a known one', async () => {
      const enrolled = (time: number, email: string, ip: string): NormalizedEvent =>
        access({
          time,
          dataset: 'devices',
          classUid: 3004,
          activity: 'create',
          outcome: 'success',
          user: null,
          srcIp: null,
          country: null,
          app: null,
          appUid: null,
          idp: null,
          ocsf: { message: 'Device created', entity: { data: { last_seen_user: { email }, public_ip: ip } } },
        });
      await append(history());
      await append([
        enrolled(T0 + 22 * DAY, 'Alice@example.com', '192.0.2.5'),
        enrolled(T0 + 22 * DAY + MIN, 'alice@example.com', '198.51.100.200'),
        enrolled(T0 + 3 * DAY, 'bob@example.com', '198.51.100.201'),
      ]);
      await new Detector(deps(), RULES).catchUp();
      const alerts = await alertsOf('zt-warp-new-origin');
      expect(alerts.map((alert) => [alert.entity.user, alert.summary])).toEqual([
        [
          'alice@example.com',
          'A device was enrolled for alice@example.com from 198.51.100.200, an address the user had not used (known: 192.0.2.5)',
        ],
      ]);
    });

    it('fires on a new identity provider, at high when the organisation never used it', async () => {
      // The rule learns from 50 logins of a user as well as 14 days: three a day for three weeks.
      const busy = (user = 'alice@example.com'): NormalizedEvent[] =>
        [0, 1, 2].flatMap((hour) =>
          history(user).map((event) => ({ ...event, id: `${event.id}-${hour}`, time: event.time + hour * 3_600_000 })),
        );
      await append(busy());
      await append(busy('bob@example.com').map((event) => ({ ...event, idp: 'onetimepin' })));
      await append([login(T0 + 22 * DAY, { idp: 'onetimepin' })]);
      await append([login(T0 + 22 * DAY, { user: 'bob@example.com', idp: 'github' })]);
      await new Detector(deps(), RULES).catchUp();
      const bySeverity = (await alertsOf('zt-unusual-idp')).map((alert) => [alert.entity.user, alert.severity]);
      expect(bySeverity.sort()).toEqual([
        ['alice@example.com', 'medium'],
        ['bob@example.com', 'high'],
      ]);
    });
  });
});
