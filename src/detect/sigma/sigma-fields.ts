import type { NormalizedEvent } from '../../core/event.js';

/** The groups of datasets a Sigma `logsource.service` selects; see sigma-logsource.ts. */
export const SIGMA_SERVICES = ['access', 'scim', 'audit', 'inventory'] as const;
export type SigmaService = (typeof SIGMA_SERVICES)[number];

const ALL: readonly SigmaService[] = SIGMA_SERVICES;

/** One field a Sigma rule may name, resolved. */
export interface SigmaField {
  /** The name zerotrail documents for it (an alias resolves to its field's name). */
  readonly name: string;
  /** Which services' events can carry it; a rule naming it under no such service is refused. */
  readonly services: readonly SigmaService[];
  /**
   * True for the flat, indexed fields: there null means "not known" and the field counts as absent. Paths into
   * the OCSF event or the raw record exist whenever their key does, even with a null value.
   */
  readonly flat: boolean;
  /** The value, a list of values when the path crosses a list, or undefined when absent. */
  readonly read: (event: NormalizedEvent) => unknown;
}

interface FlatSpec {
  readonly services: readonly SigmaService[];
  readonly describe: string;
  readonly read: (event: NormalizedEvent) => string | number | null;
}

/**
 * The flat fields of every event, by the names the search language uses. `time` is left out on purpose: a
 * rule selects events by what they say, and `timeframe` covers time.
 */
export const SIGMA_FLAT_FIELDS: Readonly<Record<string, FlatSpec>> = {
  id: { services: ALL, describe: 'zerotrail event id', read: (event) => event.id },
  source: { services: ALL, describe: 'name of the zerotrail data source', read: (event) => event.sourceName },
  account_id: { services: ALL, describe: 'Cloudflare account id', read: (event) => event.accountId },
  dataset: {
    services: ALL,
    describe: 'dataset the event came from (access_requests, scim_updates, audit_logs, groups, …)',
    read: (event) => event.dataset,
  },
  class_uid: { services: ALL, describe: 'OCSF class (3002, 3004, 3006, 3007, 6003)', read: (event) => event.classUid },
  activity: {
    services: ALL,
    describe: 'activity in lower case: logon, logoff, create, update, delete, enable, disable, add_user, …, other',
    read: (event) => event.activity,
  },
  outcome: { services: ALL, describe: 'success, failure or unknown', read: (event) => event.outcome },
  user: {
    services: ['access', 'scim', 'audit', 'inventory'],
    describe:
      'e-mail in lower case: who logged in (access), the SCIM user (scim), the administrator (audit), the Access user changed (inventory)',
    read: (event) => event.user,
  },
  src_ip: {
    services: ['access', 'audit'],
    describe: 'source IP address, canonical form',
    read: (event) => event.srcIp,
  },
  country: {
    services: ['access'],
    describe: 'two-letter country code of the source, upper case',
    read: (event) => event.country,
  },
  app: {
    services: ['access', 'inventory'],
    describe: 'Access application domain (access) or name (inventory changes of apps)',
    read: (event) => event.app,
  },
  app_uid: { services: ['access', 'inventory'], describe: 'Access application id', read: (event) => event.appUid },
  idp: {
    services: ['access', 'scim', 'inventory'],
    describe: 'identity provider: the connection type of a login (okta, onetimepin, saml, …) or the provider id',
    read: (event) => event.idp,
  },
  ray_id: { services: ['access', 'audit'], describe: 'Cloudflare Ray ID of the request', read: (event) => event.rayId },
};

/** The search language's friendly names (store/query-language.ts), so analysts write rules as they search. */
export const SIGMA_FIELD_ALIASES: Readonly<Record<string, string>> = {
  email: 'user',
  'user.email': 'user',
  'user.email_addr': 'user',
  'actor.user.email_addr': 'user',
  ip: 'src_ip',
  ip_address: 'src_ip',
  'src_endpoint.ip': 'src_ip',
  status: 'outcome',
  application: 'app',
  app_domain: 'app',
  connection: 'idp',
  action: 'activity',
  ray: 'ray_id',
  'country.code': 'country',
  account: 'account_id',
};

interface PathSpec {
  readonly services: readonly SigmaService[];
  readonly describe: string;
}

const ENTITY_OBJECTS: readonly (readonly [string, string, readonly string[]])[] = [
  ['user', 'an Access user', ['uid', 'name', 'email_addr', 'full_name']],
  ['group', 'an Access group', ['uid', 'name', 'type']],
  ['org', 'the Zero Trust organization', ['uid', 'name']],
  ['policy', 'an Access policy or a Gateway rule', ['uid', 'name', 'type']],
  ['device', 'a device', ['uid', 'name']],
];

function entityPaths(prefix: 'entity' | 'updated_entity', what: string): Record<string, PathSpec> {
  const paths: Record<string, PathSpec> = {
    [`${prefix}.uid`]: { services: ['inventory'], describe: `id of the ${what}` },
    [`${prefix}.name`]: { services: ['inventory'], describe: `name of the ${what}` },
    [`${prefix}.type`]: {
      services: ['inventory'],
      describe: `OCSF type of the ${what}: User, Group, Policy, …, else its kind`,
    },
    [`${prefix}.type_id`]: {
      services: ['inventory'],
      describe: `OCSF type of the ${what}: 1 device, 2 user, 3 group, 4 organization, 5 policy, 99 other`,
    },
  };
  for (const [object, label, keys] of ENTITY_OBJECTS) {
    for (const key of keys) {
      paths[`${prefix}.${object}.${key}`] = {
        services: ['inventory'],
        describe: `${key} of the ${what} when it is ${label}`,
      };
    }
  }
  return paths;
}

/** Paths into the OCSF event (`ocsf`), as the normalizers write them; see docs/ocsf-mapping.md. */
export const SIGMA_OCSF_PATHS: Readonly<Record<string, PathSpec>> = {
  activity_id: { services: ALL, describe: 'OCSF activity id' },
  activity_name: { services: ALL, describe: 'OCSF activity name (Logon, Create, Disable, Add User, …)' },
  category_uid: { services: ALL, describe: 'OCSF category (3 IAM, 6 application activity)' },
  category_name: { services: ALL, describe: 'OCSF category name' },
  class_name: { services: ALL, describe: 'OCSF class name (Authentication, User Management, API Activity, …)' },
  type_uid: { services: ALL, describe: 'OCSF type: class_uid × 100 + activity_id' },
  type_name: { services: ALL, describe: 'OCSF type name' },
  severity_id: { services: ALL, describe: 'OCSF event severity id' },
  severity: { services: ALL, describe: 'OCSF event severity (Informational, Low)' },
  status_id: { services: ALL, describe: 'OCSF status id (1 success, 2 failure, 0 unknown)' },
  message: { services: ALL, describe: 'one-line description of the event' },
  status_detail: { services: ['scim'], describe: 'error description of a failed SCIM request' },
  'metadata.version': { services: ALL, describe: 'OCSF version' },
  'metadata.product.name': { services: ALL, describe: 'always Cloudflare Zero Trust' },
  'metadata.product.feature.name': { services: ALL, describe: 'Access, Audit Logs, Gateway or Devices' },
  'metadata.log_name': { services: ALL, describe: 'the dataset' },
  'metadata.log_provider': { services: ALL, describe: 'Cloudflare API, or zerotrail inventory snapshots' },
  'metadata.tenant_uid': { services: ALL, describe: 'Cloudflare account id' },
  'metadata.labels': { services: ALL, describe: 'labels, e.g. source:NAME' },
  'metadata.original_time': {
    services: ['access', 'scim', 'audit'],
    describe: 'the time exactly as Cloudflare wrote it',
  },
  'metadata.uid': { services: ['access', 'audit'], describe: 'Ray ID (access) or audit log entry id (audit)' },
  'metadata.event_code': {
    services: ['access', 'scim', 'audit'],
    describe: 'Cloudflare action (login, logout), SCIM method (POST, PATCH, …) or audit action type (token_create, …)',
  },
  'metadata.log_version': { services: ['audit'], describe: 'v1 or v2: which audit log API the entry came from' },
  'user.name': { services: ['access', 'scim'], describe: 'user name as Cloudflare or the SCIM request wrote it' },
  'user.uid': {
    services: ['access', 'scim'],
    describe: 'Access user id (access, from the inventory) or Cloudflare resource id (scim)',
  },
  'user.uid_alt': { services: ['scim'], describe: "the identity provider's id for the user" },
  'user.full_name': { services: ['access', 'scim'], describe: 'display name' },
  'user.groups.uid': { services: ['access'], describe: 'ids of the Access groups whose rules include the user' },
  'user.groups.name': { services: ['access'], describe: 'names of the Access groups whose rules include the user' },
  'src_endpoint.location.country': { services: ['access'], describe: 'same as country' },
  'service.name': { services: ['access'], describe: 'Access application domain or name' },
  'service.uid': { services: ['access'], describe: 'Access application id' },
  'dst_endpoint.hostname': { services: ['access'], describe: 'host name of the Access application' },
  auth_protocol: { services: ['access'], describe: 'SAML, OpenID, or the connection type (okta, onetimepin, …)' },
  auth_protocol_id: { services: ['access'], describe: 'OCSF protocol id (5 SAML, 4 OpenID, 99 other)' },
  is_remote: { services: ['access'], describe: 'always true for Access logins' },
  'enrichments.name': {
    services: ['access'],
    describe: 'event attribute an enrichment explains (service.uid, user.email_addr, …)',
  },
  'enrichments.value': { services: ['access'], describe: 'value of that attribute' },
  'enrichments.type': { services: ['access'], describe: 'application, identity_provider, user or group_membership' },
  'enrichments.data.name': { services: ['access'], describe: 'name of the inventory object the enrichment found' },
  'enrichments.data.type': {
    services: ['access'],
    describe: 'type of that object (application or identity provider type)',
  },
  'enrichments.data.uid': { services: ['access'], describe: 'id of that object' },
  'actor.idp.uid': { services: ['scim'], describe: 'identity provider that sent the SCIM request' },
  'group.uid': { services: ['scim'], describe: 'Cloudflare id of the SCIM group' },
  'group.name': { services: ['scim'], describe: 'name of the SCIM group' },
  'users.uid': { services: ['scim'], describe: 'members added to or removed from a group' },
  'users.name': { services: ['scim'], describe: 'names of those members' },
  'actor.user.uid': { services: ['audit'], describe: 'id of who made the API call' },
  'actor.user.name': {
    services: ['audit'],
    describe: 'e-mail of who made the API call, as written; without one, its actor type (Cloudflare)',
  },
  'actor.user.type': {
    services: ['audit'],
    describe: "User, System, Service, else Cloudflare's word (cloudflare_admin, …)",
  },
  'actor.user.type_id': { services: ['audit'], describe: 'OCSF user type (1 user, 3 system, 4 service, 99 other)' },
  'api.operation': { services: ['audit'], describe: 'audit description (v2) or action type (v1), e.g. token_create' },
  'api.service.name': { services: ['audit'], describe: 'Cloudflare product touched (v2)' },
  'api.request.uid': { services: ['audit'], describe: 'Ray ID of the API call' },
  'resources.uid': { services: ['audit'], describe: 'id of the resource changed, and of its zone' },
  'resources.type': {
    services: ['audit'],
    describe: 'type of the resource changed, as Cloudflare names it (access_app, gateway_rule, …)',
  },
  'resources.name': { services: ['audit'], describe: 'zone name' },
  'http_request.http_method': { services: ['audit'], describe: 'HTTP method of the API call (v2)' },
  'http_request.url.url_string': { services: ['audit'], describe: 'URI of the API call (v2)' },
  'http_request.url.path': { services: ['audit'], describe: 'path of the API call (v2)' },
  'http_request.url.query_string': { services: ['audit'], describe: 'query string of the API call (v2)' },
  'http_request.user_agent': { services: ['audit'], describe: 'user agent of the API call (v2)' },
  'http_request.uid': { services: ['audit'], describe: 'Ray ID of the API call (v2)' },
  'http_response.code': { services: ['audit'], describe: 'HTTP status of the API call (v2)' },
  'cloud.provider': { services: ['audit'], describe: 'always Cloudflare' },
  'cloud.account.uid': { services: ['audit'], describe: 'account id' },
  'cloud.account.name': { services: ['audit'], describe: 'account name (v2)' },
  ...entityPaths('entity', 'inventory object (as it was before an update)'),
  'entity.type_id': {
    services: ['scim', 'inventory'],
    describe: 'OCSF type of the entity: 1 device, 2 user, 3 group, 4 organization, 5 policy, 99 other',
  },
  'entity.uid': { services: ['scim', 'inventory'], describe: 'id of the SCIM resource or inventory object' },
  'entity.name': { services: ['scim', 'inventory'], describe: 'name of the SCIM resource or inventory object' },
  'entity.type': {
    services: ['scim', 'inventory'],
    describe:
      "SCIM resource type (Unknown when absent), or the inventory object's OCSF type: User, Group, Policy, …, else its kind",
  },
  ...entityPaths('updated_entity', 'inventory object after an update'),
  start_time: { services: ['inventory'], describe: 'time of the previous snapshot (the change happened after it)' },
  end_time: { services: ['inventory'], describe: 'time of the snapshot that saw the change' },
};

interface PrefixSpec {
  readonly services: readonly SigmaService[];
  readonly describe: string;
  readonly root: (event: NormalizedEvent) => unknown;
}

/** Open namespaces: everything under these prefixes is a field, named by the keys of the data below it. */
export const SIGMA_FIELD_PREFIXES: Readonly<Record<string, PrefixSpec>> = {
  'raw.': {
    services: ALL,
    describe:
      "the Cloudflare record exactly as the API returned it, by Cloudflare's own names (raw.allowed, raw.action.type); for inventory changes raw.before.* and raw.after.*",
    root: (event) => event.raw,
  },
  'unmapped.': {
    services: ALL,
    describe: 'record fields the OCSF mapping keeps aside (ocsf.unmapped)',
    root: (event) => event.ocsf['unmapped'],
  },
  'entity.data.': {
    services: ['inventory'],
    describe: 'attributes of the inventory object (all of them on create or delete, the changed ones before an update)',
    root: (event) => (event.ocsf['entity'] as Record<string, unknown> | undefined)?.['data'],
  },
  'updated_entity.data.': {
    services: ['inventory'],
    describe: 'changed attributes of the inventory object after an update',
    root: (event) => (event.ocsf['updated_entity'] as Record<string, unknown> | undefined)?.['data'],
  },
  'resources.data.': {
    services: ['audit'],
    describe: 'request, response and scope (v2) or old_value and new_value (v1) of the audited change',
    root: (event) => {
      const resources = event.ocsf['resources'];
      return Array.isArray(resources)
        ? (resources as unknown[]).map((resource) => (resource as Record<string, unknown> | null)?.['data'])
        : undefined;
    },
  },
};

/** Resolves a field name of a rule, or null when zerotrail has no such field. Names are case-sensitive. */
export function resolveSigmaField(name: string): SigmaField | null {
  const target = SIGMA_FIELD_ALIASES[name] ?? name;
  const flat = Object.hasOwn(SIGMA_FLAT_FIELDS, target) ? SIGMA_FLAT_FIELDS[target] : undefined;
  if (flat !== undefined) return { name: target, services: flat.services, flat: true, read: flat.read };
  const path = Object.hasOwn(SIGMA_OCSF_PATHS, name) ? SIGMA_OCSF_PATHS[name] : undefined;
  if (path !== undefined) {
    const segments = name.split('.');
    return { name, services: path.services, flat: false, read: (event) => readPath(event.ocsf, segments) };
  }
  for (const [prefix, spec] of Object.entries(SIGMA_FIELD_PREFIXES)) {
    if (!name.startsWith(prefix) || name.length === prefix.length) continue;
    const segments = name.slice(prefix.length).split('.');
    if (segments.some((segment) => segment === '')) return null;
    return { name, services: spec.services, flat: false, read: (event) => readPath(spec.root(event), segments) };
  }
  return null;
}

/** Every field name a rule may use, aliases included, for "did you mean" hints and the documentation test. */
export function sigmaFieldNames(): string[] {
  return [...Object.keys(SIGMA_FLAT_FIELDS), ...Object.keys(SIGMA_FIELD_ALIASES), ...Object.keys(SIGMA_OCSF_PATHS)];
}

const MISSING = undefined;

/**
 * Follows `segments` from `root`. A list met on the way is crossed element by element, so the result is then a
 * list of the values found. A key may itself contain dots (inventory change paths such as `config.client_id`),
 * so the longest run of segments that names a key is taken first.
 */
export function readPath(root: unknown, segments: readonly string[]): unknown {
  if (segments.length === 0) return root;
  if (Array.isArray(root)) {
    const found: unknown[] = [];
    for (const item of root as unknown[]) {
      const value = readPath(item, segments);
      if (value === MISSING) continue;
      if (Array.isArray(value)) found.push(...(value as unknown[]));
      else found.push(value);
    }
    return found.length === 0 ? MISSING : found;
  }
  if (root === null || typeof root !== 'object') return MISSING;
  const record = root as Record<string, unknown>;
  for (let take = segments.length; take >= 1; take -= 1) {
    const key = take === 1 ? (segments[0] ?? '') : segments.slice(0, take).join('.');
    if (Object.hasOwn(record, key)) return readPath(record[key], segments.slice(take));
  }
  return MISSING;
}
