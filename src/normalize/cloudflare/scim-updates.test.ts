import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isRejected } from '../../core/event.js';
import type { NormalizedEvent } from '../../core/event.js';
import type { NormalizeMeta } from '../schema.js';
import { SCIM_BODY_MAX_PARSE_CHARS, normalizeScimUpdate } from './scim-updates.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'scim-updates');
const META: NormalizeMeta = {
  sourceName: 'cf-main',
  accountId: '0123456789abcdef0123456789abcdef',
  dataset: 'scim_updates',
};

const USER_ID = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const BASE = {
  cf_resource_id: USER_ID,
  error_description: '',
  idp_id: '3f1c2b4a-5d6e-4f70-8a91-b2c3d4e5f601',
  idp_resource_id: '00u1abcd2EFGH3ijk4l5',
  logged_at: '2026-11-20T09:15:02Z',
  request_body: '',
  request_method: 'PATCH',
  resource_group_name: '',
  resource_type: 'USER',
  resource_user_email: 'Alice@Example.com',
  status: 'SUCCESS',
};

function patch(...operations: unknown[]): string {
  return JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: operations });
}

function mustNormalize(raw: unknown, meta: NormalizeMeta = META): NormalizedEvent {
  const result = normalizeScimUpdate(raw, meta);
  if (isRejected(result)) throw new Error(`unexpected rejection: ${result.reason}`);
  return result;
}

const inputs = readdirSync(FIXTURES).filter((name) => name.endsWith('.input.json'));

describe('normalizeScimUpdate golden files', () => {
  it('has fixtures', () => {
    expect(inputs.length).toBeGreaterThanOrEqual(20);
  });

  for (const input of inputs) {
    const name = input.replace(/\.input\.json$/, '');
    it(`maps ${name} as reviewed`, () => {
      const expectedPath = join(FIXTURES, `${name}.expected.json`);
      expect(existsSync(expectedPath), `missing ${name}.expected.json`).toBe(true);
      const raw: unknown = JSON.parse(readFileSync(join(FIXTURES, input), 'utf8'));
      const actual = JSON.stringify(normalizeScimUpdate(raw, META), null, 2);
      const expected: unknown = JSON.parse(readFileSync(expectedPath, 'utf8'));
      expect(actual).toBe(JSON.stringify(expected, null, 2));
    });
  }
});

describe('normalizeScimUpdate activities', () => {
  const userCases: [string, string, string][] = [
    ['POST', '', 'create'],
    ['DELETE', '', 'delete'],
    ['PUT', JSON.stringify({ userName: 'alice@example.com', active: true }), 'update'],
    ['PUT', JSON.stringify({ userName: 'alice@example.com', active: false }), 'disable'],
    ['PATCH', patch({ op: 'replace', path: 'active', value: false }), 'disable'],
    ['PATCH', patch({ op: 'Replace', path: 'Active', value: 'FALSE' }), 'disable'],
    ['PATCH', patch({ op: 'replace', path: 'active', value: true }), 'enable'],
    ['PATCH', patch({ op: 'replace', value: { active: false, displayName: 'A' } }), 'disable'],
    ['PATCH', patch({ op: 'replace', path: 'displayName', value: 'A' }), 'update'],
    ['PATCH', patch({ op: 'replace', path: 'active', value: 'maybe' }), 'update'],
    ['patch', patch({ op: 'replace', path: 'active', value: false }), 'disable'],
    ['HEAD', '', 'other'],
  ];
  for (const [method, body, activity] of userCases) {
    it(`maps a USER ${method} ${body.slice(0, 80)} to ${activity}`, () => {
      const event = mustNormalize({ ...BASE, request_method: method, request_body: body });
      expect(event.classUid).toBe(3007);
      expect(event.activity).toBe(activity);
    });
  }

  const member = { value: USER_ID, display: 'alice@example.com' };
  const groupCases: [string, string, string, number][] = [
    ['POST', JSON.stringify({ displayName: 'Engineering', members: [member] }), 'create', 6],
    ['DELETE', '', 'delete', 5],
    ['PUT', JSON.stringify({ displayName: 'Engineering' }), 'update_group', 9],
    ['PATCH', patch({ op: 'add', path: 'members', value: [member] }), 'add_user', 3],
    ['PATCH', patch({ op: 'add', value: { members: [member] } }), 'add_user', 3],
    ['PATCH', patch({ op: 'remove', path: `members[value eq "${USER_ID}"]` }), 'remove_user', 4],
    ['PATCH', patch({ op: 'remove', path: 'members', value: [member] }), 'remove_user', 4],
    ['PATCH', patch({ op: 'replace', path: 'members', value: [member] }), 'update_group', 9],
    [
      'PATCH',
      patch({ op: 'add', path: 'members', value: [member] }, { op: 'replace', path: 'displayName' }),
      'update_group',
      9,
    ],
    ['PATCH', patch(), 'update_group', 9],
  ];
  for (const [method, body, activity, activityId] of groupCases) {
    it(`maps a GROUP ${method} ${body.slice(0, 80)} to ${activity}`, () => {
      const event = mustNormalize({ ...BASE, resource_type: 'GROUP', request_method: method, request_body: body });
      expect(event.classUid).toBe(3006);
      expect(event.activity).toBe(activity);
      expect(event.ocsf['activity_id']).toBe(activityId);
      expect(event.ocsf['type_uid']).toBe(300600 + activityId);
    });
  }

  it('captions every activity, type and entity type as OCSF 1.9.0 does', () => {
    const group = mustNormalize({ ...BASE, resource_type: 'GROUP', request_method: 'PUT' });
    expect(group.ocsf['activity_name']).toBe('Update Group');
    expect(group.ocsf['type_name']).toBe('Group Management: Update Group');
    expect(group.ocsf['message']).toBe('SCIM group update succeeded');
    const role = mustNormalize({ ...BASE, resource_type: 'ROLE' });
    expect(role.ocsf['entity']).toMatchObject({ type: 'ROLE', type_id: 99 });
    const untyped = mustNormalize({ ...BASE, resource_type: '' });
    expect(untyped.ocsf['entity']).toMatchObject({ type: 'Unknown', type_id: 0 });
  });

  it('names the users a PATCH adds', () => {
    const event = mustNormalize({
      ...BASE,
      resource_type: 'GROUP',
      request_body: patch({ op: 'add', path: 'members', value: [member, { value: 'x' }, { display: 'no id' }, 7] }),
    });
    expect(event.ocsf['users']).toEqual([{ uid: USER_ID, name: 'alice@example.com' }, { uid: 'x' }]);
  });

  it('lists at most 1000 members', () => {
    const members = Array.from({ length: 5000 }, (_, i) => ({ value: `m${i}` }));
    const event = mustNormalize({
      ...BASE,
      resource_type: 'GROUP',
      request_body: patch({ op: 'add', path: 'members', value: members }),
    });
    expect(event.ocsf['users']).toHaveLength(1000);
  });

  it('maps the outcome from status, whatever its case', () => {
    expect(mustNormalize({ ...BASE, status: 'SUCCESS' }).outcome).toBe('success');
    expect(mustNormalize({ ...BASE, status: 'failure' }).outcome).toBe('failure');
    expect(mustNormalize({ ...BASE, status: 'PENDING' }).outcome).toBe('unknown');
    const failed = mustNormalize({ ...BASE, status: 'FAILURE', error_description: 'Duplicate user' });
    expect(failed.ocsf['status_detail']).toBe('Duplicate user');
    expect(failed.ocsf['severity']).toBe('Low');
  });

  it('names the identity provider as the application that made the request, which OCSF requires of an actor', () => {
    for (const resource_type of ['USER', 'GROUP', 'ROLE']) {
      const event = mustNormalize({ ...BASE, resource_type });
      expect(event.ocsf['actor'], resource_type).toEqual({
        application: { uid: BASE.idp_id },
        idp: { uid: BASE.idp_id },
      });
    }
    expect(mustNormalize({ ...BASE, idp_id: '' }).ocsf['actor']).toBeUndefined();
  });

  it('names the user, group or entity even without an id, as OCSF requires a name or a uid', () => {
    const bare = { ...BASE, cf_resource_id: '', idp_resource_id: '', resource_user_email: '', request_method: 'POST' };
    const role = mustNormalize({
      ...bare,
      resource_type: 'ROLE',
      request_body: JSON.stringify({ displayName: 'Auditors' }),
    });
    expect(role.ocsf['entity']).toMatchObject({ name: 'Auditors' });
    const unnamedRole = mustNormalize({ ...bare, resource_type: 'ROLE' });
    expect(unnamedRole.ocsf['entity']).toMatchObject({ name: 'Unknown' });
    expect(mustNormalize({ ...bare, resource_type: 'USER' }).ocsf['user']).toEqual({ name: 'Unknown' });
    expect(mustNormalize({ ...bare, resource_type: 'GROUP' }).ocsf['group']).toEqual({ name: 'Unknown' });
    // With an id there is nothing to make up.
    const identified = mustNormalize({ ...bare, cf_resource_id: USER_ID, resource_type: 'GROUP' });
    expect(identified.ocsf['group']).toEqual({ uid: USER_ID });
  });

  it('sets the flat fields', () => {
    const event = mustNormalize(BASE);
    expect(event.user).toBe('alice@example.com');
    expect(event.idp).toBe(BASE.idp_id);
    expect(event.time).toBe(Date.UTC(2026, 10, 20, 9, 15, 2));
    expect(event.dataset).toBe('scim_updates');
  });
});

describe('normalizeScimUpdate request bodies', () => {
  it('reads a body the API sends as an object', () => {
    const body = { Operations: [{ op: 'replace', path: 'active', value: false }] };
    const event = mustNormalize({ ...BASE, request_body: body });
    expect(event.activity).toBe('disable');
  });

  it('does not parse a body past the size limit', () => {
    const body = patch({ op: 'replace', path: 'active', value: false, pad: 'x'.repeat(SCIM_BODY_MAX_PARSE_CHARS) });
    const event = mustNormalize({ ...BASE, request_body: body });
    expect(event.activity).toBe('update');
    const unmapped = event.ocsf['unmapped'] as Record<string, unknown>;
    expect(unmapped['request_body_error']).toMatch(/longer than/);
  });

  it('never throws on broken or hostile bodies', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const bodies: unknown[] = [
      '{',
      'null',
      '42',
      '"text"',
      '[]',
      deep,
      '{"Operations":null}',
      '{"Operations":[null,1,"x",{"op":7,"path":[]}]}',
      '{"Operations":[{"op":"add","path":"members","value":{"value":"x"}}]}',
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
      12,
      true,
      [],
    ];
    for (const body of bodies) {
      for (const type of ['USER', 'GROUP', 'OTHER']) {
        const event = mustNormalize({ ...BASE, resource_type: type, request_body: body });
        expect(() => JSON.stringify(event.ocsf)).not.toThrow();
      }
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('keeps passwords out of both the OCSF copy and raw, and leaves any other raw untouched', () => {
    const body = JSON.stringify({ userName: 'a', password: 'hunter2', nested: { PASSWORD: 'hunter2' } });
    const raw = { ...BASE, request_method: 'POST', request_body: body };
    const event = mustNormalize(raw);
    expect(JSON.stringify(event.ocsf)).not.toContain('hunter2');
    expect(JSON.stringify(event.raw)).not.toContain('hunter2');
    expect(Object.keys(event.raw as object)).toEqual(Object.keys(raw));
    expect(JSON.parse((event.raw as { request_body: string }).request_body)).toEqual({
      userName: 'a',
      password: '[redacted]',
      nested: { PASSWORD: '[redacted]' },
    });
    const patched = mustNormalize({
      ...BASE,
      request_body: patch({ op: 'replace', path: 'password', value: 'hunter2' }),
    });
    expect(JSON.stringify(patched.ocsf)).not.toContain('hunter2');
    expect(JSON.stringify(patched.raw)).not.toContain('hunter2');
    expect(patched.id).not.toBe(event.id);
    const plain = { ...BASE, request_method: 'POST', request_body: JSON.stringify({ userName: 'a' }) };
    expect(mustNormalize(plain).raw).toBe(plain);
  });
});

describe('normalizeScimUpdate identity', () => {
  it('gives the same id to the same record, whatever the key order or time spelling', () => {
    const a = mustNormalize(BASE);
    const b = mustNormalize(Object.fromEntries(Object.entries(BASE).reverse()));
    const c = mustNormalize({ ...BASE, logged_at: '2026-11-20T10:15:02.000+01:00' });
    expect(b.id).toBe(a.id);
    expect(c.id).toBe(a.id);
    expect(a.id.slice(0, 12)).toBe(a.time.toString(16).padStart(12, '0'));
  });

  it('gives a different id when any identifying field differs', () => {
    const variants: unknown[] = [
      BASE,
      { ...BASE, cf_resource_id: 'other' },
      { ...BASE, error_description: 'x' },
      { ...BASE, idp_id: 'other' },
      { ...BASE, idp_resource_id: 'other' },
      { ...BASE, logged_at: '2026-11-20T09:15:02.001Z' },
      { ...BASE, request_body: '{}' },
      { ...BASE, request_method: 'PUT' },
      { ...BASE, resource_group_name: 'g' },
      { ...BASE, resource_type: 'GROUP' },
      { ...BASE, resource_user_email: 'bob@example.com' },
      { ...BASE, status: 'FAILURE' },
      { ...BASE, request_body: { deep: true } },
    ];
    const ids = variants.map((raw) => mustNormalize(raw).id);
    expect(new Set(ids).size).toBe(variants.length);
  });

  it('separates accounts and datasets but not source names', () => {
    const base = mustNormalize(BASE).id;
    expect(mustNormalize(BASE, { ...META, accountId: 'fedcba9876543210fedcba9876543210' }).id).not.toBe(base);
    expect(mustNormalize(BASE, { ...META, dataset: 'other' }).id).not.toBe(base);
    expect(mustNormalize(BASE, { ...META, sourceName: 'renamed' }).id).toBe(base);
  });

  it('hashes an absurdly nested identifying value without throwing', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 10_000; i += 1) deep = [deep];
    expect(() => mustNormalize({ ...BASE, error_description: deep })).not.toThrow();
  });
});

describe('normalizeScimUpdate rejections', () => {
  it('rejects what has no usable logged_at', () => {
    const reason = (raw: unknown): string | undefined => {
      const result = normalizeScimUpdate(raw, META);
      return isRejected(result) ? result.reason : undefined;
    };
    expect(reason({ ...BASE, logged_at: undefined })).toBe('logged_at is missing');
    expect(reason({ ...BASE, logged_at: 1795166102000 })).toBe('logged_at is not a string');
    expect(reason({ ...BASE, logged_at: 'yesterday' })).toBe('logged_at is not an RFC 3339 date-time');
    for (const raw of [null, 'x', 1, [BASE]]) expect(reason(raw)).toBe('record is not a JSON object');
  });
});
