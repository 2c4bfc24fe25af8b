import type { ComponentContext } from '../../core/context.js';
import type { Source, SourceFactory } from '../source.js';
import { CloudflareClient, tokenFingerprint } from './client.js';
import { cloudflareConfigSchema, type CloudflareConfig } from './config.js';
import { AccessRequestsSource } from './datasets/access-requests.js';
import { RateBudget } from './rate-budget.js';

/**
 * The `cloudflare_zero_trust` source type: one client per account and one Source per dataset
 * (access_requests for now). `create` opens no connection; every source sharing a token shares its rate budget.
 */
export const cloudflareZeroTrustFactory = {
  type: 'cloudflare_zero_trust',
  configSchema: cloudflareConfigSchema,
  create(config: CloudflareConfig, ctx: ComponentContext): readonly Source[] {
    const logger = ctx.logger.child({ component: 'cloudflare_zero_trust', source: config.name });
    const client = createCloudflareClient(config, ctx);
    return [
      new AccessRequestsSource({
        client,
        clock: ctx.clock,
        logger: logger.child({ dataset: 'access_requests' }),
        pageSize: config.pageSize,
        lookbackMs: config.lookbackMs,
      }),
    ];
  },
} as const satisfies SourceFactory<CloudflareConfig> & { readonly configSchema: typeof cloudflareConfigSchema };

/** One client per account; every client of one token shares that token's rate budget. Opens no connection. */
export function createCloudflareClient(config: CloudflareConfig, ctx: Omit<ComponentContext, 'signal'>): CloudflareClient {
  const rateBudget = RateBudget.forToken(tokenFingerprint(config.token), {
    requests: config.rateLimit.requests,
    windowSecs: config.rateLimit.windowSecs,
    share: config.rateShare,
    clock: ctx.clock,
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
