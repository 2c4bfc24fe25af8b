import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isRejected } from '../../core/event.js';
import type { NormalizedEvent } from '../../core/event.js';
import { FLAT_FIELD_MAX_BYTES } from '../schema.js';
import type { NormalizeMeta } from '../schema.js';
import { normalizeAuditLog } from './audit-logs.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'audit-logs');
const META: NormalizeMeta = {
  sourceName: 'cf-main',
  accountId: '0123456789abcdef0123456789abcdef',
  dataset: 'audit_logs',
};

const V1 = {
  action: { result: true, type: 'change_setting' },
  actor: { email: 'michelle@example.com', id: 'f6b5de0326bb5182b8a4840ee01ec774', ip: '192.0.2.166', type: 'user' },
  id: 'd5b0f326-1232-4452-8858-1089bd7168ef',
  interface: 'API',
  newValue: 'low',
  oldValue: 'high',
  owner: { id: '0123456789abcdef0123456789abcdef' },
  resource: { id: '023e105f4ecef8ad9ca31a8372d0c353', type: 'zone' },
  when: '2026-11-20T09:15:02Z',
};

const V2 = {
  id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
  account: { id: '0123456789abcdef0123456789abcdef', name: 'Example Corp' },
  action: { description: 'Update Gateway rule', result: 'success', time: '2026-11-20T09:15:02Z', type: 'update' },
  actor: {
    id: 'f6b5de0326bb5182b8a4840ee01ec774',
    email: 'Michelle@Example.com',
    ip_address: '192.0.2.166',
    type: 'user',
  },
  raw: { cf_ray_id: '8e1f2a3b4c5d6e7f', method: 'PUT', status_code: 200, uri: '/accounts/x/gateway/rules/y' },
  resource: { id: '5b6c7d8e-9f00-4112-8233-445566778899', product: 'gateway', type: 'gateway_rule' },
};

function mustNormalize(raw: unknown, meta: NormalizeMeta = META): NormalizedEvent {
  const result = normalizeAuditLog(raw, meta);
  if (isRejected(result)) throw new Error(`unexpected rejection: ${result.reason}`);
  return result;
}

const inputs = readdirSync(FIXTURES).filter((name) => name.endsWith('.input.json'));

describe('normalizeAuditLog golden files', () => {
  it('has fixtures', () => {
    expect(inputs.length).toBeGreaterThanOrEqual(15);
  });

  for (const input of inputs) {
    const name = input.replace(/\.input\.json$/, '');
    it(`maps ${name} as reviewed`, () => {
      const expectedPath = join(FIXTURES, `${name}.expected.json`);
      expect(existsSync(expectedPath), `missing ${name}.expected.json`).toBe(true);
      const raw: unknown = JSON.parse(readFileSync(join(FIXTURES, input), 'utf8'));
      const actual = JSON.stringify(normalizeAuditLog(raw, META), null, 2);
      const expected: unknown = JSON.parse(readFileSync(expectedPath, 'utf8'));
      expect(actual).toBe(JSON.stringify(expected, null, 2));
    });
  }
});

describe('normalizeAuditLog shapes', () => {
  it('reads v1 and v2 into the same flat fields', () => {
    const v1 = mustNormalize(V1);
    const v2 = mustNormalize(V2);
    for (const event of [v1, v2]) {
      expect(event.classUid).toBe(6003);
      expect(event.activity).toBe('update');
      expect(event.outcome).toBe('success');
      expect(event.user).toBe('michelle@example.com');
      expect(event.srcIp).toBe('192.0.2.166');
      expect(event.time).toBe(Date.UTC(2026, 10, 20, 9, 15, 2));
    }
    expect((v1.ocsf['metadata'] as Record<string, unknown>)['log_version']).toBe('v1');
    expect((v2.ocsf['metadata'] as Record<string, unknown>)['log_version']).toBe('v2');
    expect(v2.rayId).toBe('8e1f2a3b4c5d6e7f');
  });

  const v2Types: [string, string][] = [
    ['create', 'create'],
    ['view', 'read'],
    ['update', 'update'],
    ['DELETE', 'delete'],
    ['restore', 'other'],
    ['constructor', 'other'],
  ];
  for (const [type, activity] of v2Types) {
    it(`maps v2 action type ${type} to ${activity}`, () => {
      expect(mustNormalize({ ...V2, action: { ...V2.action, type } }).activity).toBe(activity);
    });
  }

  const v1Types: [string, string][] = [
    ['token_create', 'create'],
    ['add_member', 'create'],
    ['change_setting', 'update'],
    ['rotate', 'update'],
    ['delete', 'delete'],
    ['remove_member', 'delete'],
    ['list_zones', 'read'],
    ['login', 'other'],
    ['__proto__', 'other'],
    ['', 'other'],
  ];
  for (const [type, activity] of v1Types) {
    it(`maps v1 action type ${JSON.stringify(type)} to ${activity}`, () => {
      expect(mustNormalize({ ...V1, action: { ...V1.action, type } }).activity).toBe(activity);
    });
  }

  const results: [unknown, string][] = [
    [true, 'success'],
    [false, 'failure'],
    ['success', 'success'],
    ['FAILURE', 'failure'],
    ['partial', 'unknown'],
    [undefined, 'unknown'],
    [1, 'unknown'],
  ];
  for (const [result, outcome] of results) {
    it(`maps action.result ${JSON.stringify(result)} to ${outcome}`, () => {
      expect(mustNormalize({ ...V1, action: { type: 'update', result } }).outcome).toBe(outcome);
      expect(mustNormalize({ ...V2, action: { ...V2.action, result } }).outcome).toBe(outcome);
    });
  }

  it('keeps an unparseable address in unmapped and leaves srcIp null', () => {
    const event = mustNormalize({ ...V1, actor: { ...V1.actor, ip: '192.0.2.300' } });
    expect(event.srcIp).toBeNull();
    expect((event.ocsf['unmapped'] as Record<string, unknown>)['actor.ip']).toBe('192.0.2.300');
  });

  it('gives every entry the actor and source endpoint API Activity requires, never an empty object', () => {
    const cloudflare = mustNormalize({ ...V1, actor: { id: '', ip: '', type: 'Cloudflare' } }).ocsf;
    expect(cloudflare['actor']).toEqual({ user: { name: 'Cloudflare', type: 'System', type_id: 3 } });
    expect(cloudflare['src_endpoint']).toEqual({ svc_name: 'Cloudflare' });

    const nobody = mustNormalize({ ...V2, actor: undefined }).ocsf;
    expect(nobody['actor']).toEqual({ user: { name: 'Unknown' } });
    expect(nobody['src_endpoint']).toEqual({ name: 'Unknown' });

    const badAddress = mustNormalize({ ...V2, actor: { ...V2.actor, ip_address: 'not an address' } }).ocsf;
    expect(badAddress['src_endpoint']).toEqual({ name: 'Unknown' });
    const noEmail = mustNormalize({ ...V2, actor: { id: 'u-1', type: 'user', ip_address: '192.0.2.1' } }).ocsf;
    expect(noEmail['actor']).toEqual({ user: { uid: 'u-1', type: 'User', type_id: 1 } });
  });

  const actorTypes: [string, string, number, boolean][] = [
    ['user', 'User', 1, false],
    ['system', 'System', 3, false],
    ['Cloudflare', 'System', 3, true],
    ['account', 'Service', 4, true],
    ['delegated_service', 'Service', 4, true],
    ['cloudflare_admin', 'cloudflare_admin', 99, false],
    ['__proto__', '__proto__', 99, false],
  ];
  for (const [actorType, caption, typeId, kept] of actorTypes) {
    it(`captions actor type ${actorType} as OCSF's ${caption} (${typeId})`, () => {
      const event = mustNormalize({ ...V2, actor: { ...V2.actor, type: actorType } });
      const user = (event.ocsf['actor'] as { user: Record<string, unknown> }).user;
      expect(user['type']).toBe(caption);
      expect(user['type_id']).toBe(typeId);
      const unmapped = (event.ocsf['unmapped'] ?? {}) as Record<string, unknown>;
      expect(unmapped['actor.type']).toBe(kept ? actorType : undefined);
    });
  }

  it('keeps a resource without an id in unmapped, as OCSF resources need a uid or a name', () => {
    const v2 = mustNormalize({ ...V2, resource: { product: 'access', type: 'access_app', request: { name: 'wiki' } } });
    expect(v2.ocsf['resources']).toBeUndefined();
    expect(v2.ocsf['unmapped']).toEqual({ 'resource.type': 'access_app', 'resource.request': { name: 'wiki' } });
    const v1 = mustNormalize({ ...V1, resource: { type: 'zone' } });
    expect(v1.ocsf['resources']).toBeUndefined();
    expect(v1.ocsf['unmapped']).toMatchObject({ 'resource.type': 'zone', oldValue: 'high', newValue: 'low' });
  });

  it('names the Cloud profile in metadata.profiles exactly when it sets cloud', () => {
    for (const raw of [V1, V2]) {
      const ocsf = mustNormalize(raw).ocsf;
      expect((ocsf['metadata'] as Record<string, unknown>)['profiles']).toEqual(['cloud']);
      expect((ocsf['cloud'] as Record<string, unknown>)['provider']).toBe('Cloudflare');
    }
    for (const raw of [
      { ...V1, owner: undefined },
      { ...V2, account: undefined },
    ]) {
      const ocsf = mustNormalize(raw).ocsf;
      expect(ocsf['cloud']).toBeUndefined();
      expect((ocsf['metadata'] as Record<string, unknown>)['profiles']).toBeUndefined();
    }
  });
});

describe('normalizeAuditLog identity', () => {
  it('takes the id from the record id, stable across key order', () => {
    const a = mustNormalize(V2);
    const b = mustNormalize(Object.fromEntries(Object.entries(V2).reverse()));
    expect(b.id).toBe(a.id);
    const changed = mustNormalize({ ...V2, action: { ...V2.action, description: 'other words' } });
    expect(changed.id).toBe(a.id);
    expect(mustNormalize({ ...V2, id: 'b1b2c3d4e5f60718293a4b5c6d7e8f90' }).id).not.toBe(a.id);
    expect(a.id.slice(0, 12)).toBe(a.time.toString(16).padStart(12, '0'));
  });

  it('keeps a v1 and a v2 record with the same id apart', () => {
    const v1 = mustNormalize({ ...V1, id: V2.id });
    const v2 = mustNormalize(V2);
    expect(v1.time).toBe(v2.time);
    expect(v1.id).not.toBe(v2.id);
  });

  it('separates accounts and datasets but not source names', () => {
    const base = mustNormalize(V1).id;
    expect(mustNormalize(V1, { ...META, accountId: 'fedcba9876543210fedcba9876543210' }).id).not.toBe(base);
    expect(mustNormalize(V1, { ...META, dataset: 'other' }).id).not.toBe(base);
    expect(mustNormalize(V1, { ...META, sourceName: 'renamed' }).id).toBe(base);
  });
});

describe('normalizeAuditLog hostile values', () => {
  it('caps flat fields and keeps the full values in OCSF', () => {
    const huge = `${'a'.repeat(100_000)}@example.com`;
    const event = mustNormalize({ ...V2, actor: { ...V2.actor, email: huge }, raw: { cf_ray_id: huge } });
    expect(event.user?.length).toBe(FLAT_FIELD_MAX_BYTES);
    expect(event.rayId?.length).toBe(FLAT_FIELD_MAX_BYTES);
    const actor = event.ocsf['actor'] as { user: { email_addr: string } };
    expect(actor.user.email_addr).toBe(huge);
  });

  it('survives absurd nesting in request and response bodies', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 10_000; i += 1) deep = { a: deep };
    const event = mustNormalize({ ...V2, resource: { ...V2.resource, request: deep }, extra: deep });
    expect(() => JSON.stringify(event.ocsf)).not.toThrow();
    expect(JSON.stringify(event.ocsf)).toContain('nesting too deep');
  });

  it('never throws on wrongly typed parts', () => {
    const parts = [null, 1, 'x', [], true];
    for (const value of parts) {
      for (const key of ['action', 'actor', 'raw', 'resource', 'zone', 'account', 'owner', 'metadata']) {
        const v1 = normalizeAuditLog({ ...V1, [key]: value }, META);
        const v2 = normalizeAuditLog({ ...V2, [key]: value }, META);
        expect(() => JSON.stringify([v1, v2])).not.toThrow();
      }
    }
  });
});

describe('normalizeAuditLog rejections', () => {
  const reason = (raw: unknown): string | undefined => {
    const result = normalizeAuditLog(raw, META);
    return isRejected(result) ? result.reason : undefined;
  };

  it('rejects what has no id or no time', () => {
    expect(reason({ ...V1, id: undefined })).toBe('id is missing');
    expect(reason({ ...V1, id: 42 })).toBe('id is not a string');
    expect(reason({ ...V1, when: undefined })).toBe('neither action.time (v2) nor when (v1) is present');
    expect(reason({ ...V1, when: 1795166102 })).toBe('when is not a string');
    expect(reason({ ...V1, when: 'today' })).toBe('when is not an RFC 3339 date-time');
    expect(reason({ ...V2, action: { ...V2.action, time: 'now' } })).toBe('action.time is not an RFC 3339 date-time');
    for (const raw of [null, 'x', 1, [V1]]) expect(reason(raw)).toBe('record is not a JSON object');
  });
});
