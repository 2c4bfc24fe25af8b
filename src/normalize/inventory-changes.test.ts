import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { INVENTORY_KINDS } from '../core/inventory.js';
import type { InventoryEntity, InventoryKind } from '../core/inventory.js';
import type { InventoryChangeMeta } from './inventory-changes.js';
import { VOLATILE_FIELDS, diffInventory } from './inventory-changes.js';
import { FLAT_FIELD_MAX_BYTES } from './schema.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'inventory-changes');
const META: InventoryChangeMeta = {
  sourceName: 'cf-main',
  accountId: '0123456789abcdef0123456789abcdef',
  dataset: 'inventory',
  takenAt: Date.UTC(2026, 10, 20, 9, 30),
  previousTakenAt: Date.UTC(2026, 10, 20, 9, 15),
};

const RULE: InventoryEntity = {
  kind: 'gateway_rule',
  id: '5b6c7d8e-9f00-4112-8233-445566778899',
  name: 'Block gambling',
  attributes: {
    id: '5b6c7d8e-9f00-4112-8233-445566778899',
    name: 'Block gambling',
    action: 'block',
    enabled: true,
    filters: ['dns'],
    precedence: 2000,
    rule_settings: { block_page_enabled: true, block_reason: 'Blocked' },
    updated_at: '2025-12-01T10:00:00Z',
  },
};

function entity(kind: InventoryKind, id: string, attributes: Record<string, unknown>, name = id): InventoryEntity {
  return { kind, id, name, attributes };
}

function changed(base: InventoryEntity, attributes: Record<string, unknown>): InventoryEntity {
  return { ...base, attributes: { ...base.attributes, ...attributes } };
}

const inputs = readdirSync(FIXTURES).filter((name) => name.endsWith('.input.json'));

describe('diffInventory golden files', () => {
  it('has fixtures', () => {
    expect(inputs.length).toBeGreaterThanOrEqual(15);
  });

  for (const input of inputs) {
    const name = input.replace(/\.input\.json$/, '');
    it(`diffs ${name} as reviewed`, () => {
      const expectedPath = join(FIXTURES, `${name}.expected.json`);
      expect(existsSync(expectedPath), `missing ${name}.expected.json`).toBe(true);
      const { before, after } = JSON.parse(readFileSync(join(FIXTURES, input), 'utf8')) as {
        before: InventoryEntity[] | null;
        after: InventoryEntity[];
      };
      const actual = JSON.stringify(diffInventory(before ?? undefined, after, META), null, 2);
      const expected: unknown = JSON.parse(readFileSync(expectedPath, 'utf8'));
      expect(actual).toBe(JSON.stringify(expected, null, 2));
    });
  }
});

describe('diffInventory changes', () => {
  it('yields nothing for the first snapshot or an unchanged one', () => {
    expect(diffInventory(undefined, [RULE], META)).toEqual([]);
    expect(diffInventory([], [], META)).toEqual([]);
    const reordered = { ...RULE, attributes: Object.fromEntries(Object.entries(RULE.attributes).reverse()) };
    expect(diffInventory([RULE], [reordered], META)).toEqual([]);
  });

  it('summarises a disabled rule in one line', () => {
    const [event, ...rest] = diffInventory([RULE], [changed(RULE, { enabled: false })], META);
    expect(rest).toEqual([]);
    expect(event?.ocsf['message']).toBe('Gateway rule "Block gambling" disabled: enabled true → false');
    expect(event?.activity).toBe('disable');
    expect(event?.classUid).toBe(3004);
    expect(event?.time).toBe(META.takenAt);
    expect(event?.dataset).toBe('inventory');
    expect(event?.outcome).toBe('success');
  });

  it('reports what the message calls disabled, enabled or revoked as that Entity Management activity', () => {
    const device = entity('device', 'd1', { name: 'laptop', revoked_at: null }, 'laptop');
    const cases: [InventoryEntity, InventoryEntity, number, string, string][] = [
      [RULE, changed(RULE, { enabled: false }), 9, 'Disable', 'disable'],
      [changed(RULE, { enabled: false }), RULE, 8, 'Enable', 'enable'],
      [device, changed(device, { revoked_at: '2026-11-20T09:20:00Z' }), 7, 'Unenroll', 'unenroll'],
      [RULE, changed(RULE, { precedence: 1 }), 3, 'Update', 'update'],
    ];
    for (const [before, after, id, name, flat] of cases) {
      const [event] = diffInventory([before], [after], META);
      expect(event?.ocsf, name).toMatchObject({ activity_id: id, activity_name: name, type_uid: 300400 + id });
      expect(event?.activity).toBe(flat);
    }
  });

  it('keeps the id an update had before it got a specific activity', () => {
    const [event] = diffInventory([RULE], [changed(RULE, { enabled: false })], META);
    expect(event?.id).toBe('01a1f84a95c097656541153a4c73fbf8');
  });

  it('names the innermost changed attribute and keeps both values', () => {
    const before = changed(RULE, { rule_settings: { block_page_enabled: true, nested: { a: [1, 2] } } });
    const after = changed(RULE, { rule_settings: { block_page_enabled: true, nested: { a: [1, 3] } } });
    const [event] = diffInventory([before], [after], META);
    const entity = event?.ocsf['entity'] as { data: Record<string, unknown> };
    const updated = event?.ocsf['updated_entity'] as { data: Record<string, unknown> };
    expect(entity.data).toEqual({ 'rule_settings.nested.a': [1, 2] });
    expect(updated.data).toEqual({ 'rule_settings.nested.a': [1, 3] });
  });

  it('compares arrays deeply and in order', () => {
    const a = changed(RULE, { filters: [{ x: 1, y: 2 }] });
    expect(diffInventory([a], [changed(RULE, { filters: [{ y: 2, x: 1 }] })], META)).toEqual([]);
    expect(
      diffInventory([changed(RULE, { filters: ['dns', 'http'] })], [changed(RULE, { filters: ['http', 'dns'] })], META),
    ).toHaveLength(1);
  });

  it('reports an attribute that appears or disappears', () => {
    const withoutPrecedence = Object.fromEntries(
      Object.entries(RULE.attributes).filter(([key]) => key !== 'precedence'),
    );
    const [event] = diffInventory([RULE], [{ ...RULE, attributes: withoutPrecedence }], META);
    expect(event?.ocsf['message']).toBe('Gateway rule "Block gambling" changed: precedence 2000 → (absent)');
    expect((event?.ocsf['updated_entity'] as { data: Record<string, unknown> }).data).toEqual({});
  });

  it('makes one event per entity added, removed or modified, matched by kind and id', () => {
    const group = entity('group', RULE.id, { name: 'Same id, other kind' });
    const added = entity('gateway_rule', 'c0ffee00-0000-4000-8000-000000000001', { name: 'New' });
    const events = diffInventory([RULE, group], [changed(RULE, { precedence: 1 }), added], META);
    expect(events.map((e) => [e.activity, (e.raw as { after: unknown }).after === null])).toEqual([
      ['delete', true],
      ['update', false],
      ['create', false],
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
  });

  it('keeps the attributes before and after in raw', () => {
    const after = changed(RULE, { enabled: false });
    const [update] = diffInventory([RULE], [after], META);
    expect(update?.raw).toEqual({ before: RULE.attributes, after: after.attributes });
    const [created] = diffInventory([], [RULE], META);
    expect(created?.raw).toEqual({ before: null, after: RULE.attributes });
    const [deleted] = diffInventory([RULE], [], META);
    expect(deleted?.raw).toEqual({ before: RULE.attributes, after: null });
  });

  it('lets the later copy win when a snapshot lists an entity twice', () => {
    const events = diffInventory([RULE], [changed(RULE, { enabled: false }), RULE], META);
    expect(events).toEqual([]);
  });

  it('says when the change happened between the two snapshots', () => {
    const [event] = diffInventory([RULE], [changed(RULE, { enabled: false })], META);
    expect(event?.ocsf['start_time']).toBe(META.previousTakenAt);
    expect(event?.ocsf['end_time']).toBe(META.takenAt);
    const [unknownStart] = diffInventory([RULE], [changed(RULE, { enabled: false })], {
      ...META,
      previousTakenAt: null,
    });
    expect(unknownStart?.ocsf['start_time']).toBeUndefined();
  });

  it('fills the flat user, app and idp fields for their kinds', () => {
    const user = entity('user', 'u1', { email: 'Alice@Example.com', name: 'Alice' }, 'Alice@Example.com');
    const app = entity('app', 'a1', { name: 'Wiki' }, 'Wiki');
    const idp = entity('identity_provider', 'i1', { name: 'Okta', type: 'okta' }, 'Okta');
    const [appEvent, idpEvent, userEvent] = [app, idp, user].map((e) => diffInventory([], [e], META)[0]);
    expect(userEvent?.user).toBe('alice@example.com');
    expect(appEvent?.app).toBe('Wiki');
    expect(appEvent?.appUid).toBe('a1');
    expect(idpEvent?.idp).toBe('i1');
    expect(userEvent?.ocsf['entity']).toMatchObject({
      type_id: 2,
      user: { uid: 'u1', email_addr: 'Alice@Example.com' },
    });
  });

  const types: [InventoryKind, string, number, Record<string, unknown>][] = [
    ['user', 'User', 2, {}],
    ['organization', 'Organization', 4, {}],
    ['group', 'Group', 3, { group: { uid: 'x1', name: 'x1', type: 'Access group' } }],
    ['gateway_rule', 'Policy', 5, { policy: { uid: 'x1', name: 'x1', type: 'Gateway rule' } }],
    ['policy', 'Policy', 5, { policy: { uid: 'x1', name: 'x1', type: 'Access policy' } }],
    ['device', 'Device', 1, {}],
    ['identity_provider', 'Identity provider', 99, {}],
    ['gateway_account', 'Gateway account', 99, {}],
    ['gateway_configuration', 'Gateway configuration', 99, {}],
    ['app', 'Access application', 99, {}],
  ];
  for (const [kind, type, typeId, specific] of types) {
    it(`gives a ${kind} the entity type OCSF captions ${typeId} with, keeping the kind's label in the schema`, () => {
      const [created] = diffInventory([], [entity(kind, 'x1', {})], META);
      expect(created?.ocsf['entity']).toMatchObject({ type, type_id: typeId, ...specific });
    });
  }
  it('covers every kind in that list', () => {
    expect(types.map(([kind]) => kind).sort()).toEqual([...INVENTORY_KINDS].sort());
  });
});

// A value for each volatile path, so that the test changes exactly the fields the constant names.
function volatileChange(path: string, value: string): Record<string, unknown> {
  const segments = path
    .split('.')
    .map((segment) => (segment.endsWith('*') ? `${segment.slice(0, -1) || 'x'}_at` : segment));
  let result: unknown = value;
  for (const segment of segments.reverse()) result = segment === 'x_at' ? [result] : { [segment]: result };
  return result as Record<string, unknown>;
}

describe('diffInventory volatile fields', () => {
  it('has a list for every kind', () => {
    expect(Object.keys(VOLATILE_FIELDS).sort()).toEqual([...INVENTORY_KINDS].sort());
  });

  for (const kind of INVENTORY_KINDS) {
    for (const path of VOLATILE_FIELDS[kind]) {
      it(`ignores ${kind} ${path}`, () => {
        const base = entity(kind, 'e1', { name: 'Example', ...volatileChange(path, 'before') });
        const later = entity(kind, 'e1', { name: 'Example', ...volatileChange(path, 'after') });
        expect(diffInventory([base], [later], META)).toEqual([]);
        // The same change next to a real one yields an event that does not mention the volatile field.
        const [event] = diffInventory(
          [base],
          [{ ...later, attributes: { ...later.attributes, name: 'Renamed' } }],
          META,
        );
        expect(Object.keys((event?.ocsf['entity'] as { data: object }).data)).toEqual(['name']);
      });
    }
  }

  it('still reports the fields the brief calls real changes', () => {
    const device = entity('device', 'd1', { active_registrations: 1, revoked_at: null, last_seen_at: 'a' });
    const [revoked] = diffInventory([device], [changed(device, { revoked_at: '2026-11-20T07:30:00Z' })], META);
    expect(revoked?.ocsf['message']).toBe('Device "d1" revoked: revoked_at null → "2026-11-20T07:30:00Z"');
    const ended = diffInventory([device], [changed(device, { active_registrations: 0, last_seen_at: 'b' })], META);
    expect(ended).toHaveLength(1);
    expect(ended[0]?.ocsf['message']).toBe('Device "d1" revoked: active_registrations 1 → 0');
    const added = diffInventory([device], [changed(device, { active_registrations: 2 })], META);
    expect(added[0]?.ocsf['message']).toBe('Device "d1" changed: active_registrations 1 → 2');
    const org = entity('organization', 'o1', { session_duration: '24h', updated_at: 'a' });
    expect(diffInventory([org], [changed(org, { session_duration: '1h', updated_at: 'b' })], META)).toHaveLength(1);
  });
});

describe('diffInventory identity', () => {
  const after = [changed(RULE, { enabled: false }), entity('group', 'g1', { name: 'New group' })];

  it('gives the same ids when the same diff is computed again', () => {
    const first = diffInventory([RULE], after, META).map((e) => e.id);
    const second = diffInventory([RULE], structuredClone(after), { ...META }).map((e) => e.id);
    expect(second).toEqual(first);
    expect(first[0]?.slice(0, 12)).toBe(META.takenAt.toString(16).padStart(12, '0'));
  });

  it('gives different ids for a different account, dataset, time or change, but not another source name', () => {
    const id = (meta: InventoryChangeMeta, next = after): string | undefined =>
      diffInventory([RULE], next, meta)[0]?.id;
    const base = id(META);
    expect(id({ ...META, accountId: 'fedcba9876543210fedcba9876543210' })).not.toBe(base);
    expect(id({ ...META, dataset: 'other' })).not.toBe(base);
    expect(id({ ...META, takenAt: META.takenAt + 1 })).not.toBe(base);
    expect(id(META, [changed(RULE, { enabled: false, precedence: 1 })])).not.toBe(base);
    expect(id({ ...META, sourceName: 'renamed' })).toBe(base);
  });
});

describe('diffInventory hostile values', () => {
  it('keeps strings well-formed, caps the message and never pollutes prototypes', () => {
    const hostile = entity(
      'gateway_rule',
      'r\ud800',
      JSON.parse('{"__proto__":{"polluted":true},"name":"<b>x</b>\\ud800","enabled":true}') as Record<string, unknown>,
      `<script>${'n'.repeat(100_000)}\udc00`,
    );
    const later = changed(hostile, { enabled: false, description: `${'d'.repeat(100_000)}\ud83d` });
    const events = [...diffInventory([hostile], [later], META), ...diffInventory([], [later], META)];
    expect(events).toHaveLength(2);
    for (const event of events) {
      const text = JSON.stringify({ ...event, raw: null });
      expect(text.isWellFormed()).toBe(true);
      expect(String(event.ocsf['message']).length).toBeLessThanOrEqual(FLAT_FIELD_MAX_BYTES);
      expect(String(event.ocsf['message']).isWellFormed()).toBe(true);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('survives absurd nesting', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 10_000; i += 1) deep = { a: deep };
    const events = diffInventory([RULE], [changed(RULE, { deep })], META);
    expect(events).toHaveLength(1);
    expect(() => JSON.stringify(events[0]?.ocsf)).not.toThrow();
  });
});
