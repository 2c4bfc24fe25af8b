/** Kinds of configuration and identity objects an inventory snapshot holds. */
export const INVENTORY_KINDS = [
  'user',
  'organization',
  'identity_provider',
  'group',
  'gateway_account',
  'gateway_configuration',
  'gateway_rule',
  'device',
  'app',
  'policy',
] as const;
export type InventoryKind = (typeof INVENTORY_KINDS)[number];

/** One object of the account's configuration or identity inventory, as one snapshot saw it. */
export interface InventoryEntity {
  readonly kind: InventoryKind;
  /** Cloudflare's id of the object (the account id for single objects such as the organization). */
  readonly id: string;
  /** What an analyst calls it: a user's email, a rule's name, a device's name. */
  readonly name: string;
  /** The object exactly as the API returned it. */
  readonly attributes: Readonly<Record<string, unknown>>;
}
