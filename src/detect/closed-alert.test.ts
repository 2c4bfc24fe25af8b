import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import type { NormalizedEvent } from '../core/event.js';
import { silentLogger } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { SqliteNotifyQueue } from '../store/sqlite/notify-queue.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { loadBuiltinRules } from './builtin-rules.js';
import { Detector } from './detector.js';
import { deniedAccess } from '../../test/helpers/events.js';

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-closed-alert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);
const SEC = 1_000;

describe('a closed alert and the attack that goes on', () => {
  let store: SqliteStore;
  let path: string;
  let serial = 0;
  let files = 0;
  const clock = new ManualClock(T0 + 3_600 * SEC);
  const detector = () =>
    new Detector({ store, clock, logger: silentLogger(), metrics: new Metrics() }, loadBuiltinRules());
  const deny = async (from: number, count: number) => {
    const events: NormalizedEvent[] = Array.from({ length: count }, (_, i) => {
      serial += 1;
      return deniedAccess({ time: from + i * 10 * SEC }, serial);
    });
    await store.append(events, { id: 'cf/access_requests', value: { serial } });
  };
  const bruteForce = () => store.listAlerts({ ruleId: 'zt-brute-force-user', limit: 10 });

  beforeEach(async () => {
    serial = 0;
    path = join(dir, `store-${files++}.db`);
    store = await SqliteStore.open({ path, clock });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
  });

  it('raises a new brute-force alert, with its notice, for denials after the first alert was closed', async () => {
    await deny(T0, 10);
    await detector().catchUp();
    const [first, ...others] = await bruteForce();
    expect(others).toEqual([]);
    expect(first?.count).toBe(10);
    const firstId = first?.id ?? '';
    await store.changeAlert(firstId, { status: 'closed', closeReason: 'true_positive' }, 'carol');

    // The 11th denial within ten minutes: the rule's finding still starts at the first denial.
    await deny(T0 + 100 * SEC, 1);
    expect(await detector().catchUp()).toMatchObject({ created: 1 });
    await deny(T0 + 110 * SEC, 1);
    await detector().catchUp();

    expect(await store.getAlert(firstId)).toMatchObject({ status: 'closed', count: 10 });
    expect((await store.alertHistory(firstId)).map((entry) => entry.action)).toEqual(['created', 'closed']);
    const open = await store.listAlerts({ ruleId: 'zt-brute-force-user', status: 'open', limit: 10 });
    expect(open.map((alert) => [alert.count, alert.firstEventTime, alert.lastEventTime])).toEqual([
      [12, T0, T0 + 110 * SEC],
    ]);
    const queue = await SqliteNotifyQueue.open({ path });
    try {
      const notices = await queue.noticesAfter(0, 100);
      expect(notices.map((notice) => [notice.alertId, notice.reason])).toEqual([
        [firstId, 'created'],
        [open[0]?.id, 'created'],
      ]);
    } finally {
      await queue.close();
    }
  });

  it('names the new alert alike when the same events are evaluated again from scratch', async () => {
    const run = async () => {
      await deny(T0, 10);
      await detector().catchUp();
      const [first] = await bruteForce();
      await store.changeAlert(first?.id ?? '', { status: 'closed', closeReason: 'benign' }, 'carol');
      await deny(T0 + 100 * SEC, 1);
      await detector().catchUp();
      return (await bruteForce()).map((alert) => [alert.id, alert.status, alert.count]);
    };
    const once = await run();
    await store.close();
    path = join(dir, `store-${files++}.db`);
    store = await SqliteStore.open({ path, clock });
    await store.migrate();
    serial = 0;
    expect(await run()).toEqual(once);
    expect(once).toHaveLength(2);
  });
});
