import type { NormalizedEvent, Outcome } from '../../core/event.js';
import { canonicalIp } from '../canonical-ip.js';
import { eventId } from '../event-id.js';
import { flatActivity, ocsfBase } from '../ocsf-base.js';
import { rfc3339ToMs } from '../../core/rfc3339-to-ms.js';
import type { Normalizer } from '../schema.js';
import {
  OTHER_ACTIVITY_ID,
  UNKNOWN_NAME,
  asRecord,
  flatString,
  ocsfEmailAddr,
  sanitizeValue,
  wellFormed,
} from '../schema.js';

// OCSF API Activity (Application Activity category). An audit log entry records one call to Cloudflare's
// API, from the dashboard or a client, with its actor, source address, operation, HTTP request and the
// resource it touched: the attributes API Activity is built around. See docs/ocsf-mapping.md.
const CATEGORY_UID = 6;
const CATEGORY_NAME = 'Application Activity';
const CLASS_UID = 6003;
const CLASS_NAME = 'API Activity';

type Shape = 'v1' | 'v2';
type Known = Readonly<Record<string, readonly string[] | null>>;

// Documented fields per shape: spec-2024 `aaa_audit-logs` (v1) and AuditLogV2 in the additions file (v2).
// A key maps to its documented sub-fields, or to null when its value is taken whole.
const KNOWN: Readonly<Record<Shape, Known>> = {
  v1: {
    id: null,
    action: ['result', 'type'],
    actor: ['email', 'id', 'ip', 'type'],
    interface: null,
    metadata: null,
    newValue: null,
    oldValue: null,
    owner: ['id'],
    resource: ['id', 'type'],
    when: null,
  },
  v2: {
    id: null,
    account: ['id', 'name'],
    action: ['description', 'result', 'time', 'type'],
    actor: ['context', 'email', 'id', 'ip_address', 'token_id', 'token_name', 'type'],
    raw: ['cf_ray_id', 'method', 'status_code', 'uri', 'user_agent'],
    resource: ['id', 'product', 'request', 'response', 'scope', 'type'],
    zone: ['id', 'name'],
  },
};

type Activity = { readonly id: number; readonly name: string };
const CREATE: Activity = { id: 1, name: 'Create' };
const READ: Activity = { id: 2, name: 'Read' };
const UPDATE: Activity = { id: 3, name: 'Update' };
const DELETE: Activity = { id: 4, name: 'Delete' };

// v2 action types are an enum (API-NOTES §2.4: create, delete, view, update).
// Maps rather than object literals, so that a hostile type such as `constructor` finds nothing.
const V2_ACTIVITIES: ReadonlyMap<string, Activity> = new Map([
  ['create', CREATE],
  ['view', READ],
  ['update', UPDATE],
  ['delete', DELETE],
]);

// v1 action types are free text such as `change_setting`, `token_create` or `rotate_api_key`. The first word
// that names a CRUD verb decides; a type with none (`login`) stays Other with its own name.
const V1_VERBS: ReadonlyMap<string, Activity> = new Map([
  ['create', CREATE],
  ['add', CREATE],
  ['new', CREATE],
  ['view', READ],
  ['read', READ],
  ['get', READ],
  ['list', READ],
  ['export', READ],
  ['update', UPDATE],
  ['change', UPDATE],
  ['edit', UPDATE],
  ['modify', UPDATE],
  ['set', UPDATE],
  ['rotate', UPDATE],
  ['rename', UPDATE],
  ['enable', UPDATE],
  ['disable', UPDATE],
  ['delete', DELETE],
  ['remove', DELETE],
  ['purge', DELETE],
  ['revoke', DELETE],
]);

const SYSTEM_USER_TYPE_ID = 3;
const OTHER_USER_TYPE_ID = 99;
// The captions of the user type ids, which `type` has to repeat; for Other (99) `type` is the record's own word.
const USER_TYPE_CAPTIONS: ReadonlyMap<number, string> = new Map([
  [1, 'User'],
  [3, 'System'],
  [4, 'Service'],
]);

// User type ids of the OCSF user object: 1 User, 3 System, 4 Service, 99 Other. A Cloudflare administrator
// (v1 `admin`, v2 `cloudflare_admin`) is Cloudflare staff, not an admin of the account, so Other.
const ACTOR_TYPES: ReadonlyMap<string, number> = new Map([
  ['user', 1],
  ['Cloudflare', 3],
  ['system', 3],
  ['account', 4],
  ['delegated_service', 4],
  ['admin', 99],
  ['cloudflare_admin', 99],
]);

const RESULT_WORDS = { success: 'succeeded', failure: 'failed', unknown: 'with unknown result' } as const;

type Unmapped = [string, unknown][];

/** Reads documented fields, sending any value of the wrong type to `unmapped` under its path. */
function stringAt(parent: Readonly<Record<string, unknown>> | null, path: string, unmapped: Unmapped): string | null {
  const key = path.slice(path.lastIndexOf('.') + 1);
  const value = parent?.[key];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'string') return value;
  unmapped.push([path, value]);
  return null;
}

function objectAt(record: Readonly<Record<string, unknown>>, key: string): Readonly<Record<string, unknown>> | null {
  return asRecord(record[key]);
}

function collectUnknown(record: Readonly<Record<string, unknown>>, known: Known, unmapped: Unmapped): void {
  for (const [key, value] of Object.entries(record)) {
    if (!Object.hasOwn(known, key)) {
      unmapped.push([key, value]);
      continue;
    }
    const fields = known[key];
    if (fields === null || fields === undefined || value === null || value === undefined) continue;
    const nested = asRecord(value);
    if (nested === null) {
      unmapped.push([key, value]);
      continue;
    }
    for (const [sub, item] of Object.entries(nested)) {
      if (!fields.includes(sub)) unmapped.push([`${key}.${sub}`, item]);
    }
  }
}

function shapeOf(record: Readonly<Record<string, unknown>>): Shape | null {
  const action = objectAt(record, 'action');
  if (action !== null && action['time'] !== undefined) return 'v2';
  return record['when'] !== undefined ? 'v1' : null;
}

function activityOf(shape: Shape, type: string | null): Activity | null {
  if (type === null) return null;
  if (shape === 'v2') return V2_ACTIVITIES.get(type.toLowerCase()) ?? null;
  for (const word of type.toLowerCase().split(/[^a-z]+/)) {
    const verb = V1_VERBS.get(word);
    if (verb !== undefined) return verb;
  }
  return null;
}

function outcomeOf(result: unknown): Outcome {
  if (typeof result === 'boolean') return result ? 'success' : 'failure';
  if (typeof result !== 'string') return 'unknown';
  const lower = result.toLowerCase();
  return lower === 'success' || lower === 'true'
    ? 'success'
    : lower === 'failure' || lower === 'false'
      ? 'failure'
      : 'unknown';
}

// `raw.uri` is the request path, possibly with a query; a full URL loses its scheme and host here.
function urlOf(uri: string): Record<string, unknown> {
  const withoutHost = uri.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  const queryAt = withoutHost.indexOf('?');
  const path = queryAt === -1 ? withoutHost : withoutHost.slice(0, queryAt);
  const query = queryAt === -1 ? '' : withoutHost.slice(queryAt + 1);
  return {
    url_string: wellFormed(uri),
    ...(path === '' ? {} : { path: wellFormed(path) }),
    ...(query === '' ? {} : { query_string: wellFormed(query) }),
  };
}

function compact(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  return Object.fromEntries(entries.filter(([, value]) => value !== null && value !== undefined));
}

/**
 * Maps one Cloudflare account audit log entry to OCSF API Activity (6003). Accepts both the Audit Logs v1
 * shape (GET /accounts/{id}/audit_logs) and the v2 shape (GET /accounts/{id}/logs/audit); `metadata.log_version`
 * says which. Rejects what has no string `id` or no usable time (`when` in v1, `action.time` in v2).
 */
export const normalizeAuditLog: Normalizer = (raw, meta) => {
  const record = asRecord(raw);
  if (record === null) return { rejected: true, reason: 'record is not a JSON object' };
  const id = record['id'];
  if (id === undefined || id === null || id === '') return { rejected: true, reason: 'id is missing' };
  if (typeof id !== 'string') return { rejected: true, reason: 'id is not a string' };
  const shape = shapeOf(record);
  if (shape === null) return { rejected: true, reason: 'neither action.time (v2) nor when (v1) is present' };

  const unmapped: Unmapped = [];
  collectUnknown(record, KNOWN[shape], unmapped);
  const action = objectAt(record, 'action');
  const actor = objectAt(record, 'actor');
  const resource = objectAt(record, 'resource');

  const timePath = shape === 'v2' ? 'action.time' : 'when';
  const timeText = shape === 'v2' ? action?.['time'] : record['when'];
  if (typeof timeText !== 'string') return { rejected: true, reason: `${timePath} is not a string` };
  const time = rfc3339ToMs(timeText);
  if (time === null) return { rejected: true, reason: `${timePath} is not an RFC 3339 date-time` };

  const type = stringAt(action, 'action.type', unmapped);
  const description = shape === 'v2' ? stringAt(action, 'action.description', unmapped) : null;
  const result = action?.['result'];
  const outcome = outcomeOf(result);
  if (result !== undefined && result !== null && outcome === 'unknown') unmapped.push(['action.result', result]);

  const email = stringAt(actor, 'actor.email', unmapped);
  const actorId = stringAt(actor, 'actor.id', unmapped);
  const actorType = stringAt(actor, 'actor.type', unmapped);
  const ipPath = shape === 'v2' ? 'actor.ip_address' : 'actor.ip';
  const ipText = stringAt(actor, ipPath, unmapped);
  const ip = ipText === null ? null : canonicalIp(ipText);
  if (ipText !== null && ip === null) unmapped.push([ipPath, ipText]);
  if (shape === 'v2') {
    // Which credential made the call. OCSF 1.9.0 has no settled place for an API token on the actor.
    for (const key of ['context', 'token_id', 'token_name']) {
      const value = stringAt(actor, `actor.${key}`, unmapped);
      if (value !== null) unmapped.push([`actor.${key}`, value]);
    }
  }

  const resourceId = stringAt(resource, 'resource.id', unmapped);
  const resourceType = stringAt(resource, 'resource.type', unmapped);
  const product = shape === 'v2' ? stringAt(resource, 'resource.product', unmapped) : null;

  const activity = activityOf(shape, type);
  const activityId = activity?.id ?? OTHER_ACTIVITY_ID;
  const activityName = activity?.name ?? type ?? 'Other';

  const resources: Record<string, unknown>[] = [];
  // What the entry says about the resource besides its id and type: [key in `data`, path in the record, value].
  const resourceParts: [string, string, unknown][] =
    shape === 'v2'
      ? [
          ['request', 'resource.request', resource?.['request']],
          ['response', 'resource.response', resource?.['response']],
          ['scope', 'resource.scope', resource?.['scope']],
        ]
      : [
          ['old_value', 'oldValue', record['oldValue']],
          ['new_value', 'newValue', record['newValue']],
        ];
  const resourceData = compact(resourceParts.map(([key, , value]) => [key, value]));
  if (resourceId !== null) {
    resources.push({
      uid: wellFormed(resourceId),
      ...(resourceType === null ? {} : { type: wellFormed(resourceType) }),
      ...(Object.keys(resourceData).length === 0 ? {} : { data: sanitizeValue(resourceData) }),
    });
  } else {
    // OCSF's resource needs a uid or a name, and an entry without a resource id (a create that failed, a view of
    // the account) has neither: what it says about the resource stays in unmapped, under its paths in the record.
    if (resourceType !== null) unmapped.push(['resource.type', resourceType]);
    for (const [, path, value] of resourceParts) {
      if (value !== null && value !== undefined) unmapped.push([path, value]);
    }
  }

  let rayId: string | null = null;
  let shapeSpecific: Record<string, unknown> = {};
  let cloud: Record<string, unknown> | null = null;
  if (shape === 'v2') {
    const rawPart = objectAt(record, 'raw');
    const zone = objectAt(record, 'zone');
    const account = objectAt(record, 'account');
    rayId = stringAt(rawPart, 'raw.cf_ray_id', unmapped);
    const method = stringAt(rawPart, 'raw.method', unmapped);
    const uri = stringAt(rawPart, 'raw.uri', unmapped);
    const userAgent = stringAt(rawPart, 'raw.user_agent', unmapped);
    const statusCode = rawPart?.['status_code'];
    const code = typeof statusCode === 'number' && Number.isInteger(statusCode) ? statusCode : null;
    if (statusCode !== undefined && statusCode !== null && code === null)
      unmapped.push(['raw.status_code', statusCode]);
    const zoneId = stringAt(zone, 'zone.id', unmapped);
    const zoneName = stringAt(zone, 'zone.name', unmapped);
    if (zoneId !== null || zoneName !== null) {
      resources.push({
        ...(zoneId === null ? {} : { uid: wellFormed(zoneId) }),
        ...(zoneName === null ? {} : { name: wellFormed(zoneName) }),
        type: 'zone',
      });
    }
    const accountId = stringAt(account, 'account.id', unmapped);
    const accountName = stringAt(account, 'account.name', unmapped);
    shapeSpecific = {
      ...(method === null && uri === null && userAgent === null && rayId === null
        ? {}
        : {
            http_request: {
              ...(method === null ? {} : { http_method: wellFormed(method.toUpperCase()) }),
              ...(uri === null ? {} : { url: urlOf(uri) }),
              ...(userAgent === null ? {} : { user_agent: wellFormed(userAgent) }),
              ...(rayId === null ? {} : { uid: wellFormed(rayId) }),
            },
          }),
      ...(code === null ? {} : { http_response: { code } }),
    };
    if (accountId !== null || accountName !== null) {
      cloud = {
        provider: 'Cloudflare',
        account: {
          ...(accountId === null ? {} : { uid: wellFormed(accountId) }),
          ...(accountName === null ? {} : { name: wellFormed(accountName) }),
        },
      };
    }
  } else {
    const owner = objectAt(record, 'owner');
    const ownerId = stringAt(owner, 'owner.id', unmapped);
    for (const key of ['interface', 'metadata']) {
      if (record[key] !== undefined && record[key] !== null) unmapped.push([key, record[key]]);
    }
    if (ownerId !== null) cloud = { provider: 'Cloudflare', account: { uid: wellFormed(ownerId) } };
  }

  const actorTypeId = actorType === null ? null : (ACTOR_TYPES.get(actorType) ?? OTHER_USER_TYPE_ID);
  // OCSF's user needs a uid or a name. Cloudflare's own actions name neither, only the actor type ("Cloudflare"),
  // which then names the user; an entry that names no actor at all says so.
  const userName = email ?? (actorId === null ? (actorType ?? UNKNOWN_NAME) : null);
  const caption = actorTypeId === null ? undefined : USER_TYPE_CAPTIONS.get(actorTypeId);
  const user = {
    ...(actorId === null ? {} : { uid: wellFormed(actorId) }),
    ...(userName === null ? {} : { name: wellFormed(userName) }),
    ...(email === null ? {} : ocsfEmailAddr(email)),
    ...(actorType === null ? {} : { type: caption ?? wellFormed(actorType), type_id: actorTypeId }),
  };
  // The caption drops Cloudflare's own word where it says more than the caption's case (account,
  // delegated_service, Cloudflare); unmapped keeps it.
  if (actorType !== null && caption !== undefined && caption.toLowerCase() !== actorType.toLowerCase()) {
    unmapped.push(['actor.type', actorType]);
  }
  // API Activity requires a source endpoint, which needs an address or a name. Cloudflare's own services act
  // from no client address; any other actor without a usable one gets an explicit unknown.
  const srcEndpoint =
    ip !== null ? { ip } : actorTypeId === SYSTEM_USER_TYPE_ID ? { svc_name: 'Cloudflare' } : { name: UNKNOWN_NAME };
  const message =
    description !== null
      ? flatString(description)
      : `Cloudflare account ${type === null ? 'change' : flatString(type)} ${RESULT_WORDS[outcome]}`;

  const ocsf: Record<string, unknown> = {
    ...ocsfBase({
      categoryUid: CATEGORY_UID,
      categoryName: CATEGORY_NAME,
      classUid: CLASS_UID,
      className: CLASS_NAME,
      activityId,
      activityName,
      time,
      outcome,
      message,
      meta,
      feature: 'Audit Logs',
      originalTime: timeText,
      uid: id,
      eventCode: type,
      logVersion: shape,
      // `cloud` belongs to the Cloud profile, which the event has to name to carry it.
      ...(cloud === null ? {} : { profiles: ['cloud'] }),
    }),
    actor: { user },
    api: {
      operation: wellFormed(description ?? type ?? 'unknown'),
      ...(product === null ? {} : { service: { name: wellFormed(product) } }),
      ...(rayId === null ? {} : { request: { uid: wellFormed(rayId) } }),
    },
    src_endpoint: srcEndpoint,
    ...(resources.length === 0 ? {} : { resources }),
    ...shapeSpecific,
    ...(cloud === null ? {} : { cloud }),
    ...(unmapped.length === 0 ? {} : { unmapped: sanitizeValue(Object.fromEntries(unmapped)) }),
  };

  const event: NormalizedEvent = {
    // The record's own id identifies it; v1 and v2 ids have different forms, and the shape keeps them apart.
    id: eventId(time, [meta.accountId, meta.dataset, shape, id]),
    time,
    sourceName: meta.sourceName,
    accountId: meta.accountId,
    dataset: meta.dataset,
    classUid: CLASS_UID,
    activity: flatActivity(activityId, activityName),
    outcome,
    user: email === null ? null : flatString(email.toLowerCase()),
    srcIp: ip,
    country: null,
    app: null,
    appUid: null,
    idp: null,
    rayId: rayId === null ? null : flatString(rayId),
    ocsf,
    raw,
  };
  return event;
};
