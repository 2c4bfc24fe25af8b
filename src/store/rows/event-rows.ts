import type { NormalizedEvent, Outcome } from '../../core/event.js';

/** The flat columns and JSON bodies of a stored event, as both stores read them. */
export interface EventRow {
  readonly id: string;
  readonly time: number;
  readonly source: string;
  readonly account_id: string;
  readonly dataset: string;
  readonly class_uid: number;
  readonly activity: string;
  readonly outcome: string;
  readonly user_name: string | null;
  readonly src_ip: string | null;
  readonly country: string | null;
  readonly app: string | null;
  readonly app_uid: string | null;
  readonly idp: string | null;
  readonly ray_id: string | null;
  readonly ocsf: string;
  readonly raw: string;
}

/**
 * The event a row holds. `ocsfJson` is the whole OCSF document; it defaults to the row's own column and is given
 * where the store keeps parts of the document apart and joins them first.
 */
export function rowToEvent(row: EventRow, ocsfJson: string = row.ocsf): NormalizedEvent {
  // A plain copy of the lazy event: the copy reads both documents, so they are parsed here.
  return { ...rowToLazyEvent(row, () => ocsfJson, row.raw) };
}

/**
 * The event a row holds, with its OCSF and raw documents parsed on first read. Rules test the flat columns of
 * almost every event and the documents of few, and parsing both took a quarter of the collector's time when
 * every event was evaluated. The documents are getters of the object itself, so a spread copy still has them.
 */
export function rowToLazyEvent(
  row: Omit<EventRow, 'ocsf' | 'raw'>,
  ocsfJson: () => string,
  rawJson: string | (() => string),
): NormalizedEvent {
  let ocsf: Record<string, unknown> | undefined;
  let raw: { readonly value: unknown } | undefined;
  return {
    id: row.id,
    time: row.time,
    sourceName: row.source,
    accountId: row.account_id,
    dataset: row.dataset,
    classUid: row.class_uid,
    activity: row.activity,
    outcome: row.outcome as Outcome,
    user: row.user_name,
    srcIp: row.src_ip,
    country: row.country,
    app: row.app,
    appUid: row.app_uid,
    idp: row.idp,
    rayId: row.ray_id,
    get ocsf(): Record<string, unknown> {
      ocsf ??= JSON.parse(ocsfJson()) as Record<string, unknown>;
      return ocsf;
    },
    get raw(): unknown {
      raw ??= { value: JSON.parse(typeof rawJson === 'string' ? rawJson : rawJson()) as unknown };
      return raw.value;
    },
  };
}
