import { AppError, NotFoundError } from '../../core/errors.js';
import type { AlertChange, AlertHistoryEntry, EvidenceRef, RuleSetting, StoredAlert } from '../detection-store.js';

/** The actor named in the history of changes the detector makes itself. */
export const SYSTEM_ACTOR = 'zerotrail';

const MAX_ALERT_LIMIT = 10_000;

/** An `alerts` row as both stores read it. */
export interface AlertRow {
  readonly id: string;
  readonly rule_id: string;
  readonly entity_key: string;
  readonly title: string;
  readonly severity: StoredAlert['severity'];
  readonly technique: string;
  readonly entity_user: string | null;
  readonly entity_ip: string | null;
  readonly entity_app: string | null;
  readonly first_event_time: number;
  readonly last_event_time: number;
  readonly event_count: number;
  readonly summary: string;
  readonly details: string;
  readonly status: StoredAlert['status'];
  readonly close_reason: StoredAlert['closeReason'];
  readonly assignee: string | null;
  readonly created_at: number;
  readonly updated_at: number;
}

export interface AlertHistoryRow {
  readonly at: number;
  readonly actor: string;
  readonly action: AlertHistoryEntry['action'];
  readonly details: string;
}

export interface EvidenceRow {
  readonly event_id: string;
  readonly event_time: number;
}

/** SQLite has no boolean type and keeps `enabled` as 0 or 1; PostgreSQL returns a boolean. */
export interface RuleSettingRow {
  readonly rule_id: string;
  readonly enabled: boolean | number | null;
  readonly overrides: string;
  readonly allow: string;
  readonly updated_at: number;
  readonly updated_by: string;
}

/** One history entry a lifecycle change writes, in the order it is written. */
export interface PlannedHistory {
  readonly action: AlertHistoryEntry['action'];
  readonly details: Record<string, unknown>;
}

/** The columns a lifecycle change sets, and the history entries that record it. */
export interface AlertChangePlan {
  readonly status: StoredAlert['status'];
  readonly closeReason: StoredAlert['closeReason'];
  readonly assignee: string | null;
  readonly history: readonly PlannedHistory[];
}

export function rowToAlert(row: AlertRow): StoredAlert {
  return {
    id: row.id,
    ruleId: row.rule_id,
    entityKey: row.entity_key,
    title: row.title,
    severity: row.severity,
    technique: row.technique,
    entity: { user: row.entity_user, ip: row.entity_ip, app: row.entity_app },
    firstEventTime: row.first_event_time,
    lastEventTime: row.last_event_time,
    count: row.event_count,
    summary: row.summary,
    details: JSON.parse(row.details) as Record<string, unknown>,
    status: row.status,
    closeReason: row.close_reason,
    assignee: row.assignee,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function rowToHistoryEntry(row: AlertHistoryRow): AlertHistoryEntry {
  return {
    at: row.at,
    actor: row.actor,
    action: row.action,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}

export function rowToEvidence(row: EvidenceRow): EvidenceRef {
  return { eventId: row.event_id, eventTime: row.event_time };
}

export function rowToRuleSetting(row: RuleSettingRow): RuleSetting {
  return {
    ruleId: row.rule_id,
    enabled: row.enabled === null ? null : row.enabled === true || row.enabled === 1,
    overrides: JSON.parse(row.overrides) as Record<string, unknown>,
    allow: JSON.parse(row.allow) as RuleSetting['allow'],
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

/** The page size of an alert list, kept between 1 and the most one page may hold. */
export function alertListLimit(limit: number): number {
  return Math.max(1, Math.min(MAX_ALERT_LIMIT, Math.floor(limit)));
}

/** Refuses a change that closes without a reason or gives a reason without closing, before any I/O. */
export function checkAlertChange(change: AlertChange): void {
  if (change.closeReason !== undefined && change.status !== 'closed') {
    throw invalidChange('A close reason goes with closing the alert (status closed).');
  }
  if (change.status === 'closed' && change.closeReason === undefined) {
    throw invalidChange('Closing an alert needs a reason: true_positive, benign or false_positive.');
  }
}

/** What a lifecycle change does to the alert in `row`: the columns to write and the history to record. */
export function planAlertChange(row: AlertRow, change: AlertChange): AlertChangePlan {
  const history: PlannedHistory[] = [];
  let status = row.status;
  let closeReason = row.close_reason;
  let assignee = row.assignee;
  // Acknowledging means someone is looking at an open alert; on a closed one it would quietly undo the close and
  // drop its reason.
  if (change.status === 'acknowledged' && row.status === 'closed') {
    throw new AppError('ALERT_CHANGE_INVALID', {
      message: `Alert ${row.id} is closed (${row.close_reason ?? 'no reason'}); only an open alert can be acknowledged.`,
      hint: `To work on it again, reopen it first: zerotrail alerts reopen ${row.id}. A note alone needs no reopening: zerotrail alerts comment ${row.id} TEXT`,
    });
  }
  if (change.status !== undefined && change.status !== row.status) {
    const action =
      change.status === 'closed' ? 'closed' : change.status === 'acknowledged' ? 'acknowledged' : 'reopened';
    status = change.status;
    closeReason = change.closeReason ?? null;
    history.push({ action, details: { from: row.status, ...(closeReason === null ? {} : { reason: closeReason }) } });
  } else if (change.status === 'closed' && change.closeReason !== row.close_reason) {
    closeReason = change.closeReason ?? null;
    history.push({ action: 'closed', details: { from: row.status, reason: closeReason } });
  }
  if (change.assignee !== undefined && change.assignee !== row.assignee) {
    assignee = change.assignee;
    history.push({ action: 'assigned', details: { from: row.assignee, to: assignee } });
  }
  if (change.comment !== undefined) history.push({ action: 'commented', details: { text: change.comment } });
  return { status, closeReason, assignee, history };
}

function invalidChange(message: string): AppError {
  return new AppError('ALERT_CHANGE_INVALID', {
    message,
    hint: 'zerotrail alerts close ID --reason true_positive|benign|false_positive',
  });
}

export function alertNotFound(id: string): NotFoundError {
  return new NotFoundError('ALERT_NOT_FOUND', {
    message: `No alert has the id ${id}.`,
    hint: 'zerotrail alerts list shows the alerts and their ids.',
  });
}
