import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isRejected } from '../../core/event.js';
import type { NormalizedEvent, Rejected } from '../../core/event.js';
import { FLAT_FIELD_MAX_BYTES } from '../schema.js';
import { incompressibleCjk } from '../../../test/helpers/wide-text.js';
import type { NormalizeMeta } from '../schema.js';
import { normalizeAccessRequest } from './access-requests.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const META: NormalizeMeta = {
  sourceName: 'cf-main',
  accountId: '0123456789abcdef0123456789abcdef',
  dataset: 'access_requests',
};

const BASE = {
  action: 'login',
  allowed: true,
  app_domain: 'wiki.example.com',
  app_uid: '6f0a5b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b',
  connection: 'saml',
  created_at: '2026-11-20T09:15:02Z',
  ip_address: '192.0.2.10',
  ray_id: '8e1f2a3b4c5d6e7f',
  user_email: 'alice@example.com',
};

function mustNormalize(raw: unknown, meta: NormalizeMeta = META): NormalizedEvent {
  const result = normalizeAccessRequest(raw, meta);
  if (isRejected(result)) throw new Error(`unexpected rejection: ${result.reason}`);
  return result;
}

function mustReject(raw: unknown): Rejected {
  const result = normalizeAccessRequest(raw, META);
  if (!isRejected(result)) throw new Error('expected a rejection');
  return result;
}

const inputs = readdirSync(FIXTURES).filter((name) => name.endsWith('.input.json'));

describe('normalizeAccessRequest golden files', () => {
  it('has fixtures', () => {
    expect(inputs.length).toBeGreaterThanOrEqual(10);
  });

  for (const input of inputs) {
    const name = input.replace(/\.input\.json$/, '');
    it(`maps ${name} as reviewed`, () => {
      const expectedPath = join(FIXTURES, `${name}.expected.json`);
      expect(existsSync(expectedPath), `missing ${name}.expected.json`).toBe(true);
      const raw: unknown = JSON.parse(readFileSync(join(FIXTURES, input), 'utf8'));
      const result = normalizeAccessRequest(raw, META);
      // The head is the beginning of the OCSF text, checked below; the files show the event without it.
      const shown = isRejected(result) ? result : { ...result, ocsfHead: undefined };
      const actual = JSON.stringify(shown, null, 2);
      // Compared as re-serialised text so that key order counts and file formatting does not.
      const expected: unknown = JSON.parse(readFileSync(expectedPath, 'utf8'));
      expect(actual).toBe(JSON.stringify(expected, null, 2));
      if (!isRejected(result)) {
        const head = result.ocsfHead?.text ?? '';
        expect(head).toMatch(/"labels":\[[^\]]*\],$/);
        expect(JSON.stringify(result.ocsf).startsWith(head)).toBe(true);
      }
    });
  }
});

describe('normalizeAccessRequest head', () => {
  it('gives every event of one kind the very same head, and other kinds their own', () => {
    const first = mustNormalize(BASE);
    const later = mustNormalize({ ...BASE, created_at: '2026-11-21T10:00:00.5Z', ray_id: 'a1', user_email: 'b@c.d' });
    expect(later.ocsfHead).toBe(first.ocsfHead);
    const denied = mustNormalize({ ...BASE, allowed: false });
    const logout = mustNormalize({ ...BASE, action: 'logout' });
    const otherSource = mustNormalize(BASE, { ...META, sourceName: 'cf-other' });
    const heads = [first, denied, logout, otherSource].map((event) => event.ocsfHead?.text);
    expect(new Set(heads).size).toBe(4);
    for (const event of [first, later, denied, logout, otherSource]) {
      expect(JSON.stringify(event.ocsf).startsWith(event.ocsfHead?.text ?? '-')).toBe(true);
    }
    expect(otherSource.ocsfHead?.text).toContain('"labels":["source:cf-other"],');
    expect(denied.ocsfHead?.text).toContain('"message":"Cloudflare Access logon denied"');
  });

  it('keeps a hostile action in the head as the event has it', () => {
    const hostile = mustNormalize({ ...BASE, action: '</script>"\u0000\ud800' });
    expect(JSON.stringify(hostile.ocsf).startsWith(hostile.ocsfHead?.text ?? '-')).toBe(true);
    expect(hostile.ocsfHead?.text).toContain('"activity_name":"</script>\\"\\u0000\uFFFD"');
  });
});

describe('normalizeAccessRequest identity', () => {
  it('gives the same id to the same record whatever the created_at spelling', () => {
    const a = mustNormalize({ ...BASE, created_at: '2026-11-20T09:15:02Z' });
    const b = mustNormalize({ ...BASE, created_at: '2026-11-20T10:15:02.000000+01:00' });
    const c = mustNormalize({ ...BASE, created_at: '2026-11-20t09:15:02.0z' });
    expect(a.time).toBe(Date.UTC(2026, 10, 20, 9, 15, 2));
    expect(b.time).toBe(a.time);
    expect(c.time).toBe(a.time);
    expect(b.id).toBe(a.id);
    expect(c.id).toBe(a.id);
    expect(a.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('starts the id with the event time so ids sort by time', () => {
    const early = mustNormalize({ ...BASE, created_at: '2026-11-20T09:15:02.001Z', ray_id: 'ffffffffffffffff' });
    const late = mustNormalize({ ...BASE, created_at: '2026-11-20T09:15:02.002Z', ray_id: '0000000000000000' });
    expect(early.id.slice(0, 12)).toBe(early.time.toString(16).padStart(12, '0'));
    expect(early.id < late.id).toBe(true);
  });

  it('gives the same id when called twice and ignores key order', () => {
    const reordered = Object.fromEntries(Object.entries(BASE).reverse());
    expect(mustNormalize(reordered).id).toBe(mustNormalize(BASE).id);
  });

  it('gives a different id when any identifying field differs', () => {
    const variants: unknown[] = [
      BASE,
      { ...BASE, ray_id: '8e1f2a3b4c5d6e70' },
      { ...BASE, created_at: '2026-11-20T09:15:02.001Z' },
      { ...BASE, action: 'logout' },
      { ...BASE, user_email: 'bob@example.com' },
      { ...BASE, app_uid: '1b2c3d4e-5f60-4718-9a0b-c1d2e3f40516' },
      { ...BASE, allowed: false },
      { ...BASE, ip_address: '192.0.2.11' },
      { ...BASE, connection: 'oidc' },
      { ...BASE, allowed: 'true' },
    ];
    const ids = variants.map((raw) => mustNormalize(raw).id);
    expect(new Set(ids).size).toBe(variants.length);
  });

  it('separates accounts and datasets', () => {
    const base = mustNormalize(BASE).id;
    expect(mustNormalize(BASE, { ...META, accountId: 'fedcba9876543210fedcba9876543210' }).id).not.toBe(base);
    expect(mustNormalize(BASE, { ...META, dataset: 'other' }).id).not.toBe(base);
    expect(mustNormalize(BASE, { ...META, sourceName: 'renamed' }).id).toBe(base);
  });
});

describe('normalizeAccessRequest time', () => {
  const cases: [string, number][] = [
    ['2026-11-21T14:10:00.123456789+05:30', Date.UTC(2026, 10, 21, 8, 40, 0, 123)],
    ['2026-11-20T23:59:59.9999-08:00', Date.UTC(2026, 10, 21, 7, 59, 59, 999)],
    ['2024-02-29T00:00:00.5Z', Date.UTC(2024, 1, 29, 0, 0, 0, 500)],
    ['2026-12-31T23:59:60Z', Date.UTC(2027, 0, 1)],
    ['2026-01-01 00:00:00Z', Date.UTC(2026, 0, 1)],
    ['0099-01-01T00:00:00Z', -59042995200000],
    // A day past its month's end rolls over as Date reads it, rather than refuse the record's whole page.
    ['2026-02-29T00:00:00Z', Date.UTC(2026, 2, 1)],
  ];
  for (const [text, ms] of cases) {
    it(`reads ${text}`, () => {
      expect(mustNormalize({ ...BASE, created_at: text }).time).toBe(ms);
    });
  }

  const invalid = [
    '2026-13-01T00:00:00Z',
    '2026-11-32T00:00:00Z',
    '2026-11-21T24:00:00Z',
    '2026-11-21T10:00:00',
    '2026-11-21',
    '2026-11-21T10:00:00+2:00',
    '2026-11-21T10:00:00.Z',
    '1732183200000',
    '',
  ];
  for (const text of invalid) {
    it(`rejects created_at ${JSON.stringify(text)}`, () => {
      expect(mustReject({ ...BASE, created_at: text }).reason).toBe('created_at is not an RFC 3339 date-time');
    });
  }

  it('rejects a non-string created_at without throwing', () => {
    expect(mustReject({ ...BASE, created_at: 1732183200000 }).reason).toBe('created_at is not a string');
    expect(mustReject({ ...BASE, created_at: null }).reason).toBe('created_at is missing');
  });

  it('rejects values that are not records', () => {
    for (const raw of [null, undefined, 'login', 42, [BASE]]) {
      expect(mustReject(raw).reason).toBe('record is not a JSON object');
    }
  });
});

describe('normalizeAccessRequest users and applications', () => {
  it('always gives the user and the service or destination OCSF Authentication requires', () => {
    const bare = mustNormalize({ ...BASE, user_email: '', app_domain: '', app_uid: '', connection: '' });
    expect(bare.ocsf['user']).toEqual({ name: 'Unknown' });
    expect(bare.ocsf['service']).toEqual({ name: 'Cloudflare Access' });
    expect(bare.ocsf['dst_endpoint']).toBeUndefined();
    expect(bare.user).toBeNull();
    expect(bare.app).toBeNull();
    expect(bare.srcIp).toBe(BASE.ip_address);
    expect((bare.ocsf['metadata'] as Record<string, unknown>)['uid']).toBe(BASE.ray_id);

    const full = mustNormalize(BASE);
    expect(full.ocsf['user']).toEqual({ email_addr: BASE.user_email, name: BASE.user_email });
    expect(full.ocsf['service']).toEqual({ name: BASE.app_domain, uid: BASE.app_uid });
    expect(full.ocsf['dst_endpoint']).toEqual({ hostname: BASE.app_domain });
    expect(mustNormalize({ ...BASE, app_domain: '' }).ocsf['service']).toEqual({ uid: BASE.app_uid });
  });
});

describe('normalizeAccessRequest source addresses', () => {
  const cases: [string, string | null][] = [
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:DB8:0000:0000:0001:0000:0000:0000', '2001:db8:0:0:1::'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8::0:1', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:c000:0221', '::ffff:192.0.2.33'],
    [' 192.0.2.1 ', '192.0.2.1'],
    ['192.0.2.01', null],
    ['fe80::1%eth0', null],
    ['2001:db8::1::2', null],
    ['example.com', null],
  ];
  for (const [input, canonical] of cases) {
    it(`maps ${JSON.stringify(input)} to ${String(canonical)}`, () => {
      const event = mustNormalize({ ...BASE, ip_address: input });
      expect(event.srcIp).toBe(canonical);
      const ocsf = event.ocsf as { src_endpoint?: { ip?: string }; unmapped?: Record<string, unknown> };
      if (canonical === null) {
        expect(ocsf.src_endpoint).toBeUndefined();
        expect(ocsf.unmapped?.['ip_address']).toBe(input);
      } else {
        expect(ocsf.src_endpoint?.ip).toBe(canonical);
      }
    });
  }
});

describe('normalizeAccessRequest hostile values', () => {
  it('keeps 100 kB strings as data and caps the indexed copies', () => {
    const huge = `${'a'.repeat(100_000)}@example.com`;
    const raw = { ...BASE, user_email: huge, app_domain: huge, connection: huge, ray_id: huge, app_uid: huge };
    const event = mustNormalize(raw);
    for (const flat of [event.user, event.app, event.idp, event.rayId, event.appUid]) {
      expect(flat?.length).toBe(FLAT_FIELD_MAX_BYTES);
    }
    expect((event.ocsf['user'] as { email_addr: string }).email_addr).toBe(huge);
    expect(event.raw).toBe(raw);
  });

  it('caps the indexed copies of multi-byte values by their UTF-8 size', () => {
    // 1,100 CJK characters are 3,300 bytes: over PostgreSQL's index row limit when capped by characters.
    const cjk = incompressibleCjk(1100);
    const mixed = `é${'\u{1F600}'.repeat(400)}`;
    const event = mustNormalize({ ...BASE, user_email: cjk, app_domain: cjk, connection: mixed, ray_id: cjk });
    for (const flat of [event.user, event.app, event.idp, event.rayId]) {
      expect(Buffer.byteLength(flat ?? '')).toBeLessThanOrEqual(FLAT_FIELD_MAX_BYTES);
      expect(flat?.isWellFormed()).toBe(true);
    }
    expect(event.app).toBe(cjk.slice(0, Math.floor(FLAT_FIELD_MAX_BYTES / 3)));
    // 2 bytes of é, then as many 4-byte pairs as fit whole.
    expect(event.idp).toBe(`é${'\u{1F600}'.repeat(Math.floor((FLAT_FIELD_MAX_BYTES - 2) / 4))}`);
  });

  it('never splits a surrogate pair at the cap', () => {
    const email = `${'a'.repeat(FLAT_FIELD_MAX_BYTES - 1)}\u{1F600}@example.com`;
    const event = mustNormalize({ ...BASE, user_email: email });
    expect(event.user).toBe('a'.repeat(FLAT_FIELD_MAX_BYTES - 1));
    expect(event.user?.isWellFormed()).toBe(true);
  });

  it('makes every string in the output well-formed but leaves raw untouched', () => {
    const raw: unknown = JSON.parse(readFileSync(join(FIXTURES, 'hostile.input.json'), 'utf8'));
    const before = JSON.stringify(raw);
    const event = mustNormalize(raw);
    const strings: string[] = [];
    const walk = (value: unknown): void => {
      if (typeof value === 'string') strings.push(value);
      else if (Array.isArray(value)) value.forEach(walk);
      else if (value !== null && typeof value === 'object') {
        for (const [key, item] of Object.entries(value)) {
          strings.push(key);
          walk(item);
        }
      }
    };
    walk({ ...event, raw: null });
    expect(strings.length).toBeGreaterThan(20);
    for (const text of strings) expect(text.isWellFormed(), JSON.stringify(text)).toBe(true);
    expect(event.raw).toBe(raw);
    expect(JSON.stringify(raw)).toBe(before);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(event.ocsf['unmapped'])).toBe(Object.prototype);
  });

  it('survives absurd nesting in unknown fields', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 10_000; i += 1) deep = [deep];
    const raw = { ...BASE, extra: deep };
    const event = mustNormalize(raw);
    expect(() => JSON.stringify(event.ocsf)).not.toThrow();
    expect(JSON.stringify(event.ocsf)).toContain('nesting too deep');
  });
});
