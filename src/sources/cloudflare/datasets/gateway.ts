import { z } from 'zod';
import { SourceError } from '../../../core/errors.js';
import type { InventoryEntity, InventoryKind } from '../../../core/inventory.js';
import type { InventorySource } from '../../source.js';
import type { CloudflareClient } from '../client.js';
import { Lifecycle } from '../lifecycle.js';
import { listResult } from '../paginate.js';
import { CLOUDFLARE_DATASETS } from './catalogue.js';
import { nameOf, type InventorySourceOptions } from './list-inventory.js';

export const GATEWAY_ACCOUNT_PATH = '/gateway';
export const GATEWAY_CONFIGURATION_PATH = '/gateway/configuration';
export const GATEWAY_RULES_PATH = '/gateway/rules';

const objectSchema = z.looseObject({});
const rulesSchema = listResult(z.looseObject({ id: z.string().min(1) }));

/**
 * Gateway's account information, its configuration and its rules (API-NOTES §2.5). The first two are single
 * objects that belong to the account, so their id is the account id; the rules list is not paged.
 */
export class GatewaySource implements InventorySource {
  readonly dataset = 'gateway';
  readonly kinds: readonly InventoryKind[] = ['gateway_account', 'gateway_configuration', 'gateway_rule'];
  readonly #client: CloudflareClient;
  readonly #options: InventorySourceOptions;
  readonly #lifecycle = new Lifecycle('gateway');

  constructor(options: InventorySourceOptions) {
    this.#client = options.client;
    this.#options = options;
  }

  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  async snapshot(signal: AbortSignal): Promise<readonly InventoryEntity[]> {
    const combined = this.#lifecycle.signal(signal);
    const client = this.#client;
    const permission = CLOUDFLARE_DATASETS.gateway.permission;
    const account = await client.get(client.accountPath(GATEWAY_ACCOUNT_PATH), {}, objectSchema, combined, {
      permission,
    });
    const configuration = await client.get(client.accountPath(GATEWAY_CONFIGURATION_PATH), {}, objectSchema, combined, {
      permission,
    });
    const rules = await client.get(client.accountPath(GATEWAY_RULES_PATH), {}, rulesSchema, combined, { permission });
    // The endpoint has no paging parameters; an answer that says it holds more than it sent is not the whole list.
    const total = rules.resultInfo?.totalCount;
    if (total !== undefined && total > rules.result.length) {
      throw new SourceError('SOURCE_RESPONSE_INVALID', {
        message: `Cloudflare sent ${rules.result.length} of ${total} Gateway rules; the snapshot is discarded and will be taken again.`,
        details: { dataset: this.dataset, received: rules.result.length, expected: total },
      });
    }
    this.#options.logger.debug({ rules: rules.result.length }, 'Inventory read');
    return [
      { kind: 'gateway_account', id: client.accountId, name: 'Gateway account', attributes: account.result },
      {
        kind: 'gateway_configuration',
        id: client.accountId,
        name: 'Gateway configuration',
        attributes: configuration.result,
      },
      ...rules.result.map((rule): InventoryEntity => ({
        kind: 'gateway_rule',
        id: rule.id,
        name: nameOf(rule, ['name']),
        attributes: rule,
      })),
    ];
  }
}
