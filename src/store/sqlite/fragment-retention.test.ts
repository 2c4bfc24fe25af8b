import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { NormalizedEvent, SharedText } from '../../core/event.js';
import { deniedAccess } from '../../../test/helpers/events.js';
import { SqliteStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-fragments-'));
let counter = 0;
const freshPath = (): string => join(dir, `store-${counter++}.db`);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

const deepFreeze = <T>(value: T): T => {
  if (value !== null && typeof value === 'object') {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
};
// Enrichments as the normalizer makes them: one frozen object per entity and snapshot, shared by its events.
const enrichment = (name: string, takenAt: string): object =>
  deepFreeze({ name: 'user.email_addr', value: name, data: { snapshot: { dataset: 'users', taken_at: takenAt } } });
const HEAD: SharedText = { text: '{"class_uid":3002,"activity_id":1,' };

let eventNumber = 0;
function login(timeMs: number, enrichments: readonly object[]): NormalizedEvent {
  const n = (eventNumber += 1);
  return deniedAccess(
    {
      id: `${String(timeMs).padStart(15, '0')}-${String(n).padStart(6, '0')}`,
      time: timeMs,
      outcome: 'success',
      ocsf: { class_uid: 3002, activity_id: 1, n, enrichments },
      ocsfHead: HEAD,
      raw: { n },
    },
    n,
  );
}

async function openStore(path: string, mergeThreshold?: number): Promise<SqliteStore> {
  const store = await SqliteStore.open({
    path,
    deleteChunkSize: 3,
    ...(mergeThreshold === undefined ? {} : { mergeThreshold }),
  });
  await store.migrate();
  return store;
}

async function storedBodies(store: SqliteStore): Promise<string[]> {
  const page = await store.search({ filter: null, order: 'asc' }, { limit: 1000 });
  return page.events.map((event) => JSON.stringify(event.ocsf));
}

function fragmentsOf(path: string): { texts: string[]; dangling: unknown[] } {
  const db = new Database(path, { readonly: true });
  try {
    return {
      texts: db.prepare('SELECT text FROM event_fragments ORDER BY text').pluck().all() as string[],
      dangling: db.pragma('foreign_key_check') as unknown[],
    };
  } finally {
    db.close();
  }
}

describe('SqliteStore retention of shared heads and enrichments', () => {
  const monday = enrichment('ann@example.com', '2025-01-01T00:00:00.000Z');
  const friday = enrichment('ann@example.com', '2025-01-05T00:00:00.000Z');

  it('deletes the texts only deleted events used, keeps the rest, and stores a deleted text again when it comes back', async () => {
    for (const mergeThreshold of [undefined, 2]) {
      const path = freshPath();
      const store = await openStore(path, mergeThreshold);
      const written = [
        login(T0, [monday]),
        login(T0 + 2 * DAY, [monday]),
        login(T0 + 4 * DAY, [friday]),
        login(T0 + 6 * DAY, [friday]),
      ];
      await store.append(written, { id: 'c', value: {} });
      expect(fragmentsOf(path).texts).toHaveLength(3);

      // Monday's text was last used on day 2, kept a day past it, and goes at a cut on day 4 with its events.
      expect(await store.deleteEventsBefore(T0 + 4 * DAY)).toBe(2);
      expect(fragmentsOf(path)).toEqual({
        texts: [HEAD.text, JSON.stringify([friday])].sort(),
        dangling: [],
      });
      expect(await storedBodies(store)).toEqual(written.slice(2).map((event) => JSON.stringify(event.ocsf)));

      // The same object again: this connection remembered an id that no longer exists.
      const late = login(T0 + 7 * DAY, [monday]);
      await store.append([late], { id: 'c', value: {} });
      expect(await storedBodies(store)).toEqual([...written.slice(2), late].map((event) => JSON.stringify(event.ocsf)));
      expect(fragmentsOf(path).texts).toHaveLength(3);

      // A cut within a day of a text's last use keeps it (Friday's, last used on day 6); past every event,
      // nothing is left.
      expect(await store.deleteEventsBefore(T0 + 7 * DAY)).toBe(2);
      expect(fragmentsOf(path).texts).toEqual([HEAD.text, JSON.stringify([monday]), JSON.stringify([friday])].sort());
      expect(await store.deleteEventsBefore(T0 + 9 * DAY)).toBe(1);
      expect(fragmentsOf(path)).toEqual({ texts: [], dangling: [] });
      await store.close();
    }
  });

  it('keeps a text whose last event moved later than the writer that stored it knew', async () => {
    const path = freshPath();
    const first = await openStore(path);
    const second = await openStore(path);
    await first.append([login(T0, [monday])], { id: 'a', value: {} });
    // The other connection finds the stored text and raises its bound; the first never hears of it.
    const later = login(T0 + 5 * DAY, [monday]);
    await second.append([later], { id: 'b', value: {} });
    expect(await first.deleteEventsBefore(T0 + 3 * DAY)).toBe(1);
    expect(fragmentsOf(path)).toEqual({ texts: [HEAD.text, JSON.stringify([monday])].sort(), dangling: [] });
    expect(await storedBodies(first)).toEqual([JSON.stringify(later.ocsf)]);
    await first.close();
    await second.close();
  });

  it('never lets a writer use an id that retention on another connection freed and gave to another text', async () => {
    const path = freshPath();
    const writer = await openStore(path);
    const other = await openStore(path);
    await writer.append([login(T0, [monday])], { id: 'a', value: {} });
    expect(await other.deleteEventsBefore(T0 + 3 * DAY)).toBe(1);
    // Freed ids are handed out again: Friday's text may now hold the id the writer remembers for Monday's.
    await other.append([login(T0 + 4 * DAY, [friday])], { id: 'b', value: {} });
    const mine = login(T0 + 4 * DAY, [monday]);
    await writer.append([mine], { id: 'a', value: {} });
    const bodies = await storedBodies(writer);
    expect(bodies).toContain(JSON.stringify(mine.ocsf));
    expect(bodies.filter((body) => body.includes('2025-01-01'))).toEqual([JSON.stringify(mine.ocsf)]);
    expect(fragmentsOf(path).dangling).toEqual([]);
    await writer.close();
    await other.close();
  });

  it('keeps, in a database from before fragments had bounds, every text a kept event uses', async () => {
    const path = freshPath();
    const store = await openStore(path);
    const written = [login(T0, [monday]), login(T0 + 4 * DAY, [friday]), login(T0 + 30 * DAY, [friday])];
    await store.append(written, { id: 'c', value: {} });
    await store.close();
    // Back to schema 14, as the previous release wrote it.
    const db = new Database(path);
    db.exec(`DROP INDEX event_fragments_referenced_until; ALTER TABLE event_fragments DROP COLUMN referenced_until; DROP TABLE fragment_sweeps;
      DELETE FROM schema_migrations WHERE version = 15`);
    db.close();
    const upgraded = await openStore(path);
    // Every old text is bounded by the newest event (day 30), so none goes before that.
    expect(await upgraded.deleteEventsBefore(T0 + 10 * DAY)).toBe(2);
    expect(fragmentsOf(path).texts).toHaveLength(3);
    expect(await storedBodies(upgraded)).toEqual([JSON.stringify(written[2]?.ocsf)]);
    expect(await upgraded.deleteEventsBefore(T0 + 40 * DAY)).toBe(1);
    expect(fragmentsOf(path)).toEqual({ texts: [], dangling: [] });
    await upgraded.close();
  });
});
