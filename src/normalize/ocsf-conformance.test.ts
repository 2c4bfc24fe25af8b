import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isRejected } from '../core/event.js';
import type { NormalizedEvent, Rejected } from '../core/event.js';
import { INVENTORY_KINDS } from '../core/inventory.js';
import type { InventoryEntity } from '../core/inventory.js';
import { normalizeAccessRequest } from './cloudflare/access-requests.js';
import { normalizeAuditLog } from './cloudflare/audit-logs.js';
import { normalizeScimUpdate } from './cloudflare/scim-updates.js';
import { diffInventory } from './inventory-changes.js';

// The OCSF 1.9.0 rules (github.com/ocsf/ocsf-schema: events/, objects/, profiles/, dictionary.json) that bear on
// the attributes zerotrail writes, checked over every golden event of every mapper and over the sparsest records
// each accepts. A validator of the schema reports an event that breaks one of them, so a consumer that validates
// would refuse or flag the event. Attributes zerotrail does not write are left out of the tables.

type Attribute = string | { readonly object: string; readonly array?: true };

interface Enum {
  readonly sibling: string;
  readonly captions: Readonly<Record<number, string>>;
}

interface ObjectRule {
  readonly attributes: Readonly<Record<string, Attribute>>;
  readonly required?: readonly string[];
  readonly atLeastOne?: readonly string[];
  readonly enums?: Readonly<Record<string, Enum>>;
}

interface ClassRule extends ObjectRule {
  readonly uid: number;
  readonly name: string;
  readonly category: number;
  readonly activities: Readonly<Record<number, string>>;
}

const OTHER = 99;
const obj = (object: string): Attribute => ({ object });
const list = (object: string): Attribute => ({ object, array: true });

const OBJECTS: Readonly<Record<string, ObjectRule>> = {
  metadata: {
    attributes: {
      version: 'string',
      product: obj('product'),
      log_name: 'string',
      log_provider: 'string',
      tenant_uid: 'string',
      labels: 'string[]',
      original_time: 'string',
      uid: 'string',
      event_code: 'string',
      log_version: 'string',
      profiles: 'string[]',
    },
    required: ['version', 'product'],
  },
  product: {
    attributes: { name: 'string', vendor_name: 'string', feature: obj('feature') },
    required: ['vendor_name'],
  },
  feature: { attributes: { name: 'string' } },
  actor: {
    attributes: {
      user: obj('user'),
      idp: obj('idp'),
      process: 'object',
      session: 'object',
      app_name: 'string',
      app_uid: 'string',
      application: obj('application'),
      invoked_by: 'string',
    },
    atLeastOne: ['process', 'user', 'invoked_by', 'session', 'app_name', 'app_uid', 'application'],
  },
  application: { attributes: { name: 'string', uid: 'string', type: 'string' }, atLeastOne: ['uid', 'name'] },
  idp: { attributes: { name: 'string', uid: 'string' } },
  user: {
    attributes: {
      name: 'string',
      uid: 'string',
      uid_alt: 'string',
      email_addr: 'string',
      full_name: 'string',
      type: 'string',
      type_id: 'number',
      groups: list('group'),
      account: obj('account'),
    },
    atLeastOne: ['account', 'name', 'uid'],
    enums: {
      type_id: { sibling: 'type', captions: { 0: 'Unknown', 1: 'User', 2: 'Admin', 3: 'System', 4: 'Service' } },
    },
  },
  group: { attributes: { name: 'string', uid: 'string', type: 'string' }, atLeastOne: ['name', 'uid'] },
  account: { attributes: { name: 'string', uid: 'string' } },
  organization: { attributes: { name: 'string', uid: 'string' } },
  policy: { attributes: { name: 'string', uid: 'string', type: 'string' }, atLeastOne: ['name', 'type', 'uid'] },
  device: {
    attributes: { name: 'string', uid: 'string', type: 'string', type_id: 'number' },
    required: ['type_id'],
    atLeastOne: ['ip', 'uid', 'name', 'hostname', 'instance_uid', 'interface_uid', 'interface_name'],
    enums: {
      type_id: {
        sibling: 'type',
        captions: {
          0: 'Unknown',
          1: 'Server',
          2: 'Desktop',
          3: 'Laptop',
          4: 'Tablet',
          5: 'Mobile',
          6: 'Virtual',
          7: 'IOT',
          8: 'Browser',
          9: 'Firewall',
          10: 'Switch',
          11: 'Hub',
          12: 'Router',
          13: 'IDS',
          14: 'IPS',
          15: 'Load Balancer',
        },
      },
    },
  },
  network_endpoint: {
    attributes: {
      ip: 'string',
      hostname: 'string',
      name: 'string',
      uid: 'string',
      svc_name: 'string',
      location: obj('location'),
    },
    atLeastOne: ['ip', 'uid', 'name', 'hostname', 'svc_name', 'instance_uid', 'interface_uid', 'interface_name'],
  },
  location: { attributes: { country: 'string', coordinates: 'number[]', desc: 'string', provider: 'string' } },
  service: { attributes: { name: 'string', uid: 'string' } },
  enrichment: {
    attributes: {
      name: 'string',
      value: 'string',
      data: 'object',
      type: 'string',
      provider: 'string',
      created_time: 'number',
      desc: 'string',
    },
    required: ['data', 'name', 'value'],
  },
  api: {
    attributes: { operation: 'string', service: obj('service'), request: obj('request') },
    required: ['operation'],
  },
  request: { attributes: { uid: 'string' }, required: ['uid'] },
  resource_details: {
    attributes: { uid: 'string', name: 'string', type: 'string', data: 'object' },
    atLeastOne: ['name', 'uid'],
  },
  http_request: {
    attributes: { http_method: 'string', url: obj('url'), user_agent: 'string', uid: 'string' },
  },
  url: { attributes: { url_string: 'string', path: 'string', query_string: 'string' } },
  http_response: { attributes: { code: 'number' }, required: ['code'] },
  cloud: { attributes: { provider: 'string', account: obj('account') }, required: ['provider'] },
  managed_entity: {
    attributes: {
      uid: 'string',
      name: 'string',
      type: 'string',
      type_id: 'number',
      data: 'object',
      user: obj('user'),
      group: obj('group'),
      org: obj('organization'),
      policy: obj('policy'),
      device: obj('device'),
    },
    atLeastOne: ['name', 'uid', 'device', 'group', 'org', 'policy', 'user'],
    enums: {
      type_id: {
        sibling: 'type',
        captions: {
          0: 'Unknown',
          1: 'Device',
          2: 'User',
          3: 'Group',
          4: 'Organization',
          5: 'Policy',
          6: 'Email',
          7: 'Network Zone',
        },
      },
    },
  },
};

const SEVERITIES = { 0: 'Unknown', 1: 'Informational', 2: 'Low', 3: 'Medium', 4: 'High', 5: 'Critical', 6: 'Fatal' };
const STATUSES = { 0: 'Unknown', 1: 'Success', 2: 'Failure' };

const BASE: Readonly<Record<string, Attribute>> = {
  activity_id: 'number',
  activity_name: 'string',
  category_uid: 'number',
  category_name: 'string',
  class_uid: 'number',
  class_name: 'string',
  type_uid: 'number',
  type_name: 'string',
  time: 'number',
  severity_id: 'number',
  severity: 'string',
  status_id: 'number',
  status: 'string',
  status_detail: 'string',
  message: 'string',
  metadata: obj('metadata'),
  start_time: 'number',
  end_time: 'number',
  enrichments: list('enrichment'),
  unmapped: 'object',
};
const BASE_REQUIRED = ['activity_id', 'category_uid', 'class_uid', 'metadata', 'severity_id', 'time', 'type_uid'];

// Attributes a profile adds; an event may carry them only when `metadata.profiles` names the profile.
const PROFILES: Readonly<Record<string, ObjectRule>> = {
  cloud: { attributes: { cloud: obj('cloud'), api: obj('api') }, required: ['cloud'] },
};

const IAM: Readonly<Record<string, Attribute>> = {
  actor: obj('actor'),
  src_endpoint: obj('network_endpoint'),
  http_request: obj('http_request'),
};

const CLASSES: Readonly<Record<number, ClassRule>> = {
  3002: {
    uid: 3002,
    name: 'Authentication',
    category: 3,
    attributes: {
      ...IAM,
      user: obj('user'),
      is_remote: 'boolean',
      service: obj('service'),
      dst_endpoint: obj('network_endpoint'),
      auth_protocol: 'string',
      auth_protocol_id: 'number',
    },
    required: ['user'],
    atLeastOne: ['service', 'dst_endpoint'],
    activities: {
      1: 'Logon',
      2: 'Logoff',
      3: 'Authentication Ticket',
      4: 'Service Ticket Request',
      5: 'Service Ticket Renew',
      6: 'Preauth',
      7: 'Account Switch',
    },
    enums: {
      auth_protocol_id: {
        sibling: 'auth_protocol',
        captions: {
          0: 'Unknown',
          1: 'NTLM',
          2: 'Kerberos',
          3: 'Digest',
          4: 'OpenID',
          5: 'SAML',
          6: 'OAUTH 2.0',
          7: 'PAP',
          8: 'CHAP',
          9: 'EAP',
          10: 'RADIUS',
          11: 'Basic Authentication',
          12: 'LDAP',
        },
      },
    },
  },
  3004: {
    uid: 3004,
    name: 'Entity Management',
    category: 3,
    attributes: { ...IAM, entity: obj('managed_entity'), updated_entity: obj('managed_entity') },
    required: ['entity'],
    activities: {
      1: 'Create',
      2: 'Read',
      3: 'Update',
      4: 'Delete',
      5: 'Move',
      6: 'Enroll',
      7: 'Unenroll',
      8: 'Enable',
      9: 'Disable',
      10: 'Activate',
      11: 'Deactivate',
      12: 'Suspend',
      13: 'Resume',
    },
  },
  3006: {
    uid: 3006,
    name: 'Group Management',
    category: 3,
    attributes: { ...IAM, group: obj('group'), users: list('user') },
    required: ['group'],
    activities: {
      1: 'Assign Privileges',
      2: 'Revoke Privileges',
      3: 'Add User',
      4: 'Remove User',
      5: 'Delete',
      6: 'Create',
      7: 'Add Subgroup',
      8: 'Remove Subgroup',
      9: 'Update Group',
      10: 'Assign Roles',
      11: 'Remove Roles',
    },
  },
  3007: {
    uid: 3007,
    name: 'User Management',
    category: 3,
    attributes: { ...IAM, user: obj('user') },
    required: ['user'],
    activities: {
      1: 'Create',
      2: 'Update',
      3: 'Delete',
      4: 'Enable',
      5: 'Disable',
      6: 'Lock',
      7: 'Unlock',
      8: 'Password Change',
      9: 'Password Reset',
      10: 'Attach Policies',
      11: 'Detach Policies',
      12: 'MFA Factor Enable',
      13: 'MFA Factor Disable',
      14: 'Assign Privileges',
      15: 'Remove Privileges',
      16: 'Assign Roles',
      17: 'Remove Roles',
    },
  },
  6003: {
    uid: 6003,
    name: 'API Activity',
    category: 6,
    attributes: {
      actor: obj('actor'),
      api: obj('api'),
      src_endpoint: obj('network_endpoint'),
      dst_endpoint: obj('network_endpoint'),
      http_request: obj('http_request'),
      http_response: obj('http_response'),
      resources: list('resource_details'),
    },
    required: ['actor', 'api', 'src_endpoint'],
    activities: { 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete' },
  },
};

const CATEGORIES: Readonly<Record<number, string>> = { 3: 'Identity & Access Management', 6: 'Application Activity' };

interface Violation {
  readonly path: string;
  readonly problem: string;
}

function hasType(type: string, value: unknown): boolean {
  if (type.endsWith('[]')) return Array.isArray(value) && value.every((item) => hasType(type.slice(0, -2), item));
  if (type === 'object') return value !== null && typeof value === 'object';
  return typeof value === type;
}

function check(rule: ObjectRule, value: unknown, path: string, out: Violation[]): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    out.push({ path, problem: 'is not an object' });
    return;
  }
  const record = value as Record<string, unknown>;
  for (const [key, item] of Object.entries(record)) {
    const attribute = rule.attributes[key];
    if (attribute === undefined) {
      out.push({ path: `${path}.${key}`, problem: 'is not an attribute here' });
      continue;
    }
    if (typeof attribute === 'string') {
      if (!hasType(attribute, item)) out.push({ path: `${path}.${key}`, problem: `is not a ${attribute}` });
      continue;
    }
    const child = OBJECTS[attribute.object];
    if (child === undefined) continue;
    if (attribute.array === true) {
      if (!Array.isArray(item)) out.push({ path: `${path}.${key}`, problem: 'is not an array' });
      else item.forEach((element: unknown, i) => check(child, element, `${path}.${key}[${i}]`, out));
    } else {
      check(child, item, `${path}.${key}`, out);
    }
  }
  for (const key of rule.required ?? []) {
    if (!(key in record)) out.push({ path: `${path}.${key}`, problem: 'is required' });
  }
  if (rule.atLeastOne !== undefined && !rule.atLeastOne.some((key) => key in record)) {
    out.push({ path, problem: `needs one of ${rule.atLeastOne.join(', ')}` });
  }
  for (const [key, { sibling, captions }] of Object.entries(rule.enums ?? {})) {
    const id = record[key];
    if (id === undefined) continue;
    if (typeof id !== 'number' || (id !== OTHER && captions[id] === undefined)) {
      out.push({ path: `${path}.${key}`, problem: `${JSON.stringify(id)} is not in the enum` });
    } else if (id !== OTHER && sibling in record && record[sibling] !== captions[id]) {
      out.push({ path: `${path}.${sibling}`, problem: `is ${JSON.stringify(record[sibling])}, not "${captions[id]}"` });
    }
  }
}

/** What the schema would say about one OCSF event. */
function violations(ocsf: Record<string, unknown>): Violation[] {
  const out: Violation[] = [];
  const classUid = ocsf['class_uid'];
  const rule = typeof classUid === 'number' ? CLASSES[classUid] : undefined;
  if (rule === undefined) return [{ path: 'class_uid', problem: `${String(classUid)} is not a class checked here` }];
  const profiles = (ocsf['metadata'] as { profiles?: unknown } | undefined)?.profiles;
  const named = Array.isArray(profiles) ? (profiles as unknown[]) : [];
  let attributes = { ...BASE, ...rule.attributes };
  for (const profile of named) {
    const added = typeof profile === 'string' ? PROFILES[profile] : undefined;
    if (added === undefined) {
      out.push({
        path: 'ocsf.metadata.profiles',
        problem: `names ${JSON.stringify(profile)}, not a profile checked here`,
      });
      continue;
    }
    attributes = { ...attributes, ...added.attributes };
    for (const key of added.required ?? []) {
      if (!(key in ocsf)) out.push({ path: `ocsf.${key}`, problem: `is required by the ${String(profile)} profile` });
    }
  }
  const activityId = ocsf['activity_id'];
  check(
    {
      attributes,
      required: [...BASE_REQUIRED, ...(rule.required ?? [])],
      ...(rule.atLeastOne === undefined ? {} : { atLeastOne: rule.atLeastOne }),
      enums: {
        ...rule.enums,
        activity_id: { sibling: 'activity_name', captions: { 0: 'Unknown', ...rule.activities } },
        severity_id: { sibling: 'severity', captions: SEVERITIES },
        status_id: { sibling: 'status', captions: STATUSES },
      },
    },
    ocsf,
    'ocsf',
    out,
  );
  if (ocsf['class_name'] !== rule.name) out.push({ path: 'ocsf.class_name', problem: `is not "${rule.name}"` });
  if (ocsf['category_uid'] !== rule.category) out.push({ path: 'ocsf.category_uid', problem: "is not the class's" });
  if (ocsf['category_name'] !== CATEGORIES[rule.category]) {
    out.push({ path: 'ocsf.category_name', problem: `is not "${CATEGORIES[rule.category] ?? ''}"` });
  }
  if (typeof activityId !== 'number' || ocsf['type_uid'] !== rule.uid * 100 + activityId) {
    out.push({ path: 'ocsf.type_uid', problem: 'is not class_uid × 100 + activity_id' });
  }
  return out;
}

const ROOT = dirname(fileURLToPath(import.meta.url));

function goldenFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return goldenFiles(path);
    return name.endsWith('.expected.json') ? [path] : [];
  });
}

/** The OCSF events a golden file holds: one event, a list of them, or a rejection (none). */
function eventsOf(value: unknown): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) {
    const ocsf = (item as { ocsf?: unknown } | null)?.ocsf;
    if (ocsf !== null && typeof ocsf === 'object') events.push(ocsf as Record<string, unknown>);
  }
  return events;
}

describe('OCSF 1.9.0 conformance of the golden events', () => {
  const files = goldenFiles(ROOT);

  it('finds the golden files of every mapper', () => {
    const events = files.flatMap((file) => eventsOf(JSON.parse(readFileSync(file, 'utf8'))));
    const classes = new Set(events.map((event) => event['class_uid']));
    expect([...classes].sort()).toEqual([3002, 3004, 3006, 3007, 6003]);
  });

  for (const file of files) {
    it(`${relative(ROOT, file)} breaks no rule`, () => {
      const events = eventsOf(JSON.parse(readFileSync(file, 'utf8')));
      const found = events.flatMap((event, i) => violations(event).map((v) => `#${i} ${v.path} ${v.problem}`));
      expect(found).toEqual([]);
    });
  }
});

const ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
const meta = (dataset: string) => ({ sourceName: 'cf-main', accountId: ACCOUNT_ID, dataset });
const AT = '2026-11-20T09:15:02Z';

function inventoryCases(): [string, NormalizedEvent[]][] {
  const changeMeta = { ...meta('inventory'), takenAt: Date.parse(AT), previousTakenAt: null };
  return INVENTORY_KINDS.map((kind) => {
    const on: InventoryEntity = { kind, id: 'x1', name: '', attributes: { enabled: true, revoked_at: null } };
    const off: InventoryEntity = { ...on, attributes: { enabled: false, revoked_at: AT } };
    const other: InventoryEntity = { ...on, id: 'x2' };
    return [
      `inventory ${kind} created, disabled, enabled and deleted`,
      [
        ...diffInventory([on], [off], changeMeta),
        ...diffInventory([off], [on], changeMeta),
        ...diffInventory([other], [on], changeMeta),
      ],
    ];
  });
}

/** The least each mapper accepts: every optional field missing or empty. */
function sparseCases(): [string, NormalizedEvent | Rejected][] {
  return [
    ['an Access record with only created_at', normalizeAccessRequest({ created_at: AT }, meta('access_requests'))],
    [
      'an Access record whose fields are all empty',
      normalizeAccessRequest(
        {
          action: '',
          app_domain: '',
          app_uid: '',
          connection: '',
          created_at: AT,
          ip_address: '',
          ray_id: '',
          user_email: '',
        },
        meta('access_requests'),
      ),
    ],
    ['an audit v1 entry with only id and when', normalizeAuditLog({ id: 'a1', when: AT }, meta('audit_logs'))],
    [
      'an audit v2 entry with only id and action.time',
      normalizeAuditLog({ id: 'a2', action: { time: AT } }, meta('audit_logs')),
    ],
    [
      'an audit v1 entry by Cloudflare itself about a resource without id',
      normalizeAuditLog(
        { id: 'a3', when: AT, actor: { id: '', ip: '', type: 'Cloudflare' }, resource: { type: 'zone' } },
        meta('audit_logs'),
      ),
    ],
    ...['USER', 'GROUP', 'ROLE', ''].map((type): [string, NormalizedEvent | Rejected] => [
      `a SCIM record of type ${JSON.stringify(type)} with nothing else`,
      normalizeScimUpdate({ logged_at: AT, resource_type: type, request_method: 'PATCH' }, meta('scim_updates')),
    ]),
  ];
}

describe('OCSF 1.9.0 conformance of sparse records', () => {
  for (const [name, result] of sparseCases()) {
    it(`maps ${name} to a valid event`, () => {
      if (isRejected(result)) throw new Error(`rejected: ${result.reason}`);
      expect(violations(result.ocsf).map((v) => `${v.path} ${v.problem}`)).toEqual([]);
    });
  }
  for (const [name, events] of inventoryCases()) {
    it(`maps ${name} to valid events`, () => {
      expect(events.length).toBe(4);
      const found = events.flatMap((event, i) => violations(event.ocsf).map((v) => `#${i} ${v.path} ${v.problem}`));
      expect(found).toEqual([]);
    });
  }
});

describe('the conformance rules themselves', () => {
  // Each of these broke a rule in an earlier zerotrail; the checker has to keep seeing it.
  const valid = (): Record<string, unknown> => {
    const result = normalizeAuditLog({ id: 'a1', when: AT, owner: { id: ACCOUNT_ID } }, meta('audit_logs'));
    if (isRejected(result)) throw new Error(result.reason);
    return structuredClone(result.ocsf);
  };
  const cases: [string, (event: Record<string, unknown>) => void, string][] = [
    ['an actor with only an IdP', (e) => (e['actor'] = { idp: { uid: 'i1' } }), 'ocsf.actor needs one of'],
    [
      'cloud without the Cloud profile',
      (e) => delete (e['metadata'] as Record<string, unknown>)['profiles'],
      'ocsf.cloud is not an attribute here',
    ],
    ['an empty source endpoint', (e) => (e['src_endpoint'] = {}), 'ocsf.src_endpoint needs one of'],
    [
      'a user with only a type',
      (e) => (e['actor'] = { user: { type: 'System', type_id: 3 } }),
      'ocsf.actor.user needs',
    ],
    ['a resource with only a type', (e) => (e['resources'] = [{ type: 'zone' }]), 'ocsf.resources[0] needs'],
    [
      'a type that is not its caption',
      (e) => (e['actor'] = { user: { name: 'Cloudflare', type: 'Cloudflare', type_id: 3 } }),
      'ocsf.actor.user.type is "Cloudflare", not "System"',
    ],
    ['a missing required attribute', (e) => delete e['api'], 'ocsf.api is required'],
  ];
  for (const [name, breakIt, expected] of cases) {
    it(`reports ${name}`, () => {
      const event = valid();
      expect(violations(event)).toEqual([]);
      breakIt(event);
      expect(
        violations(event)
          .map((v) => `${v.path} ${v.problem}`)
          .join('\n'),
      ).toContain(expected);
    });
  }
});
