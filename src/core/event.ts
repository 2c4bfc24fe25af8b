/** Outcome of the action an event records, as analysts filter on it. */
export const OUTCOMES = ['success', 'failure', 'unknown'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * One collected event after normalization. The flat fields are the ones analysts filter on and the store
 * indexes; `ocsf` is the full standard event and `raw` the record exactly as the API returned it.
 */
export interface NormalizedEvent {
  /** Deterministic identity: the same upstream record always yields the same id, so storing it twice is impossible. */
  readonly id: string;
  /** Event time, epoch milliseconds UTC. */
  readonly time: number;
  readonly sourceName: string;
  readonly accountId: string;
  readonly dataset: string;
  readonly classUid: number;
  readonly activity: string;
  readonly outcome: Outcome;
  readonly user: string | null;
  readonly srcIp: string | null;
  readonly country: string | null;
  readonly app: string | null;
  readonly appUid: string | null;
  readonly idp: string | null;
  readonly rayId: string | null;
  readonly ocsf: Readonly<Record<string, unknown>>;
  readonly raw: unknown;
  /**
   * Text that `JSON.stringify(ocsf)` begins with, when the normalizer knows it: one object for every event of a
   * kind (source, activity, outcome), so a store may keep the text once. Only a hint; a store checks it first.
   */
  readonly ocsfHead?: SharedText;
}

/** A text many events share, one object for all of them, so a store can tell it by identity. */
export interface SharedText {
  readonly text: string;
}

/** A record the normalizer could not map; it is counted with its reason, never silently dropped. */
export interface Rejected {
  readonly rejected: true;
  readonly reason: string;
}

export function isRejected(value: NormalizedEvent | Rejected): value is Rejected {
  return 'rejected' in value;
}
