import { z } from 'zod';
import type { Clock } from '../../../core/clock.js';
import type { Logger } from '../../../core/logger.js';
import type { RawPage, Source, SourceCursor } from '../../source.js';
import type { CloudflareClient } from '../client.js';
import { Lifecycle } from '../lifecycle.js';
import {
  initialTimeWindowCursor,
  listResult,
  parseCursor,
  recordKey,
  rfc3339,
  timeWindowWithFloor,
  type TimeWindowCursor,
  timeWindowCursorSchema,
  timeWindowPages,
} from '../paginate.js';
import { formatTimestamp, parseTimestamp } from '../parse-timestamp.js';
import { CLOUDFLARE_DATASETS } from './catalogue.js';
import { verbatim } from '../verbatim.js';

export const ACCESS_REQUESTS_DATASET = 'access_requests';
export const ACCESS_REQUESTS_PATH = '/access/logs/access_requests';
/** The permission group the endpoint needs (API-NOTES §2.1). */
export const ACCESS_REQUESTS_PERMISSION = CLOUDFLARE_DATASETS.access_requests.permission;

// Strict on what paging relies on, the time, silent on the rest: a new vendor field never breaks ingestion, and
// a record without a field the description leaves optional (it requires none) is stored, not refused with its
// page. Only checked (verbatim hands on the record as sent), so the schema strips other fields instead of copying
// them into an output nobody reads, which took twice as long per record.
const accessRequestSchema = z.object({
  created_at: rfc3339,
  // Any type: the normalizer keeps a value of the wrong type in `unmapped` rather than lose the event.
  ray_id: z.unknown().optional(),
  action: z.unknown().optional(),
  user_email: z.unknown().optional(),
  app_uid: z.unknown().optional(),
});
type AccessRequest = z.infer<typeof accessRequestSchema>;

const pageSchema = listResult(verbatim(accessRequestSchema));

/** Where an access_requests pull resumes: the shared time-window cursor (see paginate.ts). */
export type AccessRequestsCursor = TimeWindowCursor;

export interface AccessRequestsSourceOptions {
  readonly client: CloudflareClient;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Records per request, at most 1000. */
  readonly pageSize: number;
  /** How far before the last scan each pull rereads, for events that appear in the API late. */
  readonly lookbackMs: number;
}

/**
 * Access authentication logs of one account (GET /accounts/{account_id}/access/logs/access_requests), paged
 * by time window: the endpoint has no cursor of its own.
 */
export class AccessRequestsSource implements Source {
  readonly dataset = ACCESS_REQUESTS_DATASET;
  readonly #client: CloudflareClient;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #pageSize: number;
  readonly #lookbackMs: number;
  readonly #lifecycle = new Lifecycle(ACCESS_REQUESTS_DATASET);

  constructor(options: AccessRequestsSourceOptions) {
    this.#client = options.client;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#pageSize = options.pageSize;
    this.#lookbackMs = options.lookbackMs;
  }

  /** Opens no connection: the first pull does. Makes a stopped source usable again. */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /** Aborts a pull in flight; nothing is buffered, so there is nothing to flush. */
  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  initialCursor(options: { readonly backfillFromMs: number }): AccessRequestsCursor {
    return initialTimeWindowCursor(options.backfillFromMs);
  }

  withFloor(cursorValue: SourceCursor, floorMs: number): AccessRequestsCursor {
    return timeWindowWithFloor(parseCursor(timeWindowCursorSchema, cursorValue, this.dataset), floorMs);
  }

  async *pull(cursorValue: SourceCursor, signal: AbortSignal): AsyncIterable<RawPage> {
    const cursor = parseCursor(timeWindowCursorSchema, cursorValue, this.dataset);
    const combined = this.#lifecycle.signal(signal);
    yield* timeWindowPages<AccessRequest>(cursor, {
      dataset: this.dataset,
      pageSize: this.#pageSize,
      onSmallerPages: (pageSize) => {
        this.#pageSize = pageSize;
      },
      lookbackMs: this.#lookbackMs,
      untilMs: this.#clock.now(),
      logger: this.#logger,
      timeOf: createdMs,
      keyOf: (record) =>
        recordKey([
          record.ray_id ?? '',
          createdMs(record),
          record.action ?? '',
          record.user_email ?? '',
          record.app_uid ?? '',
        ]),
      fetchPage: async ({ sinceMs, untilMs, page, pageSize }) =>
        (
          await this.#client.get(
            this.#client.accountPath(ACCESS_REQUESTS_PATH),
            {
              direction: 'asc',
              since: formatTimestamp(sinceMs),
              until: formatTimestamp(untilMs),
              limit: pageSize,
              page,
              per_page: pageSize,
            },
            pageSchema,
            combined,
            { permission: ACCESS_REQUESTS_PERMISSION, dataset: this.dataset },
          )
        ).result,
    });
  }
}

function createdMs(record: AccessRequest): number {
  // The schema already proved created_at parses.
  return parseTimestamp(record.created_at) ?? 0;
}
