import { z } from 'zod';
import type { InventoryEntity, InventoryKind } from '../../../core/inventory.js';
import type { Logger } from '../../../core/logger.js';
import type { InventorySource } from '../../source.js';
import type { CloudflareClient } from '../client.js';
import { Lifecycle } from '../lifecycle.js';
import { CLOUDFLARE_DATASETS } from './catalogue.js';

export const ORGANIZATION_PATH = '/access/organizations';

// A single object without an id of its own (API-NOTES §2.5); its name is what the entity is called.
const organizationSchema = z.looseObject({ name: z.string() });

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
    return [{ kind: 'organization', id: this.#client.accountId, name: result.name, attributes: result }];
  }
}
