import { z } from 'zod';
import { wholeNumberText } from '../../core/number-text.js';
import { eventToRecord } from '../../core/event-export.js';
import type { NormalizedEvent } from '../../core/event.js';
import { FLAT_FIELD_MAX_BYTES } from '../../normalize/schema.js';
import type { SearchFilter } from '../../store/search-query.js';
import type { Store, StoredInventoryEntity } from '../../store/store.js';
import { defineRoute } from './route.js';

const READERS = ['admin', 'analyst', 'viewer'] as const;

export const TIMELINE_KINDS = ['user', 'ip', 'app', 'device'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

// One screen of the timeline; the rest comes page by page through `after`.
const MAX_PAGE = 500;
// Top values shown per summary list; an entity with more is rare and the page says "top".
const TOP_VALUES = 20;
// Change events shown; inventory changes are few, so this is every one in practice.
const CHANGE_LIMIT = 50;
// Device change events carry the device only inside the OCSF entity, so they are read and matched here;
// the devices dataset changes rarely, so this bound covers months of history.
const DEVICE_CHANGE_SCAN = 2000;
// OCSF Entity Management: the class of every inventory change event.
const CHANGE_CLASS_UID = '3004';

const term = (
  field: 'user' | 'src_ip' | 'app' | 'app_uid' | 'dataset' | 'outcome' | 'class_uid',
  value: string,
): SearchFilter => ({
  kind: 'term',
  field,
  value,
  wildcard: false,
});
const and = (left: SearchFilter, right: SearchFilter): SearchFilter => ({ kind: 'and', left, right });
const or = (left: SearchFilter, right: SearchFilter): SearchFilter => ({ kind: 'or', left, right });
const not = (operand: SearchFilter): SearchFilter => ({ kind: 'not', operand });

/** What the timeline of one entity is made of: which events are its activity and which are changes to it. */
interface TimelineSubject {
  /** Its activity (logins, requests); null when nothing can match, such as an unknown device. */
  readonly activity: SearchFilter | null;
  readonly changes: (store: Store) => Promise<readonly NormalizedEvent[]>;
  readonly device: { readonly id: string; readonly name: string; readonly user: string | null } | null;
}

async function subjectOf(store: Store, kind: TimelineKind, value: string): Promise<TimelineSubject> {
  switch (kind) {
    case 'user':
      return {
        activity: term('user', value),
        changes: (s) => latestChanges(s, and(term('dataset', 'access_users'), term('user', value))),
        device: null,
      };
    case 'ip':
      // No inventory object is keyed by an address, so an IP has activity only.
      return { activity: term('src_ip', value), changes: () => Promise.resolve([]), device: null };
    case 'app': {
      // Events name an application by id and, when the inventory knows it, by name: either finds it.
      const either = or(term('app_uid', value), term('app', value));
      return {
        activity: either,
        changes: (s) => latestChanges(s, and(term('dataset', 'apps'), either)),
        device: null,
      };
    }
    case 'device': {
      // A device is looked up in the device inventory by its id or, case-insensitively, by its name. Access
      // events do not name the device, so its activity is that of the user it belongs to: the last user seen
      // on it (`last_seen_user.email`, /devices/physical-devices) or its owner (`user.email`, the deprecated
      // /devices list). Its change events are the devices dataset's events whose OCSF entity is this device.
      const device = findDevice(await store.listInventory('device'), value);
      if (device === undefined) return { activity: null, changes: () => Promise.resolve([]), device: null };
      const user = deviceUser(device);
      return {
        activity: user === null ? null : term('user', user),
        changes: (s) => deviceChanges(s, device.id),
        device: { id: device.id, name: device.name, user },
      };
    }
  }
}

function findDevice(devices: readonly StoredInventoryEntity[], value: string): StoredInventoryEntity | undefined {
  const lower = value.toLowerCase();
  return devices.find((d) => d.id === value) ?? devices.find((d) => d.name.toLowerCase() === lower);
}

function deviceUser(device: StoredInventoryEntity): string | null {
  for (const key of ['last_seen_user', 'user']) {
    const holder = device.attributes[key];
    if (typeof holder === 'object' && holder !== null) {
      const email = (holder as Record<string, unknown>)['email'];
      if (typeof email === 'string' && email !== '') return email.toLowerCase();
    }
  }
  return null;
}

function latestChanges(store: Store, filter: SearchFilter): Promise<readonly NormalizedEvent[]> {
  return store
    .search({ filter: and(term('class_uid', CHANGE_CLASS_UID), filter), order: 'desc' }, { limit: CHANGE_LIMIT })
    .then((page) => page.events);
}

async function deviceChanges(store: Store, deviceId: string): Promise<readonly NormalizedEvent[]> {
  const page = await store.search(
    { filter: and(term('class_uid', CHANGE_CLASS_UID), term('dataset', 'devices')), order: 'desc' },
    { limit: DEVICE_CHANGE_SCAN },
  );
  const entityUid = (event: NormalizedEvent, key: string): unknown => {
    const entity = event.ocsf[key];
    return typeof entity === 'object' && entity !== null ? (entity as Record<string, unknown>)['uid'] : undefined;
  };
  return page.events
    .filter((event) => entityUid(event, 'entity') === deviceId || entityUid(event, 'updated_entity') === deviceId)
    .slice(0, CHANGE_LIMIT);
}

async function topValues(
  store: Store,
  filter: SearchFilter,
  groupBy: 'country' | 'idp' | 'app',
): Promise<readonly { readonly value: string; readonly count: number }[]> {
  const buckets = await store.aggregate({ filter, groupBy, limit: TOP_VALUES + 1 });
  return buckets
    .flatMap((b) => (b.key === null || b.key === '' ? [] : [{ value: b.key, count: b.count }]))
    .slice(0, TOP_VALUES);
}

async function summaryOf(store: Store, filter: SearchFilter | null) {
  if (filter === null) {
    return { firstSeen: null, lastSeen: null, events: 0, allowed: 0, denied: 0, countries: [], idps: [], apps: [] };
  }
  const [first, last, total, allowed, denied, countries, idps, apps] = await Promise.all([
    store.search({ filter, order: 'asc' }, { limit: 1 }),
    store.search({ filter, order: 'desc' }, { limit: 1 }),
    store.count({ filter }),
    store.count({ filter: and(filter, term('outcome', 'success')) }),
    store.count({ filter: and(filter, term('outcome', 'failure')) }),
    topValues(store, filter, 'country'),
    topValues(store, filter, 'idp'),
    topValues(store, filter, 'app'),
  ]);
  const iso = (event: NormalizedEvent | undefined): string | null =>
    event === undefined ? null : new Date(event.time).toISOString();
  return {
    firstSeen: iso(first.events[0]),
    lastSeen: iso(last.events[0]),
    events: total,
    allowed,
    denied,
    countries,
    idps,
    apps,
  };
}

export const TIMELINE_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/timeline/:kind/:value',
  summary:
    'Timeline of one user, IP, application or device: summary, the change events that touched it, and its events in time order (later pages: events only)',
  access: READERS,
  // Any stored value: flat fields hold at most FLAT_FIELD_MAX_BYTES of UTF-8, so no more characters than that.
  params: z.object({ kind: z.enum(TIMELINE_KINDS), value: z.string().min(1).max(FLAT_FIELD_MAX_BYTES) }),
  query: z.object({
    limit: wholeNumberText((n) => n.min(1).max(MAX_PAGE)).default(100),
    after: z.string().max(1000).optional(),
    order: z.enum(['asc', 'desc']).default('asc'),
  }),
  handler: async ({ params, query, services }) => {
    const store = services.app.store;
    const subject = await subjectOf(store, params.kind, params.value);
    // Inventory change events are listed apart; the activity and its counts are what the entity did.
    const activity = subject.activity === null ? null : and(subject.activity, not(term('class_uid', CHANGE_CLASS_UID)));
    // A later page (`after`) carries events only: the summary and changes do not move with paging, and
    // leaving them out keeps "load more" as cheap as one indexed range read.
    const first = query.after === undefined;
    const [summary, changes, page] = await Promise.all([
      first ? summaryOf(store, activity) : null,
      first ? subject.changes(store) : null,
      activity === null
        ? Promise.resolve({ events: [], nextPage: null })
        : store.search(
            { filter: activity, order: query.order },
            { limit: query.limit, ...(query.after === undefined ? {} : { after: query.after }) },
          ),
    ]);
    return {
      kind: params.kind,
      value: params.value,
      device: subject.device,
      summary,
      changes: changes?.map(eventToRecord) ?? null,
      events: page.events.map(eventToRecord),
      nextPage: page.nextPage,
    };
  },
});
