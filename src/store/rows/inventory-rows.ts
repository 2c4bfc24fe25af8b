import type { InventoryEntity, InventoryKind } from '../../core/inventory.js';

/** An inventory snapshot row as both stores read it. */
export interface InventoryRow {
  readonly kind: string;
  readonly entity_id: string;
  readonly name: string;
  readonly attributes: string;
}

export function rowToEntity(row: InventoryRow): InventoryEntity {
  return {
    // Only snapshots of the known kinds are ever written.
    kind: row.kind as InventoryKind,
    id: row.entity_id,
    name: row.name,
    attributes: JSON.parse(row.attributes) as Record<string, unknown>,
  };
}
