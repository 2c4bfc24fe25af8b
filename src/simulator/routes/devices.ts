import { inventoryRoute, singlePage } from './inventory-route.js';

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** GET /accounts/{account_id}/devices: the deprecated registration list (spec-2024 `devices-list-devices`), one page. */
export const devices = inventoryRoute({
  name: 'devices',
  path: '/devices',
  permission: 'Zero Trust Read',
  single: false,
  answer: (inventory) => {
    const users = new Map(inventory.users.map((user) => [user['id'], user]));
    return singlePage(
      inventory.devices.map((device) => {
        const user = users.get(device.userId) ?? {};
        return {
          id: device.id,
          name: device.name,
          device_type: device.deviceType,
          ip: device.publicIp,
          key: device.key,
          last_seen: iso(device.lastSeenMs),
          mac_address: device.macAddress,
          manufacturer: device.manufacturer,
          model: device.model,
          os_version: device.osVersion,
          serial_number: device.serialNumber,
          version: device.clientVersion,
          created: iso(device.createdMs),
          updated: iso(device.updatedMs),
          deleted: false,
          // A revoked registration keeps its row and gains revoked_at.
          ...(device.activeRegistrations === 0 ? { revoked_at: iso(device.updatedMs) } : {}),
          user: { id: user['id'], email: user['email'], name: user['name'] },
        };
      }),
    );
  },
});
