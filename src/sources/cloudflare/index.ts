import type { ComponentContext } from '../../core/context.js';
import type { InventorySource, Source, SourceDatasets, SourceFactory } from '../source.js';
import { CloudflareClient, tokenFingerprint } from './client.js';
import { cloudflareConfigSchema, type CloudflareConfig } from './config.js';
import { AccessRequestsSource } from './datasets/access-requests.js';
import { AuditLogsSource } from './datasets/audit-logs.js';
import { CLOUDFLARE_DATASET_IDS, type CloudflareDatasetId } from './datasets/catalogue.js';
import { DevicesSource } from './datasets/devices.js';
import { GatewaySource } from './datasets/gateway.js';
import { LIST_INVENTORIES, ListInventorySource } from './datasets/list-inventory.js';
import { OrganizationSource } from './datasets/organization.js';
import { ScimUpdatesSource } from './datasets/scim-updates.js';
import { RateBudget } from './rate-budget.js';

/**
 * The `cloudflare_zero_trust` source type: one client per account, one Source per log dataset and one
 * InventorySource per inventory dataset (`config.datasets`, all of them by default), in catalogue order.
 * `create` opens no connection; every dataset sharing a token shares its rate budget.
 */
export const cloudflareZeroTrustFactory = {
  type: 'cloudflare_zero_trust',
  configSchema: cloudflareConfigSchema,
  create(config: CloudflareConfig, ctx: ComponentContext): SourceDatasets {
    const logger = ctx.logger.child({ component: 'cloudflare_zero_trust', source: config.name });
    const client = createCloudflareClient(config, ctx);
    const wanted = new Set<CloudflareDatasetId>(config.datasets ?? CLOUDFLARE_DATASET_IDS);
    const logs: Source[] = [];
    const inventories: InventorySource[] = [];
    for (const dataset of CLOUDFLARE_DATASET_IDS) {
      if (!wanted.has(dataset)) continue;
      const log = { client, clock: ctx.clock, pageSize: config.pageSize, lookbackMs: config.lookbackMs };
      const inventory = { client, pageSize: config.pageSize, logger: logger.child({ dataset }) };
      switch (dataset) {
        case 'access_requests':
          logs.push(new AccessRequestsSource({ ...log, logger: logger.child({ dataset }) }));
          break;
        case 'scim_updates':
          logs.push(new ScimUpdatesSource({ ...log, logger: logger.child({ dataset }) }));
          break;
        case 'audit_logs':
          logs.push(new AuditLogsSource({ ...log, logger: logger.child({ dataset }) }));
          break;
        case 'organization':
          inventories.push(new OrganizationSource(inventory));
          break;
        case 'gateway':
          inventories.push(new GatewaySource(inventory));
          break;
        case 'devices':
          inventories.push(new DevicesSource(inventory));
          break;
        case 'access_users':
        case 'identity_providers':
        case 'groups':
        case 'apps':
        case 'policies':
          inventories.push(new ListInventorySource(LIST_INVENTORIES[dataset], inventory));
          break;
        default:
          return unbuilt(dataset);
      }
    }
    return { logs, inventories };
  },
} as const satisfies SourceFactory<CloudflareConfig> & { readonly configSchema: typeof cloudflareConfigSchema };

// A dataset added to the catalogue but not here fails to compile.
function unbuilt(dataset: never): never {
  throw new Error(`No source is built for the dataset ${String(dataset)}.`);
}

/** One client per account; every client of one token shares that token's rate budget. Opens no connection. */
export function createCloudflareClient(
  config: CloudflareConfig,
  ctx: Omit<ComponentContext, 'signal'>,
): CloudflareClient {
  const fingerprint = tokenFingerprint(config.token);
  const rateBudget = RateBudget.forToken(fingerprint, {
    requests: config.rateLimit.requests,
    windowSecs: config.rateLimit.windowSecs,
    share: config.rateShare,
    clock: ctx.clock,
    ...(ctx.sharedRateBudget === undefined ? {} : { shared: { budget: ctx.sharedRateBudget, key: fingerprint } }),
  });
  return new CloudflareClient({
    baseUrl: config.baseUrl,
    accountId: config.accountId,
    token: config.token,
    timeoutMs: config.timeoutMs,
    rateBudget,
    logger: ctx.logger.child({ component: 'cloudflare_zero_trust', source: config.name }),
    metrics: ctx.metrics,
    clock: ctx.clock,
  });
}
