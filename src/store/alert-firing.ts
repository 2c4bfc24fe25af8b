import { AppError } from '../core/errors.js';
import { alertIdFor, severityRank, type AlertFiring, type EvidenceRef, type StoredAlert } from './detection-store.js';

/** A firing's evidence from oldest to newest, its first and last event, and the id a new alert for it gets. */
export interface FiringSpan {
  readonly evidence: readonly EvidenceRef[];
  readonly first: EvidenceRef;
  readonly last: EvidenceRef;
  readonly id: string;
}

/** Ties in time are broken by event id, so the same evidence always names the same alert. */
export function firingSpan(firing: AlertFiring): FiringSpan {
  const evidence = [...firing.evidence].sort((a, b) => a.eventTime - b.eventTime || compare(a.eventId, b.eventId));
  const first = evidence[0];
  const last = evidence[evidence.length - 1];
  if (first === undefined || last === undefined) {
    throw new AppError('INTERNAL', { message: `Rule ${firing.ruleId} fired without evidence.` });
  }
  return { evidence, first, last, id: alertIdFor(firing.ruleId, firing.entityKey, first.eventId) };
}

/** A grouped alert keeps the higher of its own severity and the new firing's; it never drops. */
export function groupedSeverity(
  existing: { readonly severity: StoredAlert['severity'] } | undefined,
  firing: AlertFiring,
): StoredAlert['severity'] {
  return existing !== undefined && severityRank(existing.severity) > severityRank(firing.severity)
    ? existing.severity
    : firing.severity;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
