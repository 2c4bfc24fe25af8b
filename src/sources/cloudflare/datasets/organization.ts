import { z } from 'zod';
import type { InventoryEntity, InventoryKind } from '../../../core/inventory.js';
import type { Logger } from '../../../core/logger.js';
import type { InventorySource } from '../../source.js';
import type { CloudflareClient } from '../client.js';
import { Lifecycle } from '../lifecycle.js';
import { CLOUDFLARE_DATASETS } from './catalogue.js';
import { nameOf } from './list-inventory.js';

export const ORGANIZATION_PATH = '/access/organizations';

// A single object without an id of its own (API-NOTES §2.5). The description requires none of its fields: the
// entity is called by its name, else its auth domain, else the account id.
const organizationSchema = z.looseObject({});

export interface OrganizationSourceOptions {
  readonly client: CloudflareClient;
  readonly logger: Logger;
}

/** The account's Zero Trust organization (GET /accounts/{account_id}/access/organizations): one entity. */
export class OrganizationSource implements InventorySource {
  readonly dataset = 'organization';
  readonly kinds: readonly InventoryKind[] = ['organization'];
  readonly #client: CloudflareClient;
  readonly #logger: Logger;
  readonly #lifecycle = new Lifecycle('organization');

  constructor(options: OrganizationSourceOptions) {
    this.#client = options.client;
    this.#logger = options.logger;
  }

  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  async snapshot(signal: AbortSignal): Promise<readonly InventoryEntity[]> {
    const { result } = await this.#client.get(
      this.#client.accountPath(ORGANIZATION_PATH),
      {},
      organizationSchema,
      this.#lifecycle.signal(signal),
      { permission: CLOUDFLARE_DATASETS.organization.permission },
    );
    this.#logger.debug({}, 'Inventory read');
    const id = this.#client.accountId;
    const name = nameOf({ ...result, id }, ['name', 'auth_domain']);
    return [{ kind: 'organization', id, name, attributes: result }];
  }
}
