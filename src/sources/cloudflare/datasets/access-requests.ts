import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../../core/clock.js';
import { SourceError } from '../../../core/errors.js';
import type { Logger } from '../../../core/logger.js';
import type { RawPage, Source, SourceCursor } from '../../source.js';
import type { CloudflareClient } from '../client.js';
import { formatTimestamp, parseTimestamp } from '../parse-timestamp.js';

export const ACCESS_REQUESTS_DATASET = 'access_requests';
export const ACCESS_REQUESTS_PATH = '/access/logs/access_requests';
/** The permission group the endpoint needs (API-NOTES §2.1). */
export const ACCESS_REQUESTS_PERMISSION = 'Access: Audit Logs Read';

const rfc3339 = z.string().refine((text) => parseTimestamp(text) !== undefined, 'expected an RFC 3339 date-time');

// Strict on what paging and dedupe rely on, loose on the rest: a new vendor field never breaks ingestion.
const accessRequestSchema = z.looseObject({
  created_at: rfc3339,
  ray_id: z.string(),
  action: z.string().nullish(),
  user_email: z.string().nullish(),
  app_uid: z.string().nullish(),
});
type AccessRequest = z.infer<typeof accessRequestSchema>;

const pageSchema = z.array(accessRequestSchema);

const cursorSchema = z.object({
  since: rfc3339,
  page: z.number().int().min(1),
  seen: z.array(z.string()),
  scannedAt: rfc3339,
});

/**
 * Where an access_requests pull resumes. `since` and `page` name the next request; `seen` holds the keys of
 * records at `since` already handed out; `scannedAt` is when everything before `since` was last read (the
 * `until` of the pull that wrote the cursor), which bounds how far back late events are looked for.
 */
export type AccessRequestsCursor = z.infer<typeof cursorSchema>;

// Boundary keys are only a guard against re-sending (the store dedupes by event id); past this many at one
// timestamp the oldest are dropped, which can re-send a record but never loses one.
const MAX_SEEN_KEYS = 10_000;

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
 * by time window: ascending from `since`, jumping `since` forward to the last record of each full page, and
 * paging within a timestamp only when a burst fills a whole page. The endpoint has no cursor of its own.
 */
export class AccessRequestsSource implements Source {
  readonly dataset = ACCESS_REQUESTS_DATASET;
  readonly #client: CloudflareClient;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #pageSize: number;
  readonly #lookbackMs: number;
  #stopping = new AbortController();

  constructor(options: AccessRequestsSourceOptions) {
    this.#client = options.client;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#pageSize = options.pageSize;
    this.#lookbackMs = options.lookbackMs;
  }

  /** Opens no connection: the first pull does. Makes a stopped source usable again. */
  start(): Promise<void> {
    if (this.#stopping.signal.aborted) this.#stopping = new AbortController();
    return Promise.resolve();
  }

  /** Aborts a pull in flight; nothing is buffered, so there is nothing to flush. */
  stop(): Promise<void> {
    if (!this.#stopping.signal.aborted) this.#stopping.abort(new Error('The access_requests source was stopped.'));
    return Promise.resolve();
  }

  initialCursor(options: { readonly backfillFromMs: number }): AccessRequestsCursor {
    const from = formatTimestamp(options.backfillFromMs);
    return { since: from, page: 1, seen: [], scannedAt: from };
  }

  async *pull(cursorValue: SourceCursor, signal: AbortSignal): AsyncIterable<RawPage> {
    const cursor = parseCursor(cursorValue);
    const combined = AbortSignal.any([signal, this.#stopping.signal]);
    const until = this.#clock.now();
    const cursorSince = parseTimestamp(cursor.since) ?? 0;
    const scannedAt = parseTimestamp(cursor.scannedAt) ?? cursorSince;
    // Reread the lookback before the last scan: events show up in the API minutes after their created_at.
    // In a backfill scannedAt - lookback lies after since, so this costs nothing there.
    const rescanFrom = Math.min(cursorSince, scannedAt - this.#lookbackMs);
    const resuming = rescanFrom === cursorSince;
    let since = rescanFrom;
    let page = resuming ? cursor.page : 1;
    let seen = new Set(resuming ? cursor.seen : []);
    let last: AccessRequestsCursor = cursor;
    if (until <= since) return;

    for (;;) {
      const { result } = await this.#client.get(
        this.#client.accountPath(ACCESS_REQUESTS_PATH),
        {
          direction: 'asc',
          since: formatTimestamp(since),
          until: formatTimestamp(until),
          limit: this.#pageSize,
          page,
          per_page: this.#pageSize,
        },
        pageSchema,
        combined,
        { permission: ACCESS_REQUESTS_PERMISSION },
      );
      const fresh = result.filter((record) => !(createdMs(record) === since && seen.has(recordKey(record))));
      this.#logger.debug({ dataset: this.dataset, page, received: result.length, fresh: fresh.length }, 'Page fetched');

      let next: AccessRequestsCursor;
      let done = false;
      if (result.length < this.#pageSize) {
        // A short page: nothing else in [since, until]. The next pull starts at until.
        const atUntil = result.filter((record) => createdMs(record) === until).map(recordKey);
        next = { since: formatTimestamp(until), page: 1, seen: capped(atUntil), scannedAt: formatTimestamp(until) };
        done = true;
      } else {
        const lastMs = createdMs(result[result.length - 1] as AccessRequest);
        if (lastMs > since) {
          // The API's since is inclusive, so the records at lastMs come back first on the next request.
          since = lastMs;
          page = 1;
          seen = new Set(result.filter((record) => createdMs(record) === lastMs).map(recordKey));
        } else {
          // A burst at one timestamp fills the whole page: moving since cannot help, so page within it. Page 1
          // right after a jump may repeat the previous page; a later page made only of repeats cannot be right.
          if (fresh.length === 0 && page > 1) throw repeatedPage(since, page);
          page += 1;
          for (const record of result) if (createdMs(record) === since) seen.add(recordKey(record));
        }
        next = { since: formatTimestamp(since), page, seen: capped([...seen]), scannedAt: formatTimestamp(until) };
      }

      if (result.length > 0 && (fresh.length > 0 || !sameCursor(next, last))) {
        yield { records: fresh, nextCursor: next };
        last = next;
      }
      if (done) return;
    }
  }
}

function parseCursor(value: SourceCursor): AccessRequestsCursor {
  const parsed = cursorSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new SourceError('INTERNAL', {
    message: 'The stored access_requests cursor is not valid; reset the data source to start it again.',
    details: { issues: parsed.error.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.code}`) },
  });
}

function createdMs(record: AccessRequest): number {
  // The schema already proved created_at parses.
  return parseTimestamp(record.created_at) ?? 0;
}

// A deterministic key of one access event, short enough to keep thousands of them in a cursor.
function recordKey(record: AccessRequest): string {
  const parts = [record.ray_id, createdMs(record), record.action ?? '', record.user_email ?? '', record.app_uid ?? ''];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 24);
}

function capped(keys: readonly string[]): string[] {
  return keys.length > MAX_SEEN_KEYS ? keys.slice(keys.length - MAX_SEEN_KEYS) : [...keys];
}

function sameCursor(a: AccessRequestsCursor, b: AccessRequestsCursor): boolean {
  return (
    a.since === b.since &&
    a.page === b.page &&
    a.scannedAt === b.scannedAt &&
    a.seen.length === b.seen.length &&
    a.seen.every((key, i) => b.seen[i] === key)
  );
}

function repeatedPage(sinceMs: number, page: number): SourceError {
  // Without this, an API that ignored `page` would hand back the same full page forever.
  return new SourceError('SOURCE_RESPONSE_INVALID', {
    message: `Cloudflare returned only records already seen for page ${page} of access_requests at ${formatTimestamp(sinceMs)}; the page parameter seems to be ignored.`,
    details: { since: formatTimestamp(sinceMs), page },
  });
}
