import type { NormalizedEvent, Outcome } from '../../core/event.js';
import { eventId } from '../event-id.js';
import { flatActivity, identityPart, ocsfBase, stringField } from '../ocsf-base.js';
import { rfc3339ToMs } from '../../core/rfc3339-to-ms.js';
import type { Normalizer } from '../schema.js';
import {
  OTHER_ACTIVITY_ID,
  UNKNOWN_NAME,
  asRecord,
  flatString,
  isOcsfEmail,
  ocsfEmailAddr,
  sanitizeValue,
  wellFormed,
} from '../schema.js';

// OCSF 1.9.0 deprecates Account Change (3001) in favour of User Management (3007), so SCIM changes to a
// user map to User Management and changes to a group to Group Management (3006). A resource type we do not
// know becomes Entity Management (3004) rather than being dropped. See docs/ocsf-mapping.md.
const CATEGORY_UID = 3;
const CATEGORY_NAME = 'Identity & Access Management';
const USER_MANAGEMENT = { uid: 3007, name: 'User Management' } as const;
const GROUP_MANAGEMENT = { uid: 3006, name: 'Group Management' } as const;
const ENTITY_MANAGEMENT = { uid: 3004, name: 'Entity Management' } as const;

// The documented fields (SCIMUpdateLog in shared/cloudflare/openapi-zero-trust-additions.json).
const STRING_KEYS = [
  'cf_resource_id',
  'error_description',
  'idp_id',
  'idp_resource_id',
  'logged_at',
  'request_body',
  'request_method',
  'resource_group_name',
  'resource_type',
  'resource_user_email',
  'status',
] as const;
const MAPPED_KEYS: ReadonlySet<string> = new Set(STRING_KEYS);

// A SCIM body is a user or group resource or a PatchOp; anything near this size is not one, and parsing it
// would only cost time. The record keeps the body in `raw` either way.
export const SCIM_BODY_MAX_PARSE_CHARS = 1_048_576;
// Members named in one PATCH: an IdP batches at most a few hundred; more is kept in `raw` only.
const MAX_MEMBERS = 1000;
const REDACTED = '[redacted]';

/** `verb` is how the message says it, where the activity's name does not read well after the subject. */
type Activity = { readonly id: number; readonly name: string; readonly verb?: string };
const USER_ACTIVITIES = {
  create: { id: 1, name: 'Create' },
  update: { id: 2, name: 'Update' },
  delete: { id: 3, name: 'Delete' },
  enable: { id: 4, name: 'Enable' },
  disable: { id: 5, name: 'Disable' },
} as const satisfies Record<string, Activity>;
const GROUP_ACTIVITIES = {
  addUser: { id: 3, name: 'Add User' },
  removeUser: { id: 4, name: 'Remove User' },
  delete: { id: 5, name: 'Delete' },
  create: { id: 6, name: 'Create' },
  update: { id: 9, name: 'Update Group', verb: 'update' },
} as const satisfies Record<string, Activity>;
const ENTITY_ACTIVITIES = {
  create: { id: 1, name: 'Create' },
  update: { id: 3, name: 'Update' },
  delete: { id: 4, name: 'Delete' },
} as const satisfies Record<string, Activity>;

const RESULT_WORDS = { success: 'succeeded', failure: 'failed', unknown: 'with unknown result' } as const;

interface ScimMember {
  readonly uid: string;
  readonly name: string | null;
}

/** What a SCIM request body says, as far as the activity and the OCSF objects need it. */
interface ScimIntent {
  /** The `active` value the request sets, or null when it sets none. */
  readonly active: boolean | null;
  /** Set for a PATCH whose every operation adds members, or whose every operation removes them. */
  readonly membership: 'add' | 'remove' | null;
  readonly members: readonly ScimMember[];
  readonly userName: string | null;
  readonly displayName: string | null;
}

const NO_INTENT: ScimIntent = { active: null, membership: null, members: [], userName: null, displayName: null };

type ParsedBody =
  { readonly value: unknown; readonly error: null } | { readonly value: undefined; readonly error: string };

function parseBody(body: unknown): ParsedBody {
  if (body === undefined || body === null || body === '') return { value: undefined, error: null };
  // Documented as a JSON string; should the API ever send the object itself, it is read the same way.
  if (typeof body === 'object') return { value: body, error: null };
  if (typeof body !== 'string') return { value: undefined, error: 'request_body is not a string' };
  if (body.length > SCIM_BODY_MAX_PARSE_CHARS) {
    return { value: undefined, error: `request_body is longer than ${SCIM_BODY_MAX_PARSE_CHARS} characters` };
  }
  try {
    return { value: JSON.parse(body) as unknown, error: null };
  } catch {
    // A broken body is a fact about the record, not a fault: the event says so and `raw` keeps the text.
    return { value: undefined, error: 'request_body is not valid JSON' };
  }
}

// Entra ID sends `"value": "False"` in PATCH operations, so strings count as well as booleans.
function booleanOf(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return null;
  const lower = value.trim().toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : null;
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function membersOf(value: unknown, out: ScimMember[]): void {
  if (!Array.isArray(value)) return;
  for (const item of value as unknown[]) {
    if (out.length >= MAX_MEMBERS) return;
    const member = asRecord(item);
    const uid = member === null ? null : nonEmptyString(member['value']);
    if (member !== null && uid !== null) out.push({ uid, name: nonEmptyString(member['display']) });
  }
}

// RFC 7644 §3.5.2.2: a remove may name the member in a filter path, `members[value eq "<id>"]`.
const MEMBER_FILTER = /^members\[\s*value\s+eq\s+"([^"]*)"\s*\]$/i;

function patchIntent(body: Readonly<Record<string, unknown>>): ScimIntent {
  const operations = body['Operations'] ?? body['operations'];
  if (!Array.isArray(operations)) return NO_INTENT;
  let active: boolean | null = null;
  const members: ScimMember[] = [];
  const memberOps = new Set<string>();
  let otherOps = 0;
  for (const item of operations as unknown[]) {
    const operation = asRecord(item);
    if (operation === null) {
      otherOps += 1;
      continue;
    }
    const op = typeof operation['op'] === 'string' ? operation['op'].toLowerCase() : '';
    const path = typeof operation['path'] === 'string' ? operation['path'].trim() : null;
    const value = operation['value'];
    if (path !== null && path.toLowerCase() === 'active') {
      active = booleanOf(value) ?? active;
      otherOps += 1;
    } else if (path !== null && path.toLowerCase().startsWith('members')) {
      memberOps.add(op);
      const filtered = MEMBER_FILTER.exec(path);
      if (filtered?.[1] !== undefined && members.length < MAX_MEMBERS) members.push({ uid: filtered[1], name: null });
      membersOf(value, members);
    } else if (path === null && asRecord(value) !== null) {
      // Without a path the value holds the attributes to change (RFC 7644 §3.5.2.1, .3).
      const attributes = asRecord(value) ?? {};
      for (const [key, item] of Object.entries(attributes)) {
        if (key.toLowerCase() === 'active') {
          active = booleanOf(item) ?? active;
          otherOps += 1;
        } else if (key.toLowerCase() === 'members') {
          memberOps.add(op);
          membersOf(item, members);
        } else {
          otherOps += 1;
        }
      }
    } else {
      otherOps += 1;
    }
  }
  const only = memberOps.size === 1 && otherOps === 0 ? [...memberOps][0] : undefined;
  const membership = only === 'add' ? 'add' : only === 'remove' ? 'remove' : null;
  return { active, membership, members, userName: null, displayName: null };
}

function resourceIntent(body: Readonly<Record<string, unknown>>): ScimIntent {
  const name = asRecord(body['name']);
  const members: ScimMember[] = [];
  membersOf(body['members'], members);
  return {
    active: booleanOf(body['active']),
    membership: null,
    members,
    userName: nonEmptyString(body['userName']),
    displayName: nonEmptyString(body['displayName']) ?? (name === null ? null : nonEmptyString(name['formatted'])),
  };
}

function intentOf(method: string | null, body: unknown): ScimIntent {
  const record = asRecord(body);
  if (record === null) return NO_INTENT;
  return method === 'PATCH' ? patchIntent(record) : resourceIntent(record);
}

// SCIM user resources may carry a `password` attribute (RFC 7643 §4.1.1). zerotrail keeps it nowhere: neither
// the OCSF copy nor `raw` repeats it (see rawWithoutSecrets).
function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  const record = asRecord(value);
  if (record === null) return value;
  const pathIsPassword = typeof record['path'] === 'string' && record['path'].trim().toLowerCase() === 'password';
  return Object.fromEntries(
    Object.entries(record).map(([key, item]) => {
      if (key.toLowerCase() === 'password' || (pathIsPassword && key === 'value')) return [key, REDACTED];
      return [key, redactSecrets(item)];
    }),
  );
}

function userActivity(method: string | null, intent: ScimIntent): Activity | null {
  switch (method) {
    case 'POST':
      return USER_ACTIVITIES.create;
    case 'DELETE':
      return USER_ACTIVITIES.delete;
    case 'PUT':
      // A PUT replaces the whole user, so `active: true` there is the usual state, not an enable.
      return intent.active === false ? USER_ACTIVITIES.disable : USER_ACTIVITIES.update;
    case 'PATCH':
      if (intent.active === false) return USER_ACTIVITIES.disable;
      return intent.active === true ? USER_ACTIVITIES.enable : USER_ACTIVITIES.update;
    default:
      return null;
  }
}

function groupActivity(method: string | null, intent: ScimIntent): Activity | null {
  switch (method) {
    case 'POST':
      return GROUP_ACTIVITIES.create;
    case 'DELETE':
      return GROUP_ACTIVITIES.delete;
    case 'PUT':
      return GROUP_ACTIVITIES.update;
    case 'PATCH':
      if (intent.membership === 'add') return GROUP_ACTIVITIES.addUser;
      return intent.membership === 'remove' ? GROUP_ACTIVITIES.removeUser : GROUP_ACTIVITIES.update;
    default:
      return null;
  }
}

function entityActivity(method: string | null): Activity | null {
  if (method === 'POST') return ENTITY_ACTIVITIES.create;
  if (method === 'PUT' || method === 'PATCH') return ENTITY_ACTIVITIES.update;
  return method === 'DELETE' ? ENTITY_ACTIVITIES.delete : null;
}

function outcomeOf(status: string | null): Outcome {
  const upper = status?.toUpperCase();
  return upper === 'SUCCESS' ? 'success' : upper === 'FAILURE' ? 'failure' : 'unknown';
}

/**
 * Maps one Cloudflare Access SCIM update log (GET /accounts/{id}/access/logs/scim/updates) to OCSF User
 * Management (3007) for USER resources, Group Management (3006) for GROUP resources and Entity Management
 * (3004) for any other resource type. Rejects only what has no usable `logged_at`.
 */
export const normalizeScimUpdate: Normalizer = (raw, meta) => {
  const record = asRecord(raw);
  if (record === null) return { rejected: true, reason: 'record is not a JSON object' };
  const loggedAt = record['logged_at'];
  if (loggedAt === undefined || loggedAt === null) return { rejected: true, reason: 'logged_at is missing' };
  if (typeof loggedAt !== 'string') return { rejected: true, reason: 'logged_at is not a string' };
  const time = rfc3339ToMs(loggedAt);
  if (time === null) return { rejected: true, reason: 'logged_at is not an RFC 3339 date-time' };

  const cfResourceId = stringField(record, 'cf_resource_id');
  const idpId = stringField(record, 'idp_id');
  const idpResourceId = stringField(record, 'idp_resource_id');
  const method = stringField(record, 'request_method');
  const methodKey = method === null ? null : method.trim().toUpperCase();
  const resourceType = stringField(record, 'resource_type');
  const typeKey = resourceType?.trim().toUpperCase() ?? null;
  const email = stringField(record, 'resource_user_email');
  const groupName = stringField(record, 'resource_group_name');
  const status = stringField(record, 'status');
  const errorDescription = stringField(record, 'error_description');
  const outcome = outcomeOf(status);

  const body = parseBody(record['request_body']);
  const intent = body.error === null ? intentOf(methodKey, body.value) : NO_INTENT;

  const unmapped: [string, unknown][] = [];
  for (const [key, value] of Object.entries(record)) {
    if (!MAPPED_KEYS.has(key)) unmapped.push([key, value]);
  }
  for (const key of STRING_KEYS) {
    const value = record[key];
    if (key !== 'request_body' && value !== undefined && value !== null && typeof value !== 'string') {
      unmapped.push([key, value]);
    }
  }
  if (body.value !== undefined) unmapped.push(['request_body', redactSecrets(sanitizeValue(body.value))]);
  else if (typeof record['request_body'] === 'number' || typeof record['request_body'] === 'boolean') {
    unmapped.push(['request_body', record['request_body']]);
  }
  if (body.error !== null) unmapped.push(['request_body_error', body.error]);

  const subject = typeKey === 'USER' ? 'user' : typeKey === 'GROUP' ? 'group' : 'resource';
  const activity =
    typeKey === 'USER'
      ? userActivity(methodKey, intent)
      : typeKey === 'GROUP'
        ? groupActivity(methodKey, intent)
        : entityActivity(methodKey);
  const activityId = activity?.id ?? OTHER_ACTIVITY_ID;
  const activityName = activity?.name ?? method ?? 'Other';
  const ocsfClass = typeKey === 'USER' ? USER_MANAGEMENT : typeKey === 'GROUP' ? GROUP_MANAGEMENT : ENTITY_MANAGEMENT;
  const verb = activity === null ? 'request' : (activity.verb ?? activity.name.toLowerCase());

  let target: Record<string, unknown>;
  // OCSF's user, group and managed entity each need a name or a uid: where the record and its body give
  // neither, the name says it is unknown rather than the object being left empty.
  const nameOrUnknown = (name: string | null): string | null => name ?? (cfResourceId === null ? UNKNOWN_NAME : null);
  if (typeKey === 'USER') {
    const name = nameOrUnknown(intent.userName ?? email);
    target = {
      user: {
        ...(cfResourceId === null ? {} : { uid: wellFormed(cfResourceId) }),
        ...(idpResourceId === null ? {} : { uid_alt: wellFormed(idpResourceId) }),
        ...(name === null ? {} : { name: wellFormed(name) }),
        ...(email === null ? {} : ocsfEmailAddr(email)),
        ...(intent.displayName === null ? {} : { full_name: wellFormed(intent.displayName) }),
      },
    };
    if (groupName !== null) unmapped.push(['resource_group_name', groupName]);
    // Named by its userName, the user keeps an e-mail OCSF does not take as one only here.
    if (email !== null && name !== email && !isOcsfEmail(email)) unmapped.push(['resource_user_email', email]);
  } else if (typeKey === 'GROUP') {
    const name = nameOrUnknown(groupName ?? intent.displayName);
    const listed = activityId === GROUP_ACTIVITIES.addUser.id || activityId === GROUP_ACTIVITIES.removeUser.id;
    target = {
      group: {
        ...(cfResourceId === null ? {} : { uid: wellFormed(cfResourceId) }),
        ...(name === null ? {} : { name: wellFormed(name) }),
      },
      ...(listed && intent.members.length > 0
        ? {
            users: intent.members.map((member) => ({
              uid: wellFormed(member.uid),
              ...(member.name === null ? {} : { name: wellFormed(member.name) }),
            })),
          }
        : {}),
    };
    if (idpResourceId !== null) unmapped.push(['idp_resource_id', idpResourceId]);
    if (email !== null) unmapped.push(['resource_user_email', email]);
  } else {
    // A body names a resource by displayName (RFC 7643 §4.2 for groups, and most extensions follow it).
    const name = nameOrUnknown(email ?? groupName ?? intent.displayName ?? intent.userName);
    target = {
      entity: {
        ...(cfResourceId === null ? {} : { uid: wellFormed(cfResourceId) }),
        ...(name === null ? {} : { name: wellFormed(name) }),
        // Other (99) with Cloudflare's word for the type; Unknown (0) when the record gives none.
        ...(resourceType === null ? { type: 'Unknown', type_id: 0 } : { type: wellFormed(resourceType), type_id: 99 }),
      },
    };
    if (idpResourceId !== null) unmapped.push(['idp_resource_id', idpResourceId]);
  }

  const ocsf: Record<string, unknown> = {
    ...ocsfBase({
      categoryUid: CATEGORY_UID,
      categoryName: CATEGORY_NAME,
      classUid: ocsfClass.uid,
      className: ocsfClass.name,
      activityId,
      activityName,
      time,
      outcome,
      message: `SCIM ${subject} ${verb} ${RESULT_WORDS[outcome]}`,
      meta,
      feature: 'Access',
      originalTime: loggedAt,
      eventCode: method,
    }),
    ...(errorDescription === null ? {} : { status_detail: wellFormed(errorDescription) }),
    // The identity provider is the client that sent the SCIM request. OCSF's actor must name an application,
    // user, process or session besides the IdP, so the IdP appears twice: as the application that made the call
    // (`application` replaced `app_uid` in 1.9.0) and as the identity provider it is.
    ...(idpId === null ? {} : { actor: { application: { uid: wellFormed(idpId) }, idp: { uid: wellFormed(idpId) } } }),
    ...target,
    ...(unmapped.length === 0 ? {} : { unmapped: sanitizeValue(Object.fromEntries(unmapped)) }),
  };

  const event: NormalizedEvent = {
    id: eventId(time, [
      meta.accountId,
      meta.dataset,
      time,
      ...STRING_KEYS.filter((key) => key !== 'logged_at').map((key) => identityPart(record[key])),
    ]),
    time,
    sourceName: meta.sourceName,
    accountId: meta.accountId,
    dataset: meta.dataset,
    classUid: ocsfClass.uid,
    activity: flatActivity(activityId, activityName),
    outcome,
    user: email === null ? null : flatString(email.toLowerCase()),
    srcIp: null,
    country: null,
    app: null,
    appUid: null,
    idp: idpId === null ? null : flatString(idpId),
    rayId: null,
    ocsf,
    raw: rawWithoutSecrets(record, body.value),
  };
  return event;
};

/**
 * The record as Cloudflare returned it, except that a request body carrying a password has it replaced: a
 * credential in the store would outlive the account it belonged to. Only then is the body re-serialised; any
 * other record is handed on untouched. The event id is computed from the original, so it does not change.
 */
function rawWithoutSecrets(record: Readonly<Record<string, unknown>>, body: unknown): unknown {
  const text = record['request_body'];
  if (body === undefined || (typeof text === 'string' && !/password/i.test(text))) return record;
  const redacted = redactSecrets(sanitizeValue(body));
  if (JSON.stringify(redacted) === JSON.stringify(sanitizeValue(body))) return record;
  return { ...record, request_body: typeof text === 'string' ? JSON.stringify(redacted) : redacted };
}
