import type { AttackPlan, ScriptedEnrollment } from './attack-scenarios.js';
import { AuditLog } from './audit-log.js';
import { hex, uuid } from './ids.js';
import { accessUserId, activeDeviceCounts, buildInventory } from './inventory.js';
import type { Inventory } from './inventory.js';
import { scheduleInventoryChanges } from './inventory-changes.js';
import type { InventoryChange } from './inventory-changes.js';
import { InventoryTimeline } from './inventory-timeline.js';
import type { Organisation } from './organisation.js';
import { ScimLog } from './scim-log.js';
import { DAY_MS } from './timeline.js';

/**
 * How much administrative activity the account has besides the scheduled inventory changes: SCIM updates and
 * routine audit entries (dashboard logins and views), each about `…PerDay` a day on weekdays and fewer at weekends,
 * from `historyDays` before the start onwards.
 */
export interface SimulatorAdminTraffic {
  /** Default 30. */
  readonly historyDays?: number | undefined;
  /** Default 60. */
  readonly scimUpdatesPerDay?: number | undefined;
  /** Default 40. */
  readonly auditEntriesPerDay?: number | undefined;
}

/** The account's configuration over time and the administrative logs that go with it. */
export interface AccountHistory {
  readonly inventory: InventoryTimeline;
  readonly changes: readonly InventoryChange[];
  readonly scimLog: ScimLog;
  readonly auditLog: AuditLog;
  readonly accountName: string;
}

/** Builds the account's history around `startMs`, the clock when the simulator starts. */
export function buildAccountHistory(
  seed: number,
  accountId: string,
  org: Organisation,
  startMs: number,
  options: {
    readonly inventoryChanges?: boolean | undefined;
    readonly adminTraffic?: SimulatorAdminTraffic | undefined;
    readonly attacks?: AttackPlan | undefined;
  },
): AccountHistory {
  const built = buildInventory(seed, accountId, org);
  const changes = options.inventoryChanges === false ? [] : scheduleInventoryChanges(seed, accountId, built, startMs);
  const admin = options.adminTraffic ?? {};
  const historyStartMs = startMs - (admin.historyDays ?? 30) * DAY_MS;
  const attacks = options.attacks;
  const enrollments = (attacks?.enrollments ?? []).map((e) => enrollmentStep(seed, org, e));
  return {
    inventory: new InventoryTimeline(built, [...changes, ...enrollments], startMs),
    changes,
    scimLog: new ScimLog(seed, org, built, changes, {
      historyStartMs,
      perDay: admin.scimUpdatesPerDay ?? 60,
      deactivations: attacks?.deactivations,
    }),
    auditLog: new AuditLog(seed, accountId, org, changes, {
      historyStartMs,
      perDay: admin.auditEntriesPerDay ?? 40,
      adminActions: attacks?.adminActions,
    }),
    accountName: String(built.organization['name']),
  };
}

// A device an attacker enrolled with a user's credentials: a new laptop of a common make, on the attacker's network.
function enrollmentStep(
  seed: number,
  org: Organisation,
  e: ScriptedEnrollment,
): { atMs: number; apply: (inventory: Inventory) => Inventory; undo: (inventory: Inventory) => Inventory } {
  const key = 0x7a000 + e.key;
  const local = org.users[e.user]?.email.split('@')[0] ?? 'device';
  const userId = accessUserId(seed, e.user);
  const device = {
    id: uuid(seed, key, 0xa6),
    name: `${local}-windows-2`,
    userId,
    deviceType: 'windows' as const,
    activeRegistrations: 1,
    createdMs: e.timeMs,
    lastSeenMs: e.timeMs,
    updatedMs: e.timeMs,
    clientVersion: '2024.9.346.0',
    manufacturer: 'Dell Inc.',
    model: 'Latitude 7440',
    osVersion: '10.0.22631',
    serialNumber: hex(seed, key, 0xa9, 10).toUpperCase(),
    macAddress: hex(seed, key, 0xa5, 12).match(/../g)?.join(':') ?? '',
    publicIp: e.publicIp,
    key: Buffer.from(hex(seed, key, 0xaa, 64), 'hex').toString('base64'),
  };
  const withSeats = (inventory: Inventory, devices: Inventory['devices']): Inventory => {
    const active = activeDeviceCounts(devices);
    return {
      ...inventory,
      devices,
      users: inventory.users.map((user) =>
        user['id'] === userId
          ? { ...user, active_device_count: active.get(userId) ?? 0, gateway_seat: (active.get(userId) ?? 0) > 0 }
          : user,
      ),
    };
  };
  return {
    atMs: e.timeMs,
    apply: (inventory) => withSeats(inventory, [...inventory.devices, device]),
    undo: (inventory) =>
      withSeats(
        inventory,
        inventory.devices.filter((d) => d.id !== device.id),
      ),
  };
}
