import { z } from 'zod';
import type { Clock } from '../../../core/clock.js';
import { SourceError } from '../../../core/errors.js';
import type { Logger } from '../../../core/logger.js';
import type { RawPage, Source, SourceCursor } from '../../source.js';
import { isRouteMissing, type CloudflareClient } from '../client.js';
import { Lifecycle } from '../lifecycle.js';
import {
  cappedKeys,
  listResult,
  parseCursor,
  rescanStart,
  rfc3339,
  timeWindowWithFloor,
  type TimeWindowCursor,
  timeWindowCursorSchema,
  timeWindowPages,
} from '../paginate.js';
import { formatTimestamp, parseTimestamp } from '../parse-timestamp.js';
import { CLOUDFLARE_DATASETS } from './catalogue.js';
import { verbatim } from '../verbatim.js';

export const AUDIT_LOGS_DATASET = 'audit_logs';
/** Audit Logs v2 (API-NOTES §2.4): cursor-paged, `since` and `before` required. */
export const AUDIT_LOGS_V2_PATH = '/logs/audit';
/** Audit Logs v1 (API-NOTES §2.3): page-based. */
export const AUDIT_LOGS_V1_PATH = '/audit_logs';

// Strict on what paging and dedupe rely on: the id, and the time (`action.time` in v2, `when` in v1).
const v2RecordSchema = z.looseObject({ id: z.string().min(1), action: z.looseObject({ time: rfc3339 }) });
const v1RecordSchema = z.looseObject({ id: z.string().min(1), when: rfc3339 });
type V2Record = z.infer<typeof v2RecordSchema>;
type V1Record = z.infer<typeof v1RecordSchema>;

const v2CursorSchema = z.object({
  api: z.literal('v2'),
  since: rfc3339,
  before: rfc3339.optional(),
  cursor: z.string().min(1).optional(),
  seen: z.array(z.string()),
  scannedAt: rfc3339,
  /** As on the time-window cursor (see paginate.ts): the backfill start, kept by every cursor after the first. */
  floor: rfc3339.optional(),
});
const v1CursorSchema = timeWindowCursorSchema.extend({ api: z.literal('v1') });
const cursorSchema = z.discriminatedUnion('api', [v2CursorSchema, v1CursorSchema]);
type V2Cursor = z.infer<typeof v2CursorSchema>;

/**
 * Where an audit_logs pull resumes, and which API it reads.
 * - `v2`: `since` is the start of the window being read; while a window is read part-way, `before` is its end and
 *   `cursor` the API's cursor for the next page, so a crash resumes that very page, and the pull that resumes it
 *   reads on past `before` to its own end. Between windows both are absent, `seen` holds the ids at `since`
 *   already handed out and `scannedAt` is when the last window ended.
 * - `v1`: the shared time-window cursor (see paginate.ts), written once v2 answered that it has no route.
 */
export type AuditLogsCursor = z.infer<typeof cursorSchema>;

export interface AuditLogsSourceOptions {
  readonly client: CloudflareClient;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Records per request, at most 1000 (both APIs' maximum). */
  readonly pageSize: number;
  /** How far before the last scan each pull rereads, for events that appear in the API late. */
  readonly lookbackMs: number;
}

/**
 * Account audit logs: who changed what in the dashboard or API. Reads Audit Logs v2 (GET logs/audit) ascending in
 * windows [since, before), following `result_info.cursor`; where v2 answers 404 or "No route" it falls back to v1
 * (GET audit_logs, paged by time window) and records that in the cursor, so the dataset keeps reading one API.
 * Records are handed out as the API returns them: v2 records carry `action.time`, v1 records `when`.
 */
export class AuditLogsSource implements Source {
  readonly dataset = AUDIT_LOGS_DATASET;
  readonly #client: CloudflareClient;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #pageSize: number;
  readonly #lookbackMs: number;
  readonly #lifecycle = new Lifecycle(AUDIT_LOGS_DATASET);
  #warnedFallback = false;

  constructor(options: AuditLogsSourceOptions) {
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

  initialCursor(options: { readonly backfillFromMs: number }): AuditLogsCursor {
    const from = formatTimestamp(options.backfillFromMs);
    return { api: 'v2', since: from, seen: [], scannedAt: from, floor: from };
  }

  withFloor(cursorValue: SourceCursor, floorMs: number): AuditLogsCursor {
    const cursor = parseCursor(cursorSchema, cursorValue, this.dataset);
    if (cursor.api === 'v1') return timeWindowWithFloor(cursor, floorMs);
    const floor = parseTimestamp(cursor.floor ?? '');
    if (floor !== undefined && floor >= floorMs) return cursor;
    // A window read part-way from before the floor is given up, API cursor and all: the pull reads a new window
    // from the floor to its own end, which covers what was left of it.
    if ((parseTimestamp(cursor.since) ?? 0) < floorMs) {
      const from = formatTimestamp(floorMs);
      return { api: 'v2', since: from, seen: [], scannedAt: cursor.scannedAt, floor: from };
    }
    return { ...cursor, floor: formatTimestamp(floorMs) };
  }

  async *pull(cursorValue: SourceCursor, signal: AbortSignal): AsyncIterable<RawPage> {
    const cursor = parseCursor(cursorSchema, cursorValue, this.dataset);
    const combined = this.#lifecycle.signal(signal);
    const untilMs = this.#clock.now();
    if (cursor.api === 'v1') {
      yield* this.#pullV1(cursor, untilMs, combined);
      return;
    }
    yield* this.#pullV2(cursor, untilMs, combined);
  }

  async *#pullV2(
    cursor: V2Cursor,
    untilMs: number,
    signal: AbortSignal,
  ): AsyncGenerator<{ readonly records: readonly unknown[]; readonly nextCursor: AuditLogsCursor }> {
    const midWindow = cursor.before !== undefined && cursor.cursor !== undefined;
    let since: number;
    let before: number;
    let seen: Set<string>;
    let apiCursor: string | undefined;
    if (midWindow) {
      since = parseTimestamp(cursor.since) ?? 0;
      before = parseTimestamp(cursor.before ?? '') ?? untilMs;
      seen = new Set(cursor.seen);
      apiCursor = cursor.cursor;
    } else {
      since = rescanStart(cursor, this.#lookbackMs);
      before = untilMs;
      seen = new Set(since === (parseTimestamp(cursor.since) ?? 0) ? cursor.seen : []);
    }
    if (before <= since) return;
    const floor = cursor.floor === undefined ? {} : { floor: cursor.floor };

    // Ids of records at `before`: if the API's `before` is inclusive they come back first in the next window.
    const atBefore: string[] = [];
    let first = true;
    let reread = false;
    for (;;) {
      let response;
      try {
        response = await this.#client.get(
          this.#client.accountPath(AUDIT_LOGS_V2_PATH),
          {
            since: formatTimestamp(since),
            before: formatTimestamp(before),
            direction: 'asc',
            limit: this.#pageSize,
            cursor: apiCursor,
          },
          listResult(verbatim(v2RecordSchema)),
          signal,
          { permission: CLOUDFLARE_DATASETS.audit_logs.permission, dataset: this.dataset },
        );
      } catch (error) {
        if (first && isRouteMissing(error)) {
          this.#warnFallback(error);
          yield* this.#pullV1(toV1(cursor), untilMs, signal);
          return;
        }
        if (first && midWindow && !reread && error instanceof SourceError && error.code === 'SOURCE_REQUEST_REJECTED') {
          // A stored API cursor may have expired; reread the window from its start (the store dedupes by id).
          this.#logger.warn({ err: error }, 'Audit log cursor rejected; rereading the window');
          apiCursor = undefined;
          seen = new Set();
          reread = true;
          continue;
        }
        throw error;
      }
      first = false;
      const { result, resultInfo } = response;
      const fresh = result.filter((record) => !(v2Ms(record) === since && seen.has(record.id)));
      for (const record of result) if (v2Ms(record) === before) atBefore.push(record.id);
      this.#logger.debug({ received: result.length, fresh: fresh.length }, 'Page fetched');
      const next = resultInfo?.cursor;
      if (next !== undefined && next !== '' && result.length > 0) {
        if (next === apiCursor) throw repeatedCursor(since, before);
        apiCursor = next;
        yield {
          records: fresh,
          nextCursor: {
            api: 'v2',
            since: formatTimestamp(since),
            before: formatTimestamp(before),
            cursor: next,
            seen: cappedKeys([...seen]),
            scannedAt: formatTimestamp(before),
            ...floor,
          },
        };
        continue;
      }
      // The window is read, so its end is committed even when nothing came back: the next pull rereads only the
      // lookback before it, which catches late records as after any other window. A window begun in an earlier
      // pull also needs its end committed in place of its mid-window cursor, whose API cursor must not be reused.
      const windowRead: V2Cursor = {
        api: 'v2',
        since: formatTimestamp(before),
        seen: cappedKeys(atBefore),
        scannedAt: formatTimestamp(before),
        ...floor,
      };
      yield { records: fresh, nextCursor: windowRead };
      // A window begun in an earlier pull ends where that pull's clock stood, possibly days ago. The pipeline counts
      // one finished pull as caught up (`collect --once` pulls once), so this pull reads on from the committed end
      // to its own end, as the next pull would have.
      if (midWindow && before < untilMs) yield* this.#pullV2(windowRead, untilMs, signal);
      return;
    }
  }

  async *#pullV1(
    cursor: TimeWindowCursor,
    untilMs: number,
    signal: AbortSignal,
  ): AsyncGenerator<RawPage & { readonly nextCursor: AuditLogsCursor }> {
    const pages = timeWindowPages<V1Record>(cursor, {
      dataset: this.dataset,
      pageSize: this.#pageSize,
      lookbackMs: this.#lookbackMs,
      untilMs,
      logger: this.#logger,
      timeOf: v1Ms,
      keyOf: (record) => record.id,
      fetchPage: async ({ sinceMs, untilMs: until, page, pageSize }) =>
        (
          await this.#client.get(
            this.#client.accountPath(AUDIT_LOGS_V1_PATH),
            {
              // v1's `since` means "newer than" (spec-2024): a millisecond earlier brings back the records at
              // sinceMs, which time-window paging needs after it jumps to the last record of a full page.
              since: formatTimestamp(sinceMs - 1),
              before: formatTimestamp(until),
              direction: 'asc',
              page,
              per_page: pageSize,
            },
            listResult(verbatim(v1RecordSchema)),
            signal,
            { permission: CLOUDFLARE_DATASETS.audit_logs.permission, dataset: this.dataset },
          )
        ).result,
    });
    for await (const page of pages) yield { ...page, nextCursor: { ...page.nextCursor, api: 'v1' } };
  }

  #warnFallback(error: unknown): void {
    if (this.#warnedFallback) return;
    this.#warnedFallback = true;
    this.#logger.warn(
      { err: error },
      'Audit Logs v2 not available for this account; reading the v1 audit_logs endpoint',
    );
  }
}

/** The v1 cursor that continues where a v2 cursor stands: a window read part-way is read again from its start. */
function toV1(cursor: V2Cursor): TimeWindowCursor {
  const between = cursor.before === undefined;
  return {
    since: cursor.since,
    page: 1,
    seen: between ? cursor.seen : [],
    scannedAt: cursor.scannedAt,
    ...(cursor.floor === undefined ? {} : { floor: cursor.floor }),
  };
}

function v2Ms(record: V2Record): number {
  // The schema already proved the time parses.
  return parseTimestamp(record.action.time) ?? 0;
}

function v1Ms(record: V1Record): number {
  return parseTimestamp(record.when) ?? 0;
}

function repeatedCursor(sinceMs: number, beforeMs: number): SourceError {
  // Without this, an API that handed back the cursor it was given would return the same page forever.
  return new SourceError('SOURCE_RESPONSE_INVALID', {
    message: `Cloudflare returned the same audit log cursor twice for ${formatTimestamp(sinceMs)} to ${formatTimestamp(beforeMs)}; the cursor seems to be ignored.`,
    details: { since: formatTimestamp(sinceMs), before: formatTimestamp(beforeMs) },
  });
}
