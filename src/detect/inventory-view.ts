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

/** Reads the stored Access users once, for one evaluation pass. */
export async function loadInventoryView(store: Store): Promise<InventoryView> {
  const users = await store.listInventory('user');
  const inactive = new Map<string, { reason: string; takenAt: number }>();
  for (const user of users) {
    const email = typeof user.attributes['email'] === 'string' ? user.attributes['email'] : user.name;
    for (const [attribute, value, reason] of INACTIVE_ATTRIBUTES) {
      if (user.attributes[attribute] === value) {
        inactive.set(`${user.sourceName}\u0000${email.toLowerCase()}`, { reason, takenAt: user.takenAt });
        break;
      }
    }
  }
  return {
    // Only a login after the snapshot that showed the user inactive counts: earlier ones may predate the change.
    inactiveUser: (sourceName, user, atMs) => {
      const found = inactive.get(`${sourceName}\u0000${user.toLowerCase()}`);
      return found !== undefined && atMs >= found.takenAt ? found.reason : null;
    },
  };
}

export const EMPTY_INVENTORY: InventoryView = { inactiveUser: () => null };
