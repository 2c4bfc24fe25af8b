import { createHash } from 'node:crypto';
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

/**
 * The id of the alert a finding opens when the alert its evidence names (`closedId`) is closed. It is derived,
 * never random, so a step repeated after a crash, or the same finding raised twice, names the same new alert;
 * after that one is closed too, the next finding takes the id after it.
 */
export function alertIdAfterClosed(closedId: string): string {
  return `al_${createHash('sha256').update(`${closedId}\u0000after-close`).digest('hex').slice(0, 24)}`;
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

/**
 * The summary an alert shows once a firing joined it: the firing's own, so it describes the same events as the
 * entity beside it, and the alert's count when that differs from the firing's, so the firing's numbers (a
 * window's "denied 12 times") are never read as the alert's.
 */
export function groupedSummary(firing: AlertFiring, alertEvents: number): string {
  const firingEvents = new Set(firing.evidence.map((ref) => ref.eventId)).size;
  return alertEvents === firingEvents ? firing.summary : `${firing.summary}; ${alertEvents} events in this alert`;
}

/** What one commit did to alerts that existed before it, for the `grew` entry each gets in its history. */
export class AlertGrowth {
  readonly #created = new Set<string>();
  readonly #grown = new Map<string, { from: number; to: number; summary: string }>();

  created(id: string): void {
    this.#created.add(id);
  }

  grew(id: string, from: number, to: number, summary: string): void {
    // An alert raised in this commit was never seen smaller; its `created` entry is enough.
    if (this.#created.has(id)) return;
    const earlier = this.#grown.get(id);
    this.#grown.set(id, { from: earlier?.from ?? from, to, summary });
  }

  /** One entry per alert and commit, so an attack that feeds an alert for hours does not flood its history. */
  entries(): readonly (readonly [id: string, details: Readonly<Record<string, unknown>>])[] {
    return [...this.#grown.entries()];
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
