import { jsonTextOf, MAX_VALUE_DEPTH, nestedDeeperThan } from '../core/deep-json.js';
import { isRejected, type NormalizedEvent } from '../core/event.js';
import { exactTextOf } from '../core/exact-records.js';
import type { Normalizer, NormalizeMeta } from '../normalize/schema.js';

/**
 * The events of one page of records, normalized (and enriched) while the store iterates them, so that each
 * event's objects die young instead of a whole page of them outliving the young generation. Every iteration
 * normalizes the records again and yields the same events; the counts describe the latest complete one.
 */
export class NormalizedPage implements Iterable<NormalizedEvent> {
  readonly #records: readonly unknown[];
  readonly #normalize: Normalizer;
  readonly #meta: NormalizeMeta;
  readonly #enrich: ((event: NormalizedEvent) => NormalizedEvent) | undefined;
  #rejections = new Map<string, number>();
  #newestEventMs: number | null = null;
  #oldestEventMs: number | null = null;

  constructor(
    records: readonly unknown[],
    normalize: Normalizer,
    meta: NormalizeMeta,
    enrich?: (event: NormalizedEvent) => NormalizedEvent,
  ) {
    this.#records = records;
    this.#normalize = normalize;
    this.#meta = meta;
    this.#enrich = enrich;
  }

  /** Records the normalizer rejected, by its reason. */
  get rejections(): ReadonlyMap<string, number> {
    return this.#rejections;
  }

  get rejected(): number {
    let count = 0;
    for (const n of this.#rejections.values()) count += n;
    return count;
  }

  /** Newest event time, epoch ms; null when the page held no events. */
  get newestEventMs(): number | null {
    return this.#newestEventMs;
  }

  get oldestEventMs(): number | null {
    return this.#oldestEventMs;
  }

  *[Symbol.iterator](): Iterator<NormalizedEvent> {
    const rejections = new Map<string, number>();
    let newest: number | null = null;
    let oldest: number | null = null;
    for (const record of this.#records) {
      const outcome = this.#normalize(record, this.#meta);
      if (isRejected(outcome)) {
        rejections.set(outcome.reason, (rejections.get(outcome.reason) ?? 0) + 1);
        continue;
      }
      if (newest === null || outcome.time > newest) newest = outcome.time;
      if (oldest === null || outcome.time < oldest) oldest = outcome.time;
      // A record whose numbers parsing could not keep is kept as the text Cloudflare sent (see exact-records.ts).
      // One nested deeper than any real one would overflow the stack of whatever writes, copies or shows it (the
      // store, the detection thread, the search output): it is kept as its JSON text.
      const exact = exactTextOf(record);
      const event =
        exact !== undefined
          ? { ...outcome, raw: exact }
          : nestedDeeperThan(record, MAX_VALUE_DEPTH)
            ? { ...outcome, raw: jsonTextOf(record) }
            : outcome;
      yield this.#enrich === undefined ? event : this.#enrich(event);
    }
    this.#rejections = rejections;
    this.#newestEventMs = newest;
    this.#oldestEventMs = oldest;
  }
}
