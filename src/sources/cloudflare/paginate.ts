import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SourceError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Reread } from '../source.js';
import type { CloudflareClient, Query } from './client.js';
import { formatTimestamp, parseTimestamp } from './parse-timestamp.js';

/**
 * The `result` of a list: the collection envelopes of the description declare it nullable, so `null` is a list
 * without items, not an answer to retry forever.
 */
export function listResult<S extends z.ZodType>(item: S) {
  return z
    .array(item)
    .nullable()
    .transform((items): z.output<S>[] => items ?? []);
}

/** An RFC 3339 date-time, any offset and precision. */
export const rfc3339 = z
  .string()
  .refine((text) => parseTimestamp(text) !== undefined, 'expected an RFC 3339 date-time');

export const timeWindowCursorSchema = z.object({
  since: rfc3339,
  page: z.number().int().min(1),
  seen: z.array(z.string()),
  scannedAt: rfc3339,
  /**
   * The backfill start, before which the lookback never reaches. Every cursor after the first keeps it, as a pull
   * that caught up soon after the start would otherwise reread, and store, what came before it. Absent on cursors
   * written before it was kept.
   */
  floor: rfc3339.optional(),
});

/**
 * Where a time-window pull resumes. `since` and `page` name the next request; `seen` holds the keys of records
 * at `since` already handed out; `scannedAt` is when everything before `since` was last read (the `until` of the
 * pull that wrote the cursor), which bounds how far back late events are looked for.
 */
export type TimeWindowCursor = z.infer<typeof timeWindowCursorSchema>;

// Boundary keys are only a guard against re-sending (the store dedupes by event id); past this many at one
// timestamp the oldest are dropped, which can re-send a record but never loses one.
const MAX_SEEN_KEYS = 10_000;

/** The cursor of a dataset that has never been pulled: everything from `backfillFromMs` on. */
export function initialTimeWindowCursor(backfillFromMs: number): TimeWindowCursor {
  const from = formatTimestamp(backfillFromMs);
  return { since: from, page: 1, seen: [], scannedAt: from, floor: from };
}

/**
 * `cursor` read from `floorMs` on at the earliest (see Source.withFloor). Raising `floor` is enough: the pull reads
 * from `rescanStart`, which never lies before it, and starts that read at page 1 with no keys seen when `since`
 * lies behind it.
 */
export function timeWindowWithFloor<C extends TimeWindowCursor>(cursor: C, floorMs: number): C {
  const floor = cursor.floor === undefined ? undefined : parseTimestamp(cursor.floor);
  if (floor !== undefined && floor >= floorMs) return cursor;
  return { ...cursor, floor: formatTimestamp(floorMs) };
}

/** Parses a stored cursor with `schema`; a cursor this source did not write is an error the operator must clear. */
export function parseCursor<S extends z.ZodType>(schema: S, value: unknown, dataset: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new SourceError('SOURCE_CURSOR_INVALID', {
    message: `The stored ${dataset} cursor is not valid; reset the data source to start it again.`,
    details: { issues: parsed.error.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.code}`) },
  });
}

/**
 * Where a pull of a time-window cursor starts reading: the lookback before the last scan, since records show up
 * in the API minutes after their time, but never before `since` in a backfill (scannedAt - lookback lies after
 * it there) nor before the backfill start the cursor carries as `floor`. Returns epoch ms.
 */
export function rescanStart(
  cursor: { readonly since: string; readonly scannedAt: string; readonly floor?: string | undefined },
  lookbackMs: number,
): number {
  const since = parseTimestamp(cursor.since) ?? 0;
  const scannedAt = parseTimestamp(cursor.scannedAt) ?? since;
  const floor = cursor.floor === undefined ? -Infinity : (parseTimestamp(cursor.floor) ?? -Infinity);
  return Math.max(floor, Math.min(since, scannedAt - lookbackMs));
}

/** A deterministic key of one record, short enough to keep thousands of them in a cursor. */
export function recordKey(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 24);
}

/** The last `MAX_SEEN_KEYS` keys. */
export function cappedKeys(keys: readonly string[]): string[] {
  return keys.length > MAX_SEEN_KEYS ? keys.slice(keys.length - MAX_SEEN_KEYS) : [...keys];
}

export interface TimeWindowRequest {
  readonly sinceMs: number;
  readonly untilMs: number;
  /** 1-based page within `since`; above 1 only while a burst at one timestamp fills whole pages. */
  readonly page: number;
  /** Records to ask for: the configured page size, or less once the API refused that many (see timeWindowPages). */
  readonly pageSize: number;
}

// Smaller pages to ask for when the API refuses a page as large as configured with a 400. Cloudflare documents no
// maximum for the access_requests `limit` (its default is 25); a refusal of every size is the API's answer.
const FALLBACK_PAGE_SIZES = [100, 25] as const;

function refusedAsTooLarge(error: unknown): boolean {
  return error instanceof SourceError && error.code === 'SOURCE_REQUEST_REJECTED' && error.details['status'] === 400;
}

export interface TimeWindowOptions<R> {
  readonly dataset: string;
  /** Records asked for per request; a page this long, or as long as the API's own cap, means more may follow. */
  readonly pageSize: number;
  /** Told the smaller page size taken after the API refused `pageSize`, so that later pulls start with it. */
  readonly onSmallerPages?: (pageSize: number) => void;
  /** How far before the last scan each pull rereads, for events that appear in the API late. */
  readonly lookbackMs: number;
  /** The end of this pull's window. */
  readonly untilMs: number;
  readonly logger: Logger;
  /**
   * Fetches one page of the records in [since, until], oldest first, `pageSize` at most. An endpoint whose `since`
   * is exclusive is asked from a millisecond earlier, and its records before `since` are dropped here.
   */
  readonly fetchPage: (request: TimeWindowRequest) => Promise<readonly R[]>;
  /** The record's time in epoch milliseconds. */
  readonly timeOf: (record: R) => number;
  /** A key that tells two records at the same millisecond apart. */
  readonly keyOf: (record: R) => string;
}

/**
 * Pages a log endpoint that has no cursor of its own by time window: ascending from `since`, jumping `since`
 * forward to the last record of each full page (the API's `since` is taken as inclusive, so the records at the
 * jump come back first and are filtered by key), and paging within a timestamp only when a burst fills a whole
 * page. Each yielded page carries the cursor that follows it. A window read to its end with nothing new still
 * yields one page without records, so that its end is committed: the next pull then rereads only the lookback
 * before it, as after any other page, instead of the whole window again.
 */
export async function* timeWindowPages<R>(
  cursor: TimeWindowCursor,
  options: TimeWindowOptions<R>,
): AsyncGenerator<{ readonly records: readonly R[]; readonly nextCursor: TimeWindowCursor; readonly reread?: Reread }> {
  const { timeOf, keyOf } = options;
  let pageSize = options.pageSize;
  const until = options.untilMs;
  const cursorSince = parseTimestamp(cursor.since) ?? 0;
  const rescanFrom = rescanStart(cursor, options.lookbackMs);
  const resuming = rescanFrom === cursorSince;
  let since = rescanFrom;
  let page = resuming ? cursor.page : 1;
  let seen = new Set(resuming ? cursor.seen : []);
  let last: TimeWindowCursor = cursor;
  const floor = cursor.floor === undefined ? {} : { floor: cursor.floor };
  let fullSize = pageSize;
  if (until <= since) return;
  const reread: Reread | undefined =
    rescanFrom < cursorSince
      ? {
          readBeforeMs: cursorSince,
          readAtMs: parseTimestamp(cursor.scannedAt) ?? cursorSince,
          lookbackMs: options.lookbackMs,
        }
      : undefined;

  for (;;) {
    let result: readonly R[];
    try {
      result = await options.fetchPage({ sinceMs: since, untilMs: until, page, pageSize });
    } catch (error) {
      const smaller = refusedAsTooLarge(error) ? FALLBACK_PAGE_SIZES.find((size) => size < pageSize) : undefined;
      if (smaller === undefined) throw error;
      options.logger.warn({ err: error, pageSize, smaller }, 'Page size refused; asking for smaller pages');
      // A page number counts pages of the old size; from page 1 of `since` the records already handed out there
      // are known by key.
      pageSize = smaller;
      fullSize = smaller;
      page = 1;
      options.onSmallerPages?.(smaller);
      continue;
    }
    // Records before `since` were handed out by an earlier page: an endpoint asked from just before `since`
    // (one whose `since` means "newer than") may send them again.
    const fresh = result.filter((record) => {
      const at = timeOf(record);
      return at > since || (at === since && !seen.has(keyOf(record)));
    });
    options.logger.debug({ page, received: result.length, fresh: fresh.length }, 'Page fetched');

    // Cloudflare documents no maximum for `limit` on access_requests: an API that serves fewer records than asked
    // must not be read as "nothing more". The first short page with new records is taken as the API's real page
    // size, so the pull goes on from its last record; only a page shorter than that ends the pull. When the short
    // page really was the end this costs one more request, which returns only the boundary records.
    if (fullSize === pageSize && result.length > 0 && result.length < pageSize && fresh.length > 0) {
      fullSize = result.length;
    }
    let next: TimeWindowCursor;
    let done = false;
    if (result.length < fullSize) {
      // A short page: nothing else in [since, until]. The next pull starts at until.
      const atUntil = result.filter((record) => timeOf(record) === until).map(keyOf);
      next = {
        since: formatTimestamp(until),
        page: 1,
        seen: cappedKeys(atUntil),
        scannedAt: formatTimestamp(until),
        ...floor,
      };
      done = true;
    } else {
      const lastMs = timeOf(result[result.length - 1] as R);
      if (lastMs > since) {
        since = lastMs;
        page = 1;
        seen = new Set(result.filter((record) => timeOf(record) === lastMs).map(keyOf));
      } else {
        // A burst at one timestamp fills the whole page: moving since cannot help, so page within it. Page 1
        // right after a jump may repeat the previous page; a later page made only of repeats cannot be right.
        if (fresh.length === 0 && page > 1) throw repeatedPage(options.dataset, since, page);
        page += 1;
        for (const record of result) if (timeOf(record) === since) seen.add(keyOf(record));
      }
      next = {
        since: formatTimestamp(since),
        page,
        seen: cappedKeys([...seen]),
        scannedAt: formatTimestamp(until),
        ...floor,
      };
    }

    // Records that show up late are looked for by the lookback of the next pull, so a window found empty may be
    // passed like one that held records; what it must not do is move the cursor past records not handed out.
    if (fresh.length > 0 || !sameCursor(next, last)) {
      yield { records: fresh, nextCursor: next, ...(reread === undefined ? {} : { reread }) };
      last = next;
    }
    if (done) return;
  }
}

function sameCursor(a: TimeWindowCursor, b: TimeWindowCursor): boolean {
  return (
    a.since === b.since &&
    a.page === b.page &&
    a.scannedAt === b.scannedAt &&
    a.seen.length === b.seen.length &&
    a.seen.every((key, i) => b.seen[i] === key)
  );
}

function repeatedPage(dataset: string, sinceMs: number, page: number): SourceError {
  // Without this, an API that ignored `page` would hand back the same full page forever.
  return new SourceError('SOURCE_RESPONSE_INVALID', {
    message: `Cloudflare returned only records already seen for page ${page} of ${dataset} at ${formatTimestamp(sinceMs)}; the page parameter seems to be ignored.`,
    details: { dataset, since: formatTimestamp(sinceMs), page },
  });
}

/** What a list item must carry: an id to dedupe and compare by. */
export type Identified = { readonly id: string } & Readonly<Record<string, unknown>>;

export interface ListOptions {
  readonly dataset: string;
  readonly permission: string;
  readonly signal: AbortSignal;
  /** Items per request, at most 1000 where the API documents a limit. */
  readonly pageSize: number;
  /** Extra query parameters sent with every page. */
  readonly query?: Query;
}

/**
 * Every item of a page-based list (`page`, `per_page`, `result_info {page, per_page, count, total_count,
 * total_pages}`). It follows `total_pages` when the API sends it, else `total_count`, else stops at a short page;
 * it fails rather than loop when a page repeats only items already read (an API that ignores `page`), and rather
 * than return fewer items than `total_count` promised.
 */
export async function listAllPages<S extends z.ZodType<Identified>>(
  client: CloudflareClient,
  path: string,
  itemSchema: S,
  options: ListOptions,
): Promise<z.output<S>[]> {
  const items = new Map<string, z.output<S>>();
  let expected: number | undefined;
  for (let page = 1; ; page++) {
    const { result, resultInfo } = await client.get(
      path,
      { ...options.query, page, per_page: options.pageSize },
      listResult(itemSchema),
      options.signal,
      { permission: options.permission, dataset: options.dataset },
    );
    const before = items.size;
    for (const item of result) items.set(item.id, item);
    if (page > 1 && result.length > 0 && items.size === before) throw ignoredPage(options.dataset, page);
    expected = resultInfo?.totalCount ?? expected;
    const perPage = resultInfo?.perPage ?? options.pageSize;
    const totalPages = resultInfo?.totalPages;
    const more =
      totalPages !== undefined
        ? page < totalPages
        : expected !== undefined
          ? items.size < expected && result.length > 0
          : result.length >= perPage && result.length > 0;
    if (!more) break;
  }
  if (expected !== undefined && items.size < expected) throw incompleteList(options.dataset, items.size, expected);
  return [...items.values()];
}

/**
 * Every item of a cursor-paged list (`cursor` in the request, `result_info.cursor` in the answer, empty or absent
 * on the last page). Fails rather than loop when the API hands back the cursor it was given or a page of items
 * already read, and rather than return fewer items than `total_count` promised.
 */
export async function listAllCursorPages<S extends z.ZodType<Identified>>(
  client: CloudflareClient,
  path: string,
  itemSchema: S,
  options: ListOptions,
): Promise<z.output<S>[]> {
  const items = new Map<string, z.output<S>>();
  let cursor: string | undefined;
  let expected: number | undefined;
  for (let page = 1; ; page++) {
    const { result, resultInfo } = await client.get(
      path,
      { ...options.query, per_page: options.pageSize, cursor },
      listResult(itemSchema),
      options.signal,
      { permission: options.permission, dataset: options.dataset },
    );
    const before = items.size;
    for (const item of result) items.set(item.id, item);
    if (page > 1 && result.length > 0 && items.size === before) throw ignoredPage(options.dataset, page);
    expected = resultInfo?.totalCount ?? expected;
    const next = resultInfo?.cursor;
    if (next === undefined || next === '' || result.length === 0) break;
    if (next === cursor) throw ignoredPage(options.dataset, page + 1);
    cursor = next;
  }
  if (expected !== undefined && items.size < expected) throw incompleteList(options.dataset, items.size, expected);
  return [...items.values()];
}

function ignoredPage(dataset: string, page: number): SourceError {
  return new SourceError('SOURCE_RESPONSE_INVALID', {
    message: `Cloudflare returned only items already read for page ${page} of ${dataset}; the API seems to ignore paging, so the list cannot be read whole.`,
    details: { dataset, page },
  });
}

function incompleteList(dataset: string, received: number, expected: number): SourceError {
  // Usually the list changed while it was read; the next snapshot reads it again.
  return new SourceError('SOURCE_RESPONSE_INVALID', {
    message: `Cloudflare listed ${received} ${dataset} items but said there are ${expected}; the snapshot is discarded and will be taken again.`,
    details: { dataset, received, expected },
  });
}
