import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../core/event.js';
import type { InventoryEntity } from '../../core/inventory.js';
import { FIELD_ALIASES } from '../../store/query-language.js';
import { SEARCH_FIELDS } from '../../store/search-query.js';
import {
  SIGMA_FIELD_ALIASES,
  SIGMA_FIELD_PREFIXES,
  SIGMA_FLAT_FIELDS,
  SIGMA_OCSF_PATHS,
  readPath,
  resolveSigmaField,
  sigmaFieldNames,
} from './sigma-fields.js';
import type { SigmaService } from './sigma-fields.js';
import { SIGMA_SERVICE_DATASETS } from './sigma-logsource.js';
import { accessEvent, auditEvent, auditV1Event, inventoryEvents, scimEvent } from './sigma-events.suite.js';

const DOCS = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../../docs/sigma.md'), 'utf8');

function entity(
  kind: InventoryEntity['kind'],
  id: string,
  name: string,
  attributes: Record<string, unknown>,
): InventoryEntity {
  return { kind, id, name, attributes };
}

/** One or more events of each service, as the normalizers and the inventory differ make them. */
function samples(): Record<SigmaService, NormalizedEvent[]> {
  const groupPatch = JSON.stringify({
    Operations: [{ op: 'add', path: 'members', value: [{ value: 'u-1', display: 'Alice' }] }],
  });
  const admin = entity('user', 'u-1', 'alice@example.com', { email: 'alice@example.com', name: 'Alice' });
  const group = entity('group', 'g-1', 'Admins', { include: [{ email: { email: 'a@example.com' } }] });
  const org = entity('organization', 'o-1', 'Example', { session_duration: '24h' });
  const policy = entity('policy', 'p-1', 'Allow staff', { decision: 'allow' });
  const device = entity('device', 'd-1', 'laptop', { os: 'mac' });
  const changed = (item: InventoryEntity): InventoryEntity => ({ ...item, attributes: { ...item.attributes, x: 1 } });
  return {
    access: [accessEvent(), accessEvent({ connection: 'saml' })],
    scim: [
      scimEvent({ error_description: 'Conflict', status: 'FAILURE' }),
      scimEvent({ resource_type: 'GROUP', resource_group_name: 'Staff', request_body: groupPatch }),
      scimEvent({ resource_type: 'OTHER' }),
    ],
    audit: [
      auditEvent(),
      auditEvent({
        zone: { id: 'z-1', name: 'example.com' },
        raw: { cf_ray_id: 'r1', method: 'GET', status_code: 200, uri: '/accounts/x/tokens?page=2', user_agent: 'curl' },
      }),
      auditV1Event('token_create'),
    ],
    inventory: [admin, group, org, policy, device].flatMap((item) => [
      ...inventoryEvents('groups', [], [item]),
      ...inventoryEvents('groups', [item], [changed(item)]),
    ]),
  };
}

// Set only when the inventory enriches an Access login, which these samples leave out.
const ENRICHED = new Set([
  'user.uid',
  'user.full_name',
  'user.groups.uid',
  'user.groups.name',
  'enrichments.name',
  'enrichments.value',
  'enrichments.type',
  'enrichments.data.name',
  'enrichments.data.type',
  'enrichments.data.uid',
]);

describe('Sigma fields', () => {
  it('offers every field and alias of the search language', () => {
    for (const field of SEARCH_FIELDS) {
      if (field === 'time') continue;
      expect(resolveSigmaField(field)?.name, field).toBe(field);
    }
    for (const [alias, field] of Object.entries(FIELD_ALIASES)) {
      expect(resolveSigmaField(alias)?.name, alias).toBe(field);
    }
  });

  it('lists in docs/sigma.md every field, alias, path and prefix a rule can use', () => {
    const names = [...sigmaFieldNames(), ...Object.keys(SIGMA_FIELD_PREFIXES)];
    for (const name of names) expect(DOCS, name).toContain(`\`${name}`);
    for (const [service, datasets] of Object.entries(SIGMA_SERVICE_DATASETS)) {
      expect(DOCS).toContain(`\`${service}\``);
      for (const dataset of datasets) expect(DOCS, dataset).toContain(`\`${dataset}\``);
    }
  });

  it('names only paths the normalizers write, on the services it claims', () => {
    const events = samples();
    for (const [path, spec] of Object.entries(SIGMA_OCSF_PATHS)) {
      const field = resolveSigmaField(path);
      expect(field, path).not.toBeNull();
      if (ENRICHED.has(path)) continue;
      const found = spec.services.some((service) =>
        events[service].some((event) => {
          const value = field?.read(event);
          return value !== undefined && !(Array.isArray(value) && value.length === 0);
        }),
      );
      expect(found, path).toBe(true);
    }
  });

  it('claims each flat field only for services whose events set it', () => {
    const events = samples();
    for (const [name, spec] of Object.entries(SIGMA_FLAT_FIELDS)) {
      const services = (Object.keys(events) as SigmaService[]).filter((service) =>
        events[service].some((event) => spec.read(event) !== null),
      );
      for (const service of services) expect(spec.services, `${name} on ${service}`).toContain(service);
    }
  });

  it('resolves aliases to flat fields and open prefixes to paths', () => {
    for (const target of Object.values(SIGMA_FIELD_ALIASES)) expect(Object.keys(SIGMA_FLAT_FIELDS)).toContain(target);
    expect(resolveSigmaField('raw.action.type')?.services).toEqual(['access', 'scim', 'audit', 'inventory']);
    expect(resolveSigmaField('entity.data.enabled')?.services).toEqual(['inventory']);
    expect(resolveSigmaField('nope')).toBeNull();
    expect(resolveSigmaField('ocsf.user.name')).toBeNull();
  });
});

describe('readPath', () => {
  it('crosses lists and keys that contain dots', () => {
    const root = { a: [{ b: 1 }, { b: [2, 3] }, { c: 4 }], 'x.y': { z: 5 }, x: { w: 6 } };
    expect(readPath(root, ['a', 'b'])).toEqual([1, 2, 3]);
    expect(readPath(root, ['a', 'c'])).toEqual([4]);
    expect(readPath(root, ['a', 'd'])).toBeUndefined();
    expect(readPath(root, ['x', 'y', 'z'])).toBe(5);
    expect(readPath(root, ['x', 'w'])).toBe(6);
    expect(readPath(root, [])).toBe(root);
    expect(readPath(null, ['a'])).toBeUndefined();
    expect(readPath('text', ['length'])).toBeUndefined();
  });

  it('never reads inherited properties', () => {
    expect(readPath({}, ['constructor'])).toBeUndefined();
    expect(readPath({ a: {} }, ['a', '__proto__'])).toBeUndefined();
  });
});
