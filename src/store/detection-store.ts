import { createHash } from 'node:crypto';
import type { NormalizedEvent } from '../core/event.js';

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ALERT_STATUSES = ['open', 'acknowledged', 'closed'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export const CLOSE_REASONS = ['true_positive', 'benign', 'false_positive'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** Who or what an alert is about; any part may be unknown. */
export interface AlertEntity {
  readonly user: string | null;
  readonly ip: string | null;
  readonly app: string | null;
}

export interface EvidenceRef {
  readonly eventId: string;
  readonly eventTime: number;
}

/** One conclusion of one rule, before it is grouped into an alert. */
export interface AlertFiring {
  readonly ruleId: string;
  readonly title: string;
  readonly severity: Severity;
  readonly technique: string;
  /** What makes two firings "the same alert": the rule's grouping key (a user, an IP, a /24, …). */
  readonly entityKey: string;
  readonly entity: AlertEntity;
  readonly summary: string;
  readonly evidence: readonly EvidenceRef[];
  readonly details: Readonly<Record<string, unknown>>;
  /** Firings of one rule and entity this close in event time join one alert. */
  readonly suppressMs: number;
}

export interface StoredAlert {
  readonly id: string;
  readonly ruleId: string;
  readonly entityKey: string;
  readonly title: string;
  readonly severity: Severity;
  readonly technique: string;
  readonly entity: AlertEntity;
  readonly firstEventTime: number;
  readonly lastEventTime: number;
  /** Distinct evidence events. */
  readonly count: number;
  readonly summary: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly status: AlertStatus;
  readonly closeReason: CloseReason | null;
  readonly assignee: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface AlertHistoryEntry {
  readonly at: number;
  readonly actor: string;
  readonly action: 'created' | 'grew' | 'escalated' | 'acknowledged' | 'closed' | 'reopened' | 'assigned' | 'commented';
  readonly details: Readonly<Record<string, unknown>>;
}

/** A change an analyst makes; absent parts stay as they are. Closing requires a reason. */
export interface AlertChange {
  readonly status?: AlertStatus;
  readonly closeReason?: CloseReason;
  readonly assignee?: string | null;
  readonly comment?: string;
}

export interface AlertQuery {
  readonly status?: AlertStatus;
  readonly ruleId?: string;
  readonly limit: number;
}

/** One state entry of one rule; `value` null deletes it. */
export interface DetectionStateWrite {
  readonly ruleId: string;
  readonly key: string;
  readonly value: string | null;
}

/**
 * Everything one evaluation step produced. It commits only if the stored offset still equals `fromOffset`,
 * so two evaluators never both apply the same events.
 */
export interface DetectionCommit {
  readonly offsetName: string;
  readonly fromOffset: number;
  readonly toOffset: number;
  readonly state: readonly DetectionStateWrite[];
  readonly firings: readonly AlertFiring[];
}

export interface DetectionCommitResult {
  readonly committed: boolean;
  readonly created: number;
  readonly updated: number;
}

/** An event with its position in the store's insertion order. */
export interface SequencedEvent {
  readonly seq: number;
  readonly event: NormalizedEvent;
}

export interface RuleAllowList {
  readonly users: readonly string[];
  readonly ips: readonly string[];
  readonly apps: readonly string[];
  readonly countries: readonly string[];
}

/** What an operator changed about one rule; `enabled` null keeps the rule file's default. */
export interface RuleSetting {
  readonly ruleId: string;
  readonly enabled: boolean | null;
  readonly overrides: Readonly<Record<string, unknown>>;
  readonly allow: RuleAllowList;
  readonly updatedAt: number;
  readonly updatedBy: string;
}

/** The detection part of the Store contract. */
export interface DetectionStore {
  /** Events stored after position `afterSeq`, in insertion order, at most `limit`. */
  eventsAfter(afterSeq: number, limit: number): Promise<readonly SequencedEvent[]>;
  /** The last position the named evaluator committed; 0 before its first commit. */
  detectionOffset(name: string): Promise<number>;
  detectionState(ruleId: string, keys: readonly string[]): Promise<ReadonlyMap<string, string>>;
  /** Applies state, alerts and the new offset in one transaction (see DetectionCommit). */
  commitDetections(commit: DetectionCommit): Promise<DetectionCommitResult>;

  listAlerts(query: AlertQuery): Promise<readonly StoredAlert[]>;
  getAlert(id: string): Promise<StoredAlert | undefined>;
  alertEvidence(id: string): Promise<readonly EvidenceRef[]>;
  alertHistory(id: string): Promise<readonly AlertHistoryEntry[]>;
  /** Applies an analyst's change and records it; NotFoundError ALERT_NOT_FOUND for an unknown id. */
  changeAlert(id: string, change: AlertChange, actor: string): Promise<StoredAlert>;

  ruleSettings(): Promise<readonly RuleSetting[]>;
  saveRuleSetting(setting: RuleSetting): Promise<void>;
}

/**
 * The id an alert gets from its rule, entity and earliest evidence event: the same firing always names the
 * same alert, which is what keeps a replay from raising it twice.
 */
export function alertIdFor(ruleId: string, entityKey: string, firstEventId: string): string {
  const digest = createHash('sha256').update(`${ruleId}\u0000${entityKey}\u0000${firstEventId}`).digest('hex');
  return `al_${digest.slice(0, 24)}`;
}

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}
