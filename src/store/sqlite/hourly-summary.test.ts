import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../core/event.js';
import { SqliteStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-summary-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const START = Date.UTC(2024, 5, 1, 22, 40);

function login(index: number): NormalizedEvent {
  const time = START + index * 431_000;
  return {
    id: `${time.toString(16).padStart(12, '0')}-m-${index}`,
    time,
    sourceName: 'cf',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: index % 5 === 0 ? 'failure' : 'success',
    user: `user${index % 4}@example.com`,
    srcIp: '192.0.2.1',
    country: index % 3 === 0 ? 'DE' : 'US',
    app: `app${index % 2}`,
    appUid: null,
    idp: 'okta',
    rayId: null,
    ocsf: {},
    raw: {},
  };
}

describe('migration 0008 (hourly summary)', () => {
  it('summarises the events stored before it, in both tiers, as appends would have', async () => {
    const path = join(dir, 'before.db');
    const store = await SqliteStore.open({ path, mergeThreshold: 100 });
    await store.migrate();
    const events = Array.from({ length: 250 }, (_, index) => login(index));
    for (let at = 0; at < events.length; at += 60) {
      await store.append(events.slice(at, at + 60), { id: 'cf/access_requests', value: { at } });
    }
    const spec = { fromMs: START - 3_600_000, toMs: START + 2 * 86_400_000, limit: 10 };
    const kept = await store.dashboard(spec);

    // Back to the schema before 0008: the summary gone, as in a database written by an older zerotrail. The
    // first store stays open until the end, so the events it has not merged yet stay in the recent tier.
    const db = new Database(path);
    db.exec(`DROP TABLE summary_hours; DROP TABLE summary_days; DROP TABLE summary_first_seen;
      DELETE FROM schema_migrations WHERE version = 8;`);
    expect((db.prepare('SELECT count(*) AS n FROM events_recent').get() as { n: number }).n).toBeGreaterThan(0);
    expect((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBeGreaterThan(0);
    db.close();

    const reopened = await SqliteStore.open({ path });
    await reopened.migrate();
    const rebuilt = await reopened.dashboard(spec);
    expect(rebuilt).toEqual(kept);
    expect(rebuilt.totals.total).toBe(250);
    expect(rebuilt.newUsers.count).toBe(4);
    await reopened.close();
    await store.close();
  });
});
