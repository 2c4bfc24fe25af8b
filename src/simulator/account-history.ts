import { AuditLog } from './audit-log.js';
import { buildInventory } from './inventory.js';
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
  },
): AccountHistory {
  const built = buildInventory(seed, accountId, org);
  const changes = options.inventoryChanges === false ? [] : scheduleInventoryChanges(seed, accountId, built, startMs);
  const admin = options.adminTraffic ?? {};
  const historyStartMs = startMs - (admin.historyDays ?? 30) * DAY_MS;
  return {
    inventory: new InventoryTimeline(built, changes, startMs),
    changes,
    scimLog: new ScimLog(seed, org, built, changes, { historyStartMs, perDay: admin.scimUpdatesPerDay ?? 60 }),
    auditLog: new AuditLog(seed, accountId, org, changes, { historyStartMs, perDay: admin.auditEntriesPerDay ?? 40 }),
    accountName: String(built.organization['name']),
  };
}
