import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isRejected } from '../core/event.js';
import type { NormalizedEvent } from '../core/event.js';
import type { InventoryEntity } from '../core/inventory.js';
import { normalizeAccessRequest } from './cloudflare/access-requests.js';
import { ENRICHMENT_PROVIDER, buildInventoryView, enrichAccessEvent } from './enrich.js';
import type { InventorySnapshotView } from './enrich.js';
import { normalizeScimUpdate } from './cloudflare/scim-updates.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'enrich');
const META = { sourceName: 'cf-main', accountId: '0123456789abcdef0123456789abcdef', dataset: 'access_requests' };
const SNAPSHOTS = JSON.parse(readFileSync(join(FIXTURES, 'inventory.json'), 'utf8')) as InventorySnapshotView[];
const VIEW = buildInventoryView(SNAPSHOTS);

const APP_ID = '6f0a5b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b';
const BASE = {
  action: 'login',
  allowed: true,
  app_domain: 'wiki.example.com/admin',
  app_uid: APP_ID,
  connection: 'okta',
  created_at: '2026-11-20T09:15:02Z',
  ip_address: '192.0.2.10',
  ray_id: '8e1f2a3b4c5d6e7f',
  user_email: 'Alice.Example@Example.com',
};

function access(raw: unknown): NormalizedEvent {
  const result = normalizeAccessRequest(raw, META);
  if (isRejected(result)) throw new Error(result.reason);
  return result;
}

function snapshot(dataset: string, takenAt: number, entities: InventoryEntity[]): InventorySnapshotView {
  return { dataset, takenAt, entities };
}

function entity(
  kind: InventoryEntity['kind'],
  id: string,
  name: string,
  attributes: Record<string, unknown>,
): InventoryEntity {
  return { kind, id, name, attributes };
}

type Enrichment = {
  name: string;
  value: string;
  type: string;
  provider: string;
  created_time?: number;
  data: Record<string, unknown>;
};

function enrichmentsOf(event: NormalizedEvent): Enrichment[] {
  return (event.ocsf['enrichments'] ?? []) as Enrichment[];
}

const inputs = readdirSync(FIXTURES).filter((name) => name.endsWith('.input.json'));

describe('enrichAccessEvent golden files', () => {
  it('has fixtures', () => {
    expect(inputs.length).toBeGreaterThanOrEqual(8);
  });

  for (const input of inputs) {
    const name = input.replace(/\.input\.json$/, '');
    it(`enriches ${name} as reviewed`, () => {
      const expectedPath = join(FIXTURES, `${name}.expected.json`);
      expect(existsSync(expectedPath), `missing ${name}.expected.json`).toBe(true);
      const event = access(JSON.parse(readFileSync(join(FIXTURES, input), 'utf8')));
      const enriched = enrichAccessEvent(event, VIEW);
      // The normalizer's head hint (see access-requests.test.ts) is left out of the files, and still begins the JSON.
      const actual = JSON.stringify({ ...enriched, ocsfHead: undefined }, null, 2);
      const expected: unknown = JSON.parse(readFileSync(expectedPath, 'utf8'));
      expect(actual).toBe(JSON.stringify(expected, null, 2));
      expect(enriched.ocsfHead).toBe(event.ocsfHead);
      expect(JSON.stringify(enriched.ocsf).startsWith(enriched.ocsfHead?.text ?? '-')).toBe(true);
    });
  }
});

describe('enrichAccessEvent', () => {
  it('never changes the id and says which snapshot each fact came from', () => {
    const event = access(BASE);
    const enriched = enrichAccessEvent(event, VIEW);
    expect(enriched.id).toBe(event.id);
    const enrichments = enrichmentsOf(enriched);
    expect(enrichments.map((e) => [e.type, e.data['snapshot']])).toEqual([
      ['application', { dataset: 'apps', taken_at: '2026-11-20T09:00:00.000Z' }],
      ['identity_provider', { dataset: 'identity_providers', taken_at: '2026-11-20T09:00:00.000Z' }],
      ['user', { dataset: 'access_users', taken_at: '2026-11-20T08:00:00.000Z' }],
      ['group_membership', { dataset: 'groups', taken_at: '2026-11-20T08:00:00.000Z' }],
    ]);
    for (const e of enrichments) expect(e.provider).toBe(ENRICHMENT_PROVIDER);
  });

  it('returns the very same event when nothing matches or the event is not an authentication', () => {
    const empty = buildInventoryView([]);
    const event = access(BASE);
    expect(enrichAccessEvent(event, empty)).toBe(event);
    const stranger = access({ ...BASE, user_email: 'x@example.org', app_uid: 'unknown', connection: 'github' });
    const noEveryone = buildInventoryView(SNAPSHOTS.filter((s) => s.dataset !== 'groups'));
    expect(enrichAccessEvent(stranger, noEveryone)).toBe(stranger);
    const scim = normalizeScimUpdate(
      { logged_at: '2026-11-20T09:15:02Z', resource_type: 'USER', resource_user_email: 'alice.example@example.com' },
      { ...META, dataset: 'scim_updates' },
    );
    if (isRejected(scim)) throw new Error(scim.reason);
    expect(enrichAccessEvent(scim, VIEW)).toBe(scim);
  });

  it('matches the user by e-mail whatever its case', () => {
    const enriched = enrichAccessEvent(access({ ...BASE, user_email: 'ALICE.EXAMPLE@example.COM' }), VIEW);
    expect(enriched.ocsf['user']).toMatchObject({
      uid: '8c9d0e1f-2a3b-4c4d-8e5f-6a7b8c9d0e1f',
      full_name: 'Alice Example',
    });
  });

  it('fills the flat app and service name only when the event has none', () => {
    const withDomain = enrichAccessEvent(access(BASE), VIEW);
    expect(withDomain.app).toBe('wiki.example.com/admin');
    expect((withDomain.ocsf['service'] as Record<string, unknown>)['name']).toBe('wiki.example.com/admin');
    const noDomain = Object.fromEntries(Object.entries(BASE).filter(([key]) => key !== 'app_domain'));
    const filled = enrichAccessEvent(access(noDomain), VIEW);
    expect(filled.app).toBe('Wiki');
    expect(filled.ocsf['service']).toEqual({ uid: APP_ID, name: 'Wiki' });
  });

  it('is idempotent and keeps enrichments from other providers', () => {
    const event = access(BASE);
    const foreign = { name: 'src_endpoint.ip', value: '192.0.2.10', provider: 'geo', data: { country: 'FR' } };
    const seeded: NormalizedEvent = { ...event, ocsf: { ...event.ocsf, enrichments: [foreign] } };
    const once = enrichAccessEvent(seeded, VIEW);
    const twice = enrichAccessEvent(once, VIEW);
    expect(twice).toEqual(once);
    expect(enrichmentsOf(twice)[0]).toEqual(foreign);
    expect(enrichmentsOf(twice)).toHaveLength(5);
  });

  it('takes the newest copy of an entity found in two snapshots', () => {
    const app = (name: string): InventoryEntity => entity('app', APP_ID, name, { name, type: 'self_hosted' });
    const view = buildInventoryView([
      snapshot('apps', 2000, [app('New name')]),
      snapshot('apps_old', 1000, [app('Old name')]),
    ]);
    const [first] = enrichmentsOf(enrichAccessEvent(access(BASE), view));
    expect(first?.data).toMatchObject({ name: 'New name', snapshot: { dataset: 'apps' } });
  });

  it('matches the IdP by id, then by a type only one IdP has, then by a name only one IdP has', () => {
    const idp = (id: string, name: string, type: string): InventoryEntity =>
      entity('identity_provider', id, name, { id, name, type });
    const view = buildInventoryView([
      snapshot('identity_providers', 1000, [
        idp('i1', 'Okta', 'okta'),
        idp('i2', 'SAML A', 'saml'),
        idp('i3', 'saml', 'saml'),
      ]),
    ]);
    const match = (connection: string): unknown =>
      enrichmentsOf(enrichAccessEvent(access({ ...BASE, connection }), view)).find(
        (e) => e.type === 'identity_provider',
      )?.data;
    expect(match('i2')).toMatchObject({ uid: 'i2', matched_by: 'id' });
    expect(match('OKTA')).toMatchObject({ uid: 'i1', matched_by: 'type' });
    // Two SAML IdPs: the type is ambiguous, but one of them is named "saml".
    expect(match('saml')).toMatchObject({ uid: 'i3', matched_by: 'name' });
    expect(match('saml a')).toMatchObject({ uid: 'i2', matched_by: 'name' });
    expect(match('azureAD')).toBeUndefined();
  });

  it('infers groups from e-mail, domain and everyone rules, honouring exclusions', () => {
    const group = (id: string, include: unknown, exclude: unknown = []): InventoryEntity =>
      entity('group', id, id, { include, exclude });
    const view = buildInventoryView([
      snapshot('groups', 1000, [
        group('by-email', [{ email: { email: 'Alice.Example@example.com' } }]),
        group('by-domain', [{ email_domain: { domain: 'EXAMPLE.COM' } }]),
        group('everyone', [{ everyone: {} }]),
        group('excludes-alice', [{ everyone: {} }], [{ email: { email: 'alice.example@example.com' } }]),
        group('excludes-domain', [{ everyone: {} }], [{ email_domain: { domain: 'example.com' } }]),
        group('excludes-everyone', [{ email_domain: { domain: 'example.com' } }], [{ everyone: {} }]),
        group('idp-group', [{ okta: { name: 'engineering' } }]),
        group('other-domain', [{ email_domain: { domain: 'sub.example.com' } }]),
      ]),
    ]);
    const user = enrichAccessEvent(access(BASE), view).ocsf['user'] as { groups: { uid: string }[] };
    expect(user.groups.map((g) => g.uid)).toEqual(['by-domain', 'by-email', 'everyone']);
  });

  it('never throws on odd inventory attributes or times', () => {
    const odd: InventoryEntity[] = [
      entity('group', 'g1', 'g1', { include: 'everyone', exclude: { everyone: {} } }),
      entity('group', 'g2', 'g2', {
        include: [null, 1, 'x', { email: 'x' }, { email: { email: 5 } }, { everyone: null }],
      }),
      entity('user', 'u1', '', { email: 42 }),
      entity('identity_provider', 'i1', '', { type: ['okta'] }),
      entity('app', APP_ID, '', { type: {}, domain: null }),
    ];
    const view = buildInventoryView([snapshot('mixed', Number.NaN, odd), snapshot('late', 8.64e16, odd)]);
    const enriched = enrichAccessEvent(access(BASE), view);
    expect(enriched.id).toBe(access(BASE).id);
    for (const e of enrichmentsOf(enriched)) expect(e.data['snapshot']).toEqual({ dataset: 'late' });
  });

  it('looks up in constant time however large the inventory: a few map reads an event, never a scan', () => {
    const users = Array.from({ length: 100_000 }, (_, i) =>
      entity('user', `u${i}`, `user${i}@example.com`, { email: `user${i}@example.com`, name: `User ${i}` }),
    );
    const view = buildInventoryView([...SNAPSHOTS, snapshot('access_users', 3000, users)]);
    let reads = 0;
    // Every table of the view, counting its reads and refusing to be walked.
    class ReadOnlyTable<K, V> extends Map<K, V> {
      override get(key: K): V | undefined {
        reads += 1;
        return super.get(key);
      }
      override has(key: K): boolean {
        reads += 1;
        return super.has(key);
      }
      override forEach(): never {
        throw new Error('the view was walked');
      }
      override [Symbol.iterator](): never {
        throw new Error('the view was walked');
      }
      override entries(): never {
        throw new Error('the view was walked');
      }
      override values(): never {
        throw new Error('the view was walked');
      }
      override keys(): never {
        throw new Error('the view was walked');
      }
    }
    const counted = Object.fromEntries(
      Object.entries(view).map(([name, value]) => [
        name,
        value instanceof Map ? new ReadOnlyTable([...(value as Map<unknown, unknown>)]) : value,
      ]),
    ) as unknown as typeof view;
    const events = Array.from({ length: 2_000 }, (_, i) => access({ ...BASE, user_email: `user${i * 7}@example.com` }));
    for (const event of events) {
      const enriched = enrichAccessEvent(event, counted);
      expect(enriched.ocsf['enrichments']).toBeDefined();
    }
    expect(reads / events.length).toBeLessThanOrEqual(12);
  });
});
