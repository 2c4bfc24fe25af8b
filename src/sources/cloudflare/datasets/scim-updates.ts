import { z } from 'zod';
import type { Clock } from '../../../core/clock.js';
import type { Logger } from '../../../core/logger.js';
import type { RawPage, Source, SourceCursor } from '../../source.js';
import type { CloudflareClient } from '../client.js';
import { Lifecycle } from '../lifecycle.js';
import {
  cappedKeys,
  initialTimeWindowCursor,
  listAllPages,
  listResult,
  parseCursor,
  recordKey,
  rescanStart,
  rfc3339,
  timeWindowWithFloor,
  type TimeWindowCursor,
  timeWindowCursorSchema,
  timeWindowPages,
} from '../paginate.js';
import { formatTimestamp, parseTimestamp } from '../parse-timestamp.js';
import { CLOUDFLARE_DATASETS } from './catalogue.js';
import { LIST_INVENTORIES } from './list-inventory.js';
import { verbatim } from '../verbatim.js';

export const SCIM_UPDATES_DATASET = 'scim_updates';
export const SCIM_UPDATES_PATH = '/access/logs/scim/updates';

// Strict on what paging relies on, the time; the record has no id, so the key is built from what it says. The
// description requires none of the other fields, so they may be absent or of another type (the normalizer keeps
// such a value in `unmapped`) without the page being refused on every retry.
const scimUpdateSchema = z.looseObject({
  logged_at: rfc3339,
  idp_id: z.unknown().optional(),
  cf_resource_id: z.unknown().optional(),
  idp_resource_id: z.unknown().optional(),
  request_method: z.unknown().optional(),
  resource_type: z.unknown().optional(),
  status: z.unknown().optional(),
  request_body: z.unknown().optional(),
});
type ScimUpdate = z.infer<typeof scimUpdateSchema>;

const pageSchema = listResult(verbatim(scimUpdateSchema));
const identityProviderSchema = z.looseObject({ id: z.string().min(1) });

// Cloudflare answers 414 above 32 KB of URI (developers.cloudflare.com, error 414), and web servers and proxies
// on the way often stop at 8 KB request lines; at 4 KB a request still names about 90 identity providers.
const MAX_IDP_QUERY_CHARS = 4096;

const streamSchema = z.object({ idpIds: z.array(z.string().min(1)), window: timeWindowCursorSchema });
type ScimStream = z.infer<typeof streamSchema>;

const currentCursorSchema = z.object({
  streams: z.array(streamSchema).min(1),
  delisted: z.record(z.string(), rfc3339),
});

const scimUpdatesCursorSchema = z.union([
  currentCursorSchema,
  // Cursors written before identity providers were remembered: one window whose providers are listed again.
  timeWindowCursorSchema.transform((window): ScimUpdatesCursor => ({
    streams: [{ idpIds: [], window }],
    delisted: {},
  })),
]);

/**
 * Where a scim_updates pull resumes. Each stream is one time-window read (see paginate.ts) over the identity
 * providers it names, as many as fit one URL; an account has one stream unless it has more providers than that.
 * The providers stay in the cursor after `/access/identity_providers` stops listing them, because the SCIM log
 * still holds what they sent and can only be asked by `idp_id`: `delisted` says when each was first found
 * missing, and a provider is dropped once a stream's reads start after that.
 */
export type ScimUpdatesCursor = z.infer<typeof currentCursorSchema>;

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
 * requires `idp_id`, so every pull first lists the identity providers and asks for each of them and for each
 * provider the cursor remembers from earlier pulls (see `ScimUpdatesCursor`); with none there is nothing to pull.
 * Paged by time window, ascending by `logged_at`.
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
    return { streams: [{ idpIds: [], window: initialTimeWindowCursor(options.backfillFromMs) }], delisted: {} };
  }

  withFloor(cursorValue: SourceCursor, floorMs: number): ScimUpdatesCursor {
    const cursor = parseCursor(scimUpdatesCursorSchema, cursorValue, this.dataset);
    return {
      ...cursor,
      streams: cursor.streams.map((stream) => ({ ...stream, window: timeWindowWithFloor(stream.window, floorMs) })),
    };
  }

  async *pull(cursorValue: SourceCursor, signal: AbortSignal): AsyncIterable<RawPage> {
    const cursor = parseCursor(scimUpdatesCursorSchema, cursorValue, this.dataset);
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
    // Taken after the list came back: a provider it leaves out was deleted before this, so sent nothing later.
    const checkedMs = this.#clock.now();
    const planned = planStreams(
      cursor,
      identityProviders.map((idp) => idp.id),
      checkedMs,
      this.#lookbackMs,
    );
    const newlyDelisted = Object.keys(planned.delisted).filter((id) => cursor.delisted[id] === undefined);
    if (newlyDelisted.length > 0)
      this.#logger.info({ idpIds: newlyDelisted }, 'Identity provider no longer listed, its SCIM updates still read');

    const windows = planned.streams.map((stream) => stream.window);
    const current = (): ScimUpdatesCursor => ({
      streams: planned.streams.map((stream, i) => ({ idpIds: stream.idpIds, window: windows[i] ?? stream.window })),
      delisted: planned.delisted,
    });
    let yielded = false;
    for (const [i, stream] of planned.streams.entries()) {
      if (stream.idpIds.length === 0) continue;
      const pages = timeWindowPages<ScimUpdate>(stream.window, {
        dataset: this.dataset,
        pageSize: this.#pageSize,
        lookbackMs: this.#lookbackMs,
        untilMs,
        logger: this.#logger,
        timeOf: loggedMs,
        keyOf: scimKey,
        fetchPage: async ({ sinceMs, untilMs: until, page, pageSize }) =>
          (
            await client.get(
              client.accountPath(SCIM_UPDATES_PATH),
              {
                idp_id: stream.idpIds,
                since: formatTimestamp(sinceMs),
                until: formatTimestamp(until),
                direction: 'asc',
                page,
                per_page: pageSize,
              },
              pageSchema,
              combined,
              { permission: CLOUDFLARE_DATASETS.scim_updates.permission, dataset: this.dataset },
            )
          ).result,
      });
      for await (const page of pages) {
        windows[i] = page.nextCursor;
        yielded = true;
        yield { ...page, nextCursor: current() };
      }
    }
    if (planned.streams.every((stream) => stream.idpIds.length === 0))
      this.#logger.debug({}, 'No identity provider, nothing to pull');
    // Which providers to remember must be kept even by a pull that read nothing new, or a provider listed only
    // then and deleted before the next pull would be forgotten with its late records.
    if (!yielded && JSON.stringify(planned) !== JSON.stringify(cursor)) yield { records: [], nextCursor: current() };
  }
}

function idpQueryChars(id: string): number {
  return `idp_id=${encodeURIComponent(id)}&`.length;
}

/**
 * Which providers each stream asks for in this pull: every stream keeps its providers while they are listed, and
 * a provider no longer listed until the stream's reads start after it was found missing, since it sent nothing
 * after that. A provider listed for the first time joins the stream whose reads start earliest, so that nothing
 * it sent before is skipped, and starts a copy of that stream when it does not fit in one URL. Streams that have
 * reached the same point are merged again.
 */
function planStreams(
  cursor: ScimUpdatesCursor,
  listedIds: readonly string[],
  checkedMs: number,
  lookbackMs: number,
): ScimUpdatesCursor {
  const listed = new Set(listedIds);
  const delisted: Record<string, string> = {};
  const placed = new Set<string>();
  const streams: ScimStream[] = cursor.streams.map((stream) => {
    const from = rescanStart(stream.window, lookbackMs);
    const idpIds = stream.idpIds.filter((id) => {
      if (!listed.has(id)) {
        const missingSince = cursor.delisted[id] ?? formatTimestamp(checkedMs);
        if (from >= (parseTimestamp(missingSince) ?? checkedMs)) return false;
        delisted[id] = missingSince;
      }
      placed.add(id);
      return true;
    });
    return { idpIds, window: stream.window };
  });

  const startOf = (stream: ScimStream): number => rescanStart(stream.window, lookbackMs);
  const chars = (ids: readonly string[]): number => ids.reduce((sum, id) => sum + idpQueryChars(id), 0);
  const earliest = streams.reduce((a, b) => (startOf(b) < startOf(a) ? b : a));
  let joining = earliest;
  for (const id of listedIds) {
    if (placed.has(id)) continue;
    placed.add(id);
    if (joining.idpIds.length > 0 && chars(joining.idpIds) + idpQueryChars(id) > MAX_IDP_QUERY_CHARS) {
      joining = { idpIds: [], window: earliest.window };
      streams.push(joining);
    }
    joining.idpIds = [...joining.idpIds, id];
  }

  const merged: ScimStream[] = [];
  for (const stream of streams) {
    if (stream.idpIds.length === 0) continue;
    const into = merged.find(
      (other) =>
        samePoint(other.window, stream.window) && chars(other.idpIds) + chars(stream.idpIds) <= MAX_IDP_QUERY_CHARS,
    );
    if (into === undefined) merged.push({ ...stream });
    else {
      into.idpIds = [...into.idpIds, ...stream.idpIds];
      // Keys name the provider, so one stream's keys never match another stream's records.
      into.window = { ...into.window, seen: cappedKeys([...into.window.seen, ...stream.window.seen]) };
    }
  }
  // With no provider left, the earliest window is kept for the next one to start from.
  return { streams: merged.length > 0 ? merged : [{ idpIds: [], window: earliest.window }], delisted };
}

function samePoint(a: TimeWindowCursor, b: TimeWindowCursor): boolean {
  return a.since === b.since && a.page === b.page && a.scannedAt === b.scannedAt && a.floor === b.floor;
}

function scimKey(record: ScimUpdate): string {
  return recordKey([
    loggedMs(record),
    record.idp_id ?? '',
    record.cf_resource_id ?? '',
    record.idp_resource_id ?? '',
    record.request_method ?? '',
    record.resource_type ?? '',
    record.status ?? '',
    record.request_body ?? '',
  ]);
}

function loggedMs(record: ScimUpdate): number {
  // The schema already proved logged_at parses.
  return parseTimestamp(record.logged_at) ?? 0;
}
