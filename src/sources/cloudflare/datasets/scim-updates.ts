import { z } from 'zod';
import type { Clock } from '../../../core/clock.js';
import type { Logger } from '../../../core/logger.js';
import type { RawPage, Source, SourceCursor } from '../../source.js';
import type { CloudflareClient } from '../client.js';
import { Lifecycle } from '../lifecycle.js';
import {
  initialTimeWindowCursor,
  listAllPages,
  parseCursor,
  recordKey,
  rfc3339,
  timeWindowCursorSchema,
  timeWindowPages,
  type TimeWindowCursor,
} from '../paginate.js';
import { formatTimestamp, parseTimestamp } from '../parse-timestamp.js';
import { CLOUDFLARE_DATASETS } from './catalogue.js';
import { LIST_INVENTORIES } from './list-inventory.js';
import { verbatim } from '../verbatim.js';

export const SCIM_UPDATES_DATASET = 'scim_updates';
export const SCIM_UPDATES_PATH = '/access/logs/scim/updates';

// Strict on what paging and dedupe rely on; the record has no id, so the key is built from what it says.
const scimUpdateSchema = z.looseObject({
  logged_at: rfc3339,
  idp_id: z.string().nullish(),
  cf_resource_id: z.string().nullish(),
  idp_resource_id: z.string().nullish(),
  request_method: z.string().nullish(),
  resource_type: z.string().nullish(),
  status: z.string().nullish(),
  request_body: z.string().nullish(),
});
type ScimUpdate = z.infer<typeof scimUpdateSchema>;

const pageSchema = z.array(verbatim(scimUpdateSchema));
const identityProviderSchema = z.looseObject({ id: z.string().min(1) });

/** Where a scim_updates pull resumes: the shared time-window cursor (see paginate.ts). */
export type ScimUpdatesCursor = TimeWindowCursor;

export interface ScimUpdatesSourceOptions {
  readonly client: CloudflareClient;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Records per request, at most 1000 (the endpoint's per_page maximum). */
  readonly pageSize: number;
  /** How far before the last scan each pull rereads, for events that appear in the API late. */
  readonly lookbackMs: number;
}

/**
 * SCIM provisioning logs (GET /accounts/{account_id}/access/logs/scim/updates, API-NOTES §2.2). The endpoint
 * requires `idp_id`, so every pull first lists the identity providers and asks for all of them; with none there
 * is nothing to pull and the cursor stays where it is. Paged by time window, ascending by `logged_at`.
 */
export class ScimUpdatesSource implements Source {
  readonly dataset = SCIM_UPDATES_DATASET;
  readonly #client: CloudflareClient;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #pageSize: number;
  readonly #lookbackMs: number;
  readonly #lifecycle = new Lifecycle(SCIM_UPDATES_DATASET);

  constructor(options: ScimUpdatesSourceOptions) {
    this.#client = options.client;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#pageSize = options.pageSize;
    this.#lookbackMs = options.lookbackMs;
  }

  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  initialCursor(options: { readonly backfillFromMs: number }): ScimUpdatesCursor {
    return initialTimeWindowCursor(options.backfillFromMs);
  }

  async *pull(cursorValue: SourceCursor, signal: AbortSignal): AsyncIterable<RawPage> {
    const cursor = parseCursor(timeWindowCursorSchema, cursorValue, this.dataset);
    const combined = this.#lifecycle.signal(signal);
    const untilMs = this.#clock.now();
    const client = this.#client;
    const identityProviders = await listAllPages(
      client,
      client.accountPath(LIST_INVENTORIES.identity_providers.path),
      identityProviderSchema,
      {
        dataset: this.dataset,
        permission: CLOUDFLARE_DATASETS.identity_providers.permission,
        signal: combined,
        pageSize: this.#pageSize,
      },
    );
    const idpIds = identityProviders.map((idp) => idp.id);
    if (idpIds.length === 0) {
      this.#logger.debug({}, 'No identity provider, nothing to pull');
      return;
    }
    yield* timeWindowPages<ScimUpdate>(cursor, {
      dataset: this.dataset,
      pageSize: this.#pageSize,
      lookbackMs: this.#lookbackMs,
      untilMs,
      logger: this.#logger,
      timeOf: loggedMs,
      keyOf: (record) =>
        recordKey([
          loggedMs(record),
          record.idp_id ?? '',
          record.cf_resource_id ?? '',
          record.idp_resource_id ?? '',
          record.request_method ?? '',
          record.resource_type ?? '',
          record.status ?? '',
          record.request_body ?? '',
        ]),
      fetchPage: async ({ sinceMs, untilMs: until, page }) =>
        (
          await client.get(
            client.accountPath(SCIM_UPDATES_PATH),
            {
              idp_id: idpIds,
              since: formatTimestamp(sinceMs),
              until: formatTimestamp(until),
              direction: 'asc',
              page,
              per_page: this.#pageSize,
            },
            pageSchema,
            combined,
            { permission: CLOUDFLARE_DATASETS.scim_updates.permission, dataset: this.dataset },
          )
        ).result,
    });
  }
}

function loggedMs(record: ScimUpdate): number {
  // The schema already proved logged_at parses.
  return parseTimestamp(record.logged_at) ?? 0;
}
