import type { App } from '../../app.js';
import type { CloudflareClient } from '../../sources/cloudflare/client.js';
import { parseCloudflareConfig } from '../../sources/cloudflare/config.js';
import { createCloudflareClient } from '../../sources/cloudflare/index.js';
import type { StoredSource } from '../../store/store.js';

/**
 * A Cloudflare client for a stored source, configured as collection configures it (the installation's API
 * settings, the source's own base URL and rate share). The token is decrypted only into the client's memory,
 * and the client shares the token's rate budget with any collector in this process.
 */
export function createSourceClient(app: App, stored: StoredSource): CloudflareClient {
  const settings = app.config.cloudflare;
  const rateShare = stored.settings['rate_share'];
  const baseUrl = stored.settings['api_base_url'];
  const config = parseCloudflareConfig({
    name: stored.name,
    accountId: stored.accountId,
    token: app.secrets.decrypt(stored.tokenCiphertext),
    baseUrl: typeof baseUrl === 'string' ? baseUrl : settings.apiBaseUrl,
    pageSize: settings.pageSize,
    lookbackMs: settings.lookbackSecs * 1000,
    timeoutMs: settings.timeoutMs,
    rateLimit: settings.rateLimit,
    rateShare: typeof rateShare === 'number' ? rateShare : settings.rateShare,
  });
  return createCloudflareClient(config, app);
}
