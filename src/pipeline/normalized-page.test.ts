import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../core/event.js';
import { normalizeAccessRequest } from '../normalize/cloudflare/access-requests.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { NormalizedPage } from './normalized-page.js';

const META = { sourceName: 'cf-main', accountId: '0123456789abcdef0123456789abcdef', dataset: 'access_requests' };

function record(n: number): Record<string, unknown> {
  return {
    action: 'login',
    allowed: n % 2 === 0,
    app_domain: 'wiki.example.com',
    connection: 'okta',
    created_at: new Date(Date.UTC(2026, 10, 1, 12, 0, n)).toISOString(),
    ip_address: '192.0.2.10',
    ray_id: `ray${String(n).padStart(13, '0')}`,
    user_email: `user${n}@example.com`,
  };
}

describe('a normalized page', () => {
  const records = [record(2), { created_at: 'yesterday' }, record(0), {}, record(1), { created_at: 7 }, {}];

  it('normalizes each record only when its event is taken', () => {
    let normalized = 0;
    const page = new NormalizedPage(
      records,
      (raw, meta) => {
        normalized += 1;
        return normalizeAccessRequest(raw, meta);
      },
      META,
    );
    const iterator = page[Symbol.iterator]();
    const next = (): NormalizedEvent | undefined => {
      const result = iterator.next();
      return result.done === true ? undefined : result.value;
    };
    expect(normalized).toBe(0);
    expect(next()?.rayId).toBe('ray0000000000002');
    expect(normalized).toBe(1);
    // The next event comes after a rejected record.
    expect(next()?.rayId).toBe('ray0000000000000');
    expect(normalized).toBe(3);
  });

  it('yields the same events each time it is iterated, and counts what the last iteration rejected', () => {
    const enriched: NormalizedEvent[] = [];
    const page = new NormalizedPage(records, normalizeAccessRequest, META, (event) => {
      const copy = { ...event, app: 'enriched' };
      enriched.push(copy);
      return copy;
    });
    const first = [...page];
    const second = [...page];
    expect(first.map((event) => event.rayId)).toEqual(['ray0000000000002', 'ray0000000000000', 'ray0000000000001']);
    expect(second).toEqual(first);
    expect(first.every((event) => event.app === 'enriched')).toBe(true);
    expect(enriched).toHaveLength(6);
    expect(page.rejected).toBe(4);
    expect(Object.fromEntries(page.rejections)).toEqual({
      'created_at is not an RFC 3339 date-time': 1,
      'created_at is missing': 2,
      'created_at is not a string': 1,
    });
    expect(page.newestEventMs).toBe(Date.UTC(2026, 10, 1, 12, 0, 2));
    expect(page.oldestEventMs).toBe(Date.UTC(2026, 10, 1, 12, 0, 0));
  });

  it('has no times and nothing rejected when it holds no records', () => {
    const page = new NormalizedPage([], normalizeAccessRequest, META);
    expect([...page]).toEqual([]);
    expect(page.rejected).toBe(0);
    expect(page.newestEventMs).toBeNull();
    expect(page.oldestEventMs).toBeNull();
  });
});

describe('a normalized page of a record nested deeper than anything can write', () => {
  it('keeps that record as its exact JSON text, and the event is stored and read back like any other', async () => {
    let deep: unknown = 'core';
    for (let n = 0; n < 20_000; n++) deep = { a: deep };
    const hostile = { ...record(3), extra: deep };
    const page = new NormalizedPage([record(1), hostile, record(2)], normalizeAccessRequest, META);
    const events = [...page];
    expect(events.map((event) => event.rayId)).toEqual(['ray0000000000001', 'ray0000000000003', 'ray0000000000002']);
    expect(events[0]?.raw).toEqual(record(1));
    const kept = events[1]?.raw;
    expect(typeof kept).toBe('string');
    expect(JSON.parse(kept as string)).toMatchObject(record(3));
    expect(JSON.stringify(events[1]?.ocsf)).toContain('see raw');

    const dir = mkdtempSync(join(tmpdir(), 'zerotrail-deep-'));
    const store = await SqliteStore.open({ path: join(dir, 'zerotrail.db') });
    try {
      await store.migrate();
      const result = await store.append(page, { id: 'cf-main/access_requests', value: {} });
      expect(result.inserted).toBe(3);
      const found = await store.search({ filter: null, order: 'asc' }, { limit: 10 });
      expect(found.events.map((event) => event.rayId).sort()).toEqual([
        'ray0000000000001',
        'ray0000000000002',
        'ray0000000000003',
      ]);
      expect(found.events.find((event) => event.rayId === 'ray0000000000003')?.raw).toBe(kept);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
