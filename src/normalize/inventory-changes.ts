import type { NormalizedEvent } from '../core/event.js';
import { INVENTORY_KINDS } from '../core/inventory.js';
import type { InventoryEntity, InventoryKind } from '../core/inventory.js';
import { eventId } from './event-id.js';
import { flatActivity, ocsfBase } from './ocsf-base.js';
import { asRecord, flatString, sanitizeValue, wellFormed } from './schema.js';

/** Where a pair of snapshots came from and when they were taken. */
export interface InventoryChangeMeta {
  readonly sourceName: string;
  readonly accountId: string;
  readonly dataset: string;
  /** When the newer snapshot was taken, epoch ms: the time of every change event. */
  readonly takenAt: number;
  /** When the older one was taken; null when unknown. */
  readonly previousTakenAt: number | null;
}

/**
 * Attribute paths, per kind, whose values change without anyone changing configuration: activity
 * timestamps, counters and addresses the API refreshes on its own. A snapshot that differs from the previous
 * one only in these yields no event. A path is dot-separated; `*` as a segment matches any key or array
 * index, and a segment ending in `*` matches every key that starts with what comes before it.
 */
export const VOLATILE_FIELDS: Readonly<Record<InventoryKind, readonly string[]>> = {
  // last_successful_login and updated_at move on every login; active_device_count with every enrolment.
  user: ['last_successful_login', 'active_device_count', 'updated_at'],
  organization: ['updated_at'],
  identity_provider: [],
  group: ['updated_at'],
  gateway_account: [],
  gateway_configuration: ['updated_at'],
  gateway_rule: ['updated_at'],
  // Both device endpoints: last_seen (/devices) and last_seen_at, last_seen_user, last_seen_registration
  // (/devices/physical-devices) follow use; ip and public_ip follow the network the device is on.
  device: ['last_seen*', 'updated', 'updated_at', 'ip', 'public_ip'],
  // An application embeds its policies; their timestamps and usage counters are not the application's.
  app: ['updated_at', 'policies.*.updated_at', 'policies.*.app_count'],
  // app_count follows applications attaching the policy, which their own change events record.
  policy: ['updated_at', 'app_count'],
};

// OCSF Entity Management (IAM category). See docs/ocsf-mapping.md.
const CATEGORY_UID = 3;
const CATEGORY_NAME = 'Identity & Access Management';
const CLASS_UID = 3004;
const CLASS_NAME = 'Entity Management';

type Action = 'create' | 'update' | 'delete';
type Activity = { readonly id: number; readonly name: string };
const ACTIVITIES = {
  create: { id: 1, name: 'Create' },
  update: { id: 3, name: 'Update' },
  delete: { id: 4, name: 'Delete' },
} as const satisfies Record<Action, Activity>;

type Verb = 'disabled' | 'enabled' | 'revoked' | 'changed';
// An update the message calls disabled, enabled or revoked is the Entity Management activity of that name;
// a revoked device registration is an unenrolment.
const UPDATE_ACTIVITIES = {
  disabled: { id: 9, name: 'Disable' },
  enabled: { id: 8, name: 'Enable' },
  revoked: { id: 7, name: 'Unenroll' },
  changed: ACTIVITIES.update,
} as const satisfies Record<Verb, Activity>;

interface KindInfo {
  /** What the message calls it; also `entity.type` of an Other kind, and the type of its policy or group. */
  readonly label: string;
  /** managed_entity type_id: 1 Device, 2 User, 3 Group, 4 Organization, 5 Policy, 99 Other. */
  readonly typeId: 1 | 2 | 3 | 4 | 5 | 99;
  readonly feature: 'Access' | 'Gateway' | 'Devices';
}

// managed_entity's `type` is the caption of its type_id, except for Other, where it is the source's own label.
const TYPE_CAPTIONS = { 1: 'Device', 2: 'User', 3: 'Group', 4: 'Organization', 5: 'Policy' } as const;

const KINDS: Readonly<Record<InventoryKind, KindInfo>> = {
  user: { label: 'Access user', typeId: 2, feature: 'Access' },
  organization: { label: 'Zero Trust organization', typeId: 4, feature: 'Access' },
  identity_provider: { label: 'Identity provider', typeId: 99, feature: 'Access' },
  group: { label: 'Access group', typeId: 3, feature: 'Access' },
  gateway_account: { label: 'Gateway account', typeId: 99, feature: 'Gateway' },
  gateway_configuration: { label: 'Gateway configuration', typeId: 99, feature: 'Gateway' },
  gateway_rule: { label: 'Gateway rule', typeId: 5, feature: 'Gateway' },
  device: { label: 'Device', typeId: 1, feature: 'Devices' },
  app: { label: 'Access application', typeId: 99, feature: 'Access' },
  policy: { label: 'Access policy', typeId: 5, feature: 'Access' },
};

const KIND_ORDER: ReadonlyMap<InventoryKind, number> = new Map(INVENTORY_KINDS.map((kind, i) => [kind, i]));

// The message is for people: a long name or value is cut there, never in `entity`.
const MESSAGE_NAME_CHARS = 120;
const MESSAGE_PATH_CHARS = 80;
const MESSAGE_VALUE_CHARS = 60;
const MESSAGE_CHANGES = 3;

/** One changed attribute path; a side is absent when the attribute did not exist on it. */
interface Change {
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

type Pattern = readonly string[];

const VOLATILE_PATTERNS: ReadonlyMap<InventoryKind, readonly Pattern[]> = new Map(
  INVENTORY_KINDS.map((kind) => [kind, VOLATILE_FIELDS[kind].map((path) => path.split('.'))]),
);

function segmentMatches(segment: string, key: string): boolean {
  if (segment === '*') return true;
  return segment.endsWith('*') ? key.startsWith(segment.slice(0, -1)) : segment === key;
}

// Works on sanitized values, whose nesting is capped, so the recursion is bounded.
function withoutVolatile(value: unknown, patterns: readonly Pattern[]): unknown {
  if (patterns.length === 0 || value === null || typeof value !== 'object') return value;
  const kept: [string, unknown][] = [];
  const entries: [string, unknown][] = Array.isArray(value)
    ? (value as unknown[]).map((item, i) => [String(i), item])
    : Object.entries(value);
  for (const [key, item] of entries) {
    let drop = false;
    const rest: Pattern[] = [];
    for (const pattern of patterns) {
      const [head, ...tail] = pattern;
      if (head === undefined || !segmentMatches(head, key)) continue;
      if (tail.length === 0) drop = true;
      else rest.push(tail);
    }
    if (!drop) kept.push([key, withoutVolatile(item, rest)]);
  }
  return Array.isArray(value) ? kept.map(([, item]) => item) : Object.fromEntries(kept);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return (a as unknown[]).every((item, i) => deepEqual(item, (b as unknown[])[i]));
  }
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  const bRecord = b as Record<string, unknown>;
  return aKeys.every(
    (key) => Object.hasOwn(bRecord, key) && deepEqual((a as Record<string, unknown>)[key], bRecord[key]),
  );
}

const PLAIN_SEGMENT = /^[A-Za-z0-9_-]+$/;

function formatPath(segments: readonly string[]): string {
  return segments
    .map((segment, i) =>
      PLAIN_SEGMENT.test(segment) ? `${i === 0 ? '' : '.'}${segment}` : `[${JSON.stringify(segment)}]`,
    )
    .join('');
}

// Objects are compared key by key so a change names the innermost attribute; arrays and scalars are leaves,
// because an element-wise list of an array's changes is harder to read than the array before and after.
function diffValues(before: unknown, after: unknown, path: readonly string[], out: Change[]): void {
  const beforeRecord = asRecord(before);
  const afterRecord = asRecord(after);
  if (beforeRecord !== null && afterRecord !== null) {
    const keys = [...new Set([...Object.keys(beforeRecord), ...Object.keys(afterRecord)])].sort();
    for (const key of keys) {
      const inBefore = Object.hasOwn(beforeRecord, key);
      const inAfter = Object.hasOwn(afterRecord, key);
      const keyPath = [...path, key];
      if (!inBefore) out.push({ path: formatPath(keyPath), after: afterRecord[key] });
      else if (!inAfter) out.push({ path: formatPath(keyPath), before: beforeRecord[key] });
      else diffValues(beforeRecord[key], afterRecord[key], keyPath, out);
    }
    return;
  }
  if (!deepEqual(before, after)) out.push({ path: formatPath(path), before, after });
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function render(change: Change, side: 'before' | 'after'): string {
  if (!Object.hasOwn(change, side)) return '(absent)';
  return clip(JSON.stringify(change[side]) ?? 'null', MESSAGE_VALUE_CHARS);
}

function verbOf(kind: InventoryKind, changes: readonly Change[]): Verb {
  const enabled = changes.find((change) => change.path === 'enabled');
  if (enabled?.before === true && enabled.after === false) return 'disabled';
  if (enabled?.before === false && enabled.after === true) return 'enabled';
  const revoked = changes.find((change) => change.path === 'revoked_at');
  if (kind === 'device' && revoked !== undefined && revoked.after != null && revoked.before == null) return 'revoked';
  // Physical devices carry no revoked_at: revoking a device ends its last active registration.
  const registrations = changes.find((change) => change.path === 'active_registrations');
  if (
    kind === 'device' &&
    typeof registrations?.before === 'number' &&
    registrations.before > 0 &&
    registrations.after === 0
  ) {
    return 'revoked';
  }
  return 'changed';
}

function messageOf(kind: InventoryKind, name: string, action: Action, changes: readonly Change[]): string {
  const subject = `${KINDS[kind].label} ${JSON.stringify(clip(name, MESSAGE_NAME_CHARS))}`;
  if (action !== 'update') return `${subject} ${action === 'create' ? 'created' : 'deleted'}`;
  const shown = changes
    .slice(0, MESSAGE_CHANGES)
    .map(
      (change) => `${clip(change.path, MESSAGE_PATH_CHARS)} ${render(change, 'before')} → ${render(change, 'after')}`,
    );
  const more = changes.length > MESSAGE_CHANGES ? `; and ${changes.length - MESSAGE_CHANGES} more` : '';
  return flatString(`${subject} ${verbOf(kind, changes)}: ${shown.join('; ')}${more}`);
}

function stringAttribute(entity: InventoryEntity, key: string): string | null {
  const value = entity.attributes[key];
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The OCSF managed_entity for one side of a change, with the kind's own object where OCSF has one. */
function managedEntity(entity: InventoryEntity, data: unknown): Record<string, unknown> {
  const info = KINDS[entity.kind];
  const uid = wellFormed(entity.id);
  const name = wellFormed(entity.name);
  let specific: Record<string, unknown> = {};
  switch (info.typeId) {
    case 1:
      specific = { device: { uid, name, type_id: 0, type: 'Unknown' } };
      break;
    case 2: {
      const email = stringAttribute(entity, 'email');
      const fullName = stringAttribute(entity, 'name');
      specific = {
        user: {
          uid,
          name,
          ...(email === null ? {} : { email_addr: wellFormed(email) }),
          ...(fullName === null ? {} : { full_name: wellFormed(fullName) }),
        },
      };
      break;
    }
    // The kind's label is the group's or policy's own type, which keeps an Access policy and a Gateway rule
    // apart now that both are of type Policy.
    case 3:
      specific = { group: { uid, name, type: info.label } };
      break;
    case 4:
      specific = { org: { uid, name } };
      break;
    case 5:
      specific = { policy: { uid, name, type: info.label } };
      break;
    default:
      break;
  }
  const type = info.typeId === 99 ? info.label : TYPE_CAPTIONS[info.typeId];
  return { uid, name, type, type_id: info.typeId, ...specific, data };
}

function flatFields(entity: InventoryEntity): Pick<NormalizedEvent, 'user' | 'app' | 'appUid' | 'idp'> {
  const none = { user: null, app: null, appUid: null, idp: null };
  switch (entity.kind) {
    case 'user': {
      const email = stringAttribute(entity, 'email') ?? entity.name;
      return { ...none, user: email === '' ? null : flatString(email.toLowerCase()) };
    }
    case 'app':
      return { ...none, app: entity.name === '' ? null : flatString(entity.name), appUid: flatString(entity.id) };
    case 'identity_provider':
      return { ...none, idp: flatString(entity.id) };
    default:
      return none;
  }
}

function changeEvent(
  action: Action,
  before: InventoryEntity | null,
  after: InventoryEntity | null,
  what: unknown,
  changes: readonly Change[],
  meta: InventoryChangeMeta,
): NormalizedEvent {
  // One of the two is always set; `after` names the entity when both are.
  const current = (after ?? before) as InventoryEntity;
  const activity = action === 'update' ? UPDATE_ACTIVITIES[verbOf(current.kind, changes)] : ACTIVITIES[action];
  const sides =
    action === 'update' && before !== null && after !== null
      ? {
          entity: managedEntity(
            before,
            Object.fromEntries(changes.flatMap((c) => ('before' in c ? [[c.path, c.before]] : []))),
          ),
          updated_entity: managedEntity(
            after,
            Object.fromEntries(changes.flatMap((c) => ('after' in c ? [[c.path, c.after]] : []))),
          ),
        }
      : { entity: managedEntity(current, sanitizeValue(current.attributes)) };
  const ocsf: Record<string, unknown> = {
    ...ocsfBase({
      categoryUid: CATEGORY_UID,
      categoryName: CATEGORY_NAME,
      classUid: CLASS_UID,
      className: CLASS_NAME,
      activityId: activity.id,
      activityName: activity.name,
      time: meta.takenAt,
      outcome: 'success',
      message: messageOf(current.kind, wellFormed(current.name === '' ? current.id : current.name), action, changes),
      meta,
      feature: KINDS[current.kind].feature,
      logProvider: 'zerotrail inventory snapshots',
    }),
    // The change happened at some moment between the two snapshots.
    ...(meta.previousTakenAt === null ? {} : { start_time: meta.previousTakenAt }),
    end_time: meta.takenAt,
    ...sides,
  };
  const flat = flatFields(current);
  return {
    id: eventId(meta.takenAt, [meta.accountId, meta.dataset, current.kind, current.id, meta.takenAt, action, what]),
    time: meta.takenAt,
    sourceName: meta.sourceName,
    accountId: meta.accountId,
    dataset: meta.dataset,
    classUid: CLASS_UID,
    activity: flatActivity(activity.id, activity.name),
    outcome: 'success',
    user: flat.user,
    srcIp: null,
    country: null,
    app: flat.app,
    appUid: flat.appUid,
    idp: flat.idp,
    rayId: null,
    ocsf,
    raw: { before: before?.attributes ?? null, after: after?.attributes ?? null },
  };
}

/** The entities of one snapshot by kind and id. A kind and id seen twice is one entity; the later copy wins. */
export function byKindAndId(entities: readonly InventoryEntity[]): Map<string, InventoryEntity> {
  return new Map(entities.map((entity) => [`${entity.kind}\u0000${entity.id}`, entity]));
}

function compareEntities(a: InventoryEntity, b: InventoryEntity): number {
  const byKind = (KIND_ORDER.get(a.kind) ?? 0) - (KIND_ORDER.get(b.kind) ?? 0);
  if (byKind !== 0) return byKind;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Whether two copies of one entity differ in nothing but `VOLATILE_FIELDS`, as diffInventory compares them. */
export function sameApartFromVolatile(before: InventoryEntity, after: InventoryEntity): boolean {
  if (before.kind !== after.kind || before.id !== after.id || before.name !== after.name) return false;
  const patterns = VOLATILE_PATTERNS.get(after.kind) ?? [];
  return deepEqual(
    withoutVolatile(sanitizeValue(before.attributes), patterns),
    withoutVolatile(sanitizeValue(after.attributes), patterns),
  );
}

/**
 * The change events that lead from one snapshot of an inventory dataset to the next: one OCSF Entity
 * Management (3004) event per entity added, removed or modified, matched by kind and id. The first snapshot
 * (`before` undefined) and snapshots that differ only in `VOLATILE_FIELDS` yield none. Pure and
 * deterministic: the same snapshots and meta always give the same events with the same ids.
 */
export function diffInventory(
  before: readonly InventoryEntity[] | undefined,
  after: readonly InventoryEntity[],
  meta: InventoryChangeMeta,
): NormalizedEvent[] {
  if (before === undefined) return [];
  const previous = byKindAndId(before);
  const current = byKindAndId(after);
  const pairs: [InventoryEntity | null, InventoryEntity | null][] = [];
  for (const [key, entity] of current) pairs.push([previous.get(key) ?? null, entity]);
  for (const [key, entity] of previous) if (!current.has(key)) pairs.push([entity, null]);
  pairs.sort(([b1, a1], [b2, a2]) => compareEntities((a1 ?? b1) as InventoryEntity, (a2 ?? b2) as InventoryEntity));

  const events: NormalizedEvent[] = [];
  for (const [old, now] of pairs) {
    const kind = (now ?? old)?.kind;
    if (kind === undefined) continue;
    const patterns = VOLATILE_PATTERNS.get(kind) ?? [];
    const oldState = old === null ? null : withoutVolatile(sanitizeValue(old.attributes), patterns);
    const newState = now === null ? null : withoutVolatile(sanitizeValue(now.attributes), patterns);
    if (old === null) {
      events.push(changeEvent('create', null, now, newState, [], meta));
    } else if (now === null) {
      events.push(changeEvent('delete', old, null, oldState, [], meta));
    } else {
      const changes: Change[] = [];
      diffValues(oldState, newState, [], changes);
      if (changes.length > 0) events.push(changeEvent('update', old, now, changes, changes, meta));
    }
  }
  return events;
}
