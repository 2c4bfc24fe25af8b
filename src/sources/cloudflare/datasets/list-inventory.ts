import { z } from 'zod';
import type { InventoryEntity, InventoryKind } from '../../../core/inventory.js';
import type { Logger } from '../../../core/logger.js';
import type { InventorySource } from '../../source.js';
import type { CloudflareClient } from '../client.js';
import { Lifecycle } from '../lifecycle.js';
import { listAllPages } from '../paginate.js';
import { CLOUDFLARE_DATASETS } from './catalogue.js';

/** What the list inventories need of an item: its id; the rest passes through untouched. */
const itemSchema = z.looseObject({ id: z.string().min(1) });

/** One page-based Access list read as an inventory. */
export interface ListInventorySpec {
  readonly dataset: 'access_users' | 'identity_providers' | 'groups' | 'apps' | 'policies';
  readonly kind: InventoryKind;
  /** Path after `/accounts/{account_id}`. */
  readonly path: string;
  /** Item fields that name it, best first; the id when none is a non-empty string. */
  readonly nameFields: readonly string[];
}

// Paths and parameters: API-NOTES §2.5. spec-2024 documents no query parameters on these lists; `page` and
// `per_page` (max 1000) come from the current API reference.
export const LIST_INVENTORIES = {
  access_users: { dataset: 'access_users', kind: 'user', path: '/access/users', nameFields: ['email', 'name'] },
  identity_providers: {
    dataset: 'identity_providers',
    kind: 'identity_provider',
    path: '/access/identity_providers',
    nameFields: ['name'],
  },
  groups: { dataset: 'groups', kind: 'group', path: '/access/groups', nameFields: ['name'] },
  apps: { dataset: 'apps', kind: 'app', path: '/access/apps', nameFields: ['name', 'domain'] },
  policies: { dataset: 'policies', kind: 'policy', path: '/access/policies', nameFields: ['name'] },
} as const satisfies Record<ListInventorySpec['dataset'], ListInventorySpec>;

export interface InventorySourceOptions {
  readonly client: CloudflareClient;
  readonly logger: Logger;
  /** Items per request, at most 1000. */
  readonly pageSize: number;
}

/** Access users, identity providers, groups, applications or reusable policies: every page of one list. */
export class ListInventorySource implements InventorySource {
  readonly dataset: ListInventorySpec['dataset'];
  readonly kinds: readonly InventoryKind[];
  readonly #spec: ListInventorySpec;
  readonly #options: InventorySourceOptions;
  readonly #lifecycle: Lifecycle;

  constructor(spec: ListInventorySpec, options: InventorySourceOptions) {
    this.dataset = spec.dataset;
    this.kinds = [spec.kind];
    this.#spec = spec;
    this.#options = options;
    this.#lifecycle = new Lifecycle(spec.dataset);
  }

  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  async snapshot(signal: AbortSignal): Promise<readonly InventoryEntity[]> {
    const { client, pageSize, logger } = this.#options;
    const items = await listAllPages(client, client.accountPath(this.#spec.path), itemSchema, {
      dataset: this.dataset,
      permission: CLOUDFLARE_DATASETS[this.dataset].permission,
      signal: this.#lifecycle.signal(signal),
      pageSize,
    });
    logger.debug({ items: items.length }, 'Inventory read');
    return items.map((item) => ({
      kind: this.#spec.kind,
      id: item.id,
      name: nameOf(item, this.#spec.nameFields),
      attributes: item,
    }));
  }
}

/** The first of `fields` that holds a non-empty string, else the item's id. */
export function nameOf(
  item: { readonly id: string } & Readonly<Record<string, unknown>>,
  fields: readonly string[],
): string {
  for (const field of fields) {
    const value = item[field];
    if (typeof value === 'string' && value !== '') return value;
  }
  return item.id;
}
