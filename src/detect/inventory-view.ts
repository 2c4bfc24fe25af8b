import type { NormalizedEvent } from '../core/event.js';
import type { SearchFilter } from '../store/search-query.js';
import type { Store } from '../store/store.js';
import type { InventoryView } from './rule.js';

/**
 * Inventory attributes that mean a user may no longer sign in. Cloudflare keeps a removed seat's user in the
 * Access user list with `access_seat: false`.
 */
const INACTIVE_ATTRIBUTES: readonly (readonly [string, unknown, string])[] = [
  ['access_seat', false, 'the inventory shows no Access seat'],
  ['active', false, 'the inventory marks the user inactive'],
  ['suspended', true, 'the inventory marks the user suspended'],
];

// Class of the inventory change events (OCSF Entity Management).
const CHANGE_CLASS_UID = 3004;
const PAGE = 1_000;

interface Inactive {
  readonly reason: string;
  readonly attribute: string;
  readonly value: unknown;
  readonly dataset: string;
  /** From when logins count: when a snapshot first showed the user so, as far as the stored changes tell. */
  since: number;
}

/** Reads the stored Access users once, for one evaluation pass. */
export async function loadInventoryView(store: Store): Promise<InventoryView> {
  const users = await store.listInventory('user');
  const inactive = new Map<string, Inactive>();
  for (const user of users) {
    const email = typeof user.attributes['email'] === 'string' ? user.attributes['email'] : user.name;
    for (const [attribute, value, reason] of INACTIVE_ATTRIBUTES) {
      if (user.attributes[attribute] === value) {
        inactive.set(keyOf(user.sourceName, email), {
          reason,
          attribute,
          value,
          dataset: user.dataset,
          since: user.takenAt,
        });
        break;
      }
    }
  }
  await findWhenInactive(store, inactive);
  return {
    // Only a login after the snapshot that first showed the user inactive counts: earlier ones may predate it.
    inactiveUser: (sourceName, user, atMs) => {
      const found = inactive.get(keyOf(sourceName, user));
      return found !== undefined && atMs >= found.since ? found.reason : null;
    },
  };
}

function keyOf(sourceName: string, email: string): string {
  return `${sourceName}\u0000${email.toLowerCase()}`;
}

/**
 * Moves each user's `since` back from the latest snapshot to the first one that showed the user inactive, read
 * from the stored change events of the user (newest first): the one that made the attribute so, or failing
 * that, the earliest snapshot a change event shows it was so already. Without this, every later snapshot would
 * move the bound past the logins a scheduled run collects with it, and none would count.
 */
async function findWhenInactive(store: Store, inactive: ReadonlyMap<string, Inactive>): Promise<void> {
  if (inactive.size === 0) return;
  const emails = [...new Set([...inactive.keys()].map((key) => key.slice(key.indexOf('\u0000') + 1)))];
  const filter: SearchFilter = {
    kind: 'and',
    left: { kind: 'term', field: 'class_uid', value: String(CHANGE_CLASS_UID), wildcard: false },
    right: anyOf(emails.map((email): SearchFilter => ({ kind: 'term', field: 'user', value: email, wildcard: false }))),
  };
  const settled = new Set<string>();
  let after: string | undefined;
  for (;;) {
    const page = await store.search(
      { filter, order: 'desc' },
      { limit: PAGE, ...(after === undefined ? {} : { after }) },
    );
    for (const event of page.events) {
      if (event.user === null) continue;
      const key = keyOf(event.sourceName, event.user);
      const found = inactive.get(key);
      if (found === undefined || found.dataset !== event.dataset || settled.has(key)) continue;
      const { before, after: then } = sidesOf(event);
      if (then?.[found.attribute] !== found.value) {
        // The user was not inactive after this change: a newer one made it so, and was read already.
        settled.add(key);
      } else if (before?.[found.attribute] === found.value) {
        // Already so at the snapshot before this one; an older change may tell more.
        found.since = Math.min(found.since, previousSnapshotOf(event) ?? event.time);
      } else {
        found.since = Math.min(found.since, event.time);
        settled.add(key);
      }
    }
    if (page.nextPage === null || settled.size === inactive.size) return;
    after = page.nextPage;
  }
}

function anyOf(filters: readonly SearchFilter[]): SearchFilter {
  const [first, ...rest] = filters;
  if (first === undefined) throw new Error('anyOf needs at least one filter');
  return rest.reduce<SearchFilter>((left, right) => ({ kind: 'or', left, right }), first);
}

type Attributes = Readonly<Record<string, unknown>>;

// A change event keeps the entity's attributes before and after it under `raw` (see normalize/inventory-changes.ts).
function sidesOf(event: NormalizedEvent): { before: Attributes | null; after: Attributes | null } {
  const raw = event.raw as { before?: unknown; after?: unknown };
  const side = (value: unknown): Attributes | null =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Attributes) : null;
  return { before: side(raw.before), after: side(raw.after) };
}

function previousSnapshotOf(event: NormalizedEvent): number | null {
  const start = (event.ocsf as { start_time?: unknown }).start_time;
  return typeof start === 'number' ? start : null;
}

export const EMPTY_INVENTORY: InventoryView = { inactiveUser: () => null };
