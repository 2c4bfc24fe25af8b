import type pg from 'pg';
import type { Clock } from '../../core/clock.js';
import { AppError, StoreError } from '../../core/errors.js';
import {
  type AlertChange,
  type AlertFiring,
  type AlertHistoryEntry,
  type AlertQuery,
  type DetectionCommit,
  type DetectionCommitResult,
  type DetectionStore,
  type EvidenceRef,
  type RuleSetting,
  type SequencedEvent,
  type StoredAlert,
} from '../detection-store.js';
import { AlertGrowth, alertIdAfterClosed, firingSpan, groupedSeverity, groupedSummary } from '../alert-firing.js';
import {
  alertListLimit,
  alertNotFound,
  checkAlertChange,
  planAlertChange,
  rowToAlert,
  rowToEvidence,
  rowToHistoryEntry,
  rowToRuleSetting,
  SYSTEM_ACTOR,
  type AlertHistoryRow,
  type AlertRow,
  type EvidenceRow,
  type RuleSettingRow,
} from '../rows/alert-rows.js';
import { rowToLazyEvent, type EventRow } from '../rows/event-rows.js';
import { inTransaction } from './in-transaction.js';
import { wellFormed, wellFormedOrNull } from './queries.js';

const SQL = {
  // `seq` lives with the id that claimed the event (migration 5); the row is found through its time and id.
  eventsAfter: `SELECT ids.seq, e.id, e.time, e.source, e.account_id, e.dataset, e.class_uid, e.activity, e.outcome,
      e.user_name, e.src_ip, e.country, e.app, e.app_uid, e.idp, e.ray_id, e.ocsf, e.raw
    FROM (SELECT id, time, seq FROM event_ids WHERE seq > $1 ORDER BY seq LIMIT $2) AS ids
    JOIN events e ON e.time = ids.time AND e.id = ids.id
    ORDER BY ids.seq`,
  offset: 'SELECT seq FROM detection_offsets WHERE name = $1',
  ensureOffset: `INSERT INTO detection_offsets (name, seq, updated_at) VALUES ($1, 0, $2) ON CONFLICT (name) DO NOTHING`,
  lockOffset: 'SELECT seq FROM detection_offsets WHERE name = $1 FOR UPDATE',
  updateOffset: 'UPDATE detection_offsets SET seq = $2, updated_at = $3 WHERE name = $1',
  state: 'SELECT key, value FROM detection_state WHERE rule_id = $1 AND key = ANY($2::text[])',
  upsertState: `INSERT INTO detection_state (rule_id, key, value, updated_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (rule_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  deleteState: 'DELETE FROM detection_state WHERE rule_id = $1 AND key = $2',
  alert: 'SELECT * FROM alerts WHERE id = $1',
  lockAlert: 'SELECT * FROM alerts WHERE id = $1 FOR UPDATE',
  // The alert this firing joins: same rule and entity, not closed, and within the suppression window.
  groupFor: `SELECT * FROM alerts WHERE rule_id = $1 AND entity_key = $2 AND status <> 'closed'
    AND last_event_time >= $3 AND first_event_time <= $4 ORDER BY last_event_time DESC, id LIMIT 1`,
  closedNear: `SELECT id FROM alerts WHERE rule_id = $1 AND entity_key = $2 AND status = 'closed'
    AND last_event_time >= $3 AND first_event_time <= $4`,
  // Evidence events none of the given alerts holds; each is a primary-key look-up.
  notHeld: `SELECT count(*)::int AS n FROM unnest($1::text[]) AS ref (id) WHERE NOT EXISTS
    (SELECT 1 FROM alert_evidence WHERE alert_id = ANY($2::text[]) AND event_id = ref.id)`,
  insertAlert: `INSERT INTO alerts (id, rule_id, entity_key, title, severity, technique, entity_user, entity_ip,
      entity_app, first_event_time, last_event_time, event_count, summary, details, status, close_reason, assignee,
      created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'open', NULL, NULL, $15, $15)`,
  insertEvidence: `INSERT INTO alert_evidence (alert_id, event_id, event_time)
    SELECT $1, * FROM unnest($2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`,
  evidenceTotals: `SELECT count(*)::bigint AS n, min(event_time) AS first, max(event_time) AS last
    FROM alert_evidence WHERE alert_id = $1`,
  updateGrouped: `UPDATE alerts SET severity = $1, event_count = $2, first_event_time = $3, last_event_time = $4,
      entity_user = $5, entity_ip = $6, entity_app = $7, summary = $8, details = $9, updated_at = $10 WHERE id = $11`,
  updateSeverity: 'UPDATE alerts SET severity = $1, updated_at = $2 WHERE id = $3',
  updateLifecycle: 'UPDATE alerts SET status = $1, close_reason = $2, assignee = $3, updated_at = $4 WHERE id = $5',
  insertHistory: 'INSERT INTO alert_history (alert_id, at, actor, action, details) VALUES ($1, $2, $3, $4, $5)',
  history: 'SELECT at, actor, action, details FROM alert_history WHERE alert_id = $1 ORDER BY id',
  evidence: 'SELECT event_id, event_time FROM alert_evidence WHERE alert_id = $1 ORDER BY event_time, event_id',
  listAlerts: `SELECT * FROM alerts WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR rule_id = $2)
    ORDER BY last_event_time DESC, id DESC LIMIT $3`,
  ruleSettings: 'SELECT * FROM rule_settings ORDER BY rule_id',
  upsertRuleSetting: `INSERT INTO rule_settings (rule_id, enabled, overrides, allow, updated_at, updated_by)
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (rule_id) DO UPDATE SET enabled = excluded.enabled,
      overrides = excluded.overrides, allow = excluded.allow, updated_at = excluded.updated_at,
      updated_by = excluded.updated_by`,
} as const;

interface SequencedRow extends EventRow {
  readonly seq: number;
}

/**
 * The detection half of the PostgreSQL store: alerts, their evidence and history, rule state, the detection
 * offset and rule settings. The event store extends it, so both halves share one pool.
 */
export class PostgresDetectionStore implements DetectionStore {
  readonly #pool: pg.Pool;
  readonly #clock: Clock;

  protected constructor(pool: pg.Pool, clock: Clock) {
    this.#pool = pool;
    this.#clock = clock;
  }

  async eventsAfter(afterSeq: number, limit: number): Promise<readonly SequencedEvent[]> {
    const rows = await this.#query<SequencedRow>('read events to evaluate', SQL.eventsAfter, [
      afterSeq,
      Math.max(1, Math.floor(limit)),
    ]);
    return rows.map((row) => ({ seq: row.seq, event: rowToLazyEvent(row, () => row.ocsf, row.raw) }));
  }

  async detectionOffset(name: string): Promise<number> {
    return (await this.#query<{ seq: number }>('read the detection offset', SQL.offset, [name]))[0]?.seq ?? 0;
  }

  async detectionState(ruleId: string, keys: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const result = new Map<string, string>();
    if (keys.length === 0) return result;
    const asked = new Map(keys.map((key) => [storedStateKey(key), key]));
    const rows = await this.#query<{ key: string; value: string }>('read detection state', SQL.state, [
      ruleId,
      [...asked.keys()],
    ]);
    for (const row of rows) result.set(asked.get(row.key) ?? row.key, row.value);
    return result;
  }

  async commitDetections(commit: DetectionCommit): Promise<DetectionCommitResult> {
    const now = this.#clock.now();
    return this.#transaction('store detections', async (client): Promise<DetectionCommitResult> => {
      // The offset row is locked until commit, so of two evaluators starting from one offset only one applies.
      await client.query(SQL.ensureOffset, [commit.offsetName, now]);
      const current = (await client.query<{ seq: number }>(SQL.lockOffset, [commit.offsetName])).rows[0]?.seq ?? 0;
      if (current !== commit.fromOffset) return { committed: false, created: 0, updated: 0 };
      for (const entry of commit.state) {
        const key = storedStateKey(entry.key);
        if (entry.value === null) await client.query(SQL.deleteState, [entry.ruleId, key]);
        else await client.query(SQL.upsertState, [entry.ruleId, key, entry.value, now]);
      }
      let created = 0;
      let updated = 0;
      const growth = new AlertGrowth();
      for (const firing of commit.firings) {
        if (await applyFiring(client, firing, now, growth)) created += 1;
        else updated += 1;
      }
      for (const [id, details] of growth.entries()) await history(client, id, now, SYSTEM_ACTOR, 'grew', details);
      await client.query(SQL.updateOffset, [commit.offsetName, commit.toOffset, now]);
      return { committed: true, created, updated };
    });
  }

  async listAlerts(query: AlertQuery): Promise<readonly StoredAlert[]> {
    const limit = alertListLimit(query.limit);
    const rows = await this.#query<AlertRow>('list alerts', SQL.listAlerts, [
      query.status ?? null,
      query.ruleId ?? null,
      limit,
    ]);
    return rows.map(rowToAlert);
  }

  async getAlert(id: string): Promise<StoredAlert | undefined> {
    const row = (await this.#query<AlertRow>('read the alert', SQL.alert, [id]))[0];
    return row === undefined ? undefined : rowToAlert(row);
  }

  async alertEvidence(id: string): Promise<readonly EvidenceRef[]> {
    const rows = await this.#query<EvidenceRow>('read alert evidence', SQL.evidence, [id]);
    return rows.map(rowToEvidence);
  }

  async alertHistory(id: string): Promise<readonly AlertHistoryEntry[]> {
    const rows = await this.#query<AlertHistoryRow>('read alert history', SQL.history, [id]);
    return rows.map(rowToHistoryEntry);
  }

  async changeAlert(id: string, change: AlertChange, actor: string): Promise<StoredAlert> {
    checkAlertChange(change);
    const now = this.#clock.now();
    const row = await this.#transaction('change the alert', async (client): Promise<AlertRow> => {
      const found = (await client.query<AlertRow>(SQL.lockAlert, [id])).rows[0];
      if (found === undefined) throw alertNotFound(id);
      const plan = planAlertChange(found, change);
      for (const entry of plan.history) await history(client, id, now, actor, entry.action, entry.details);
      await client.query(SQL.updateLifecycle, [plan.status, plan.closeReason, plan.assignee, now, id]);
      return (await client.query<AlertRow>(SQL.alert, [id])).rows[0] ?? found;
    });
    return rowToAlert(row);
  }

  async ruleSettings(): Promise<readonly RuleSetting[]> {
    const rows = await this.#query<RuleSettingRow>('read rule settings', SQL.ruleSettings, []);
    return rows.map(rowToRuleSetting);
  }

  async saveRuleSetting(setting: RuleSetting): Promise<void> {
    await this.#query('save the rule setting', SQL.upsertRuleSetting, [
      setting.ruleId,
      setting.enabled,
      JSON.stringify(setting.overrides),
      JSON.stringify(setting.allow),
      setting.updatedAt,
      setting.updatedBy,
    ]);
  }

  async #query<T extends object>(action: string, sql: string, params: readonly unknown[]): Promise<T[]> {
    try {
      return (await this.#pool.query<T>(sql, params as unknown[])).rows;
    } catch (error) {
      throw failed(action, error);
    }
  }

  async #transaction<T>(action: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw failed(action, error);
    }
    try {
      return await inTransaction(client, work);
    } catch (error) {
      throw failed(action, error);
    }
  }
}

// Inside the commit's transaction; true when the firing opened a new alert.
async function applyFiring(
  client: pg.PoolClient,
  firing: AlertFiring,
  now: number,
  growth: AlertGrowth,
): Promise<boolean> {
  const { evidence, first, last, id: namedId } = firingSpan(firing);
  const entityKey = wellFormed(firing.entityKey);
  // A closed alert takes nothing more: past the alert the evidence names, and each closed one after it.
  let id = namedId;
  let named = (await client.query<AlertRow>(SQL.alert, [id])).rows[0];
  while (named?.status === 'closed') {
    id = alertIdAfterClosed(id);
    named = (await client.query<AlertRow>(SQL.alert, [id])).rows[0];
  }
  const from = first.eventTime - firing.suppressMs;
  const to = last.eventTime + firing.suppressMs;
  const existing = named ?? (await client.query<AlertRow>(SQL.groupFor, [firing.ruleId, entityKey, from, to])).rows[0];
  const alertId = existing?.id ?? id;
  if (existing === undefined) {
    // A finding whose every event a closed alert holds was closed with it: raised again by a later step, it must
    // not open the closed case anew under another id.
    const closed = (await client.query<{ id: string }>(SQL.closedNear, [firing.ruleId, entityKey, from, to])).rows;
    if (closed.length > 0) {
      const held = await client.query<{ n: number }>(SQL.notHeld, [
        evidence.map((ref) => ref.eventId),
        closed.map((row) => row.id),
      ]);
      if (held.rows[0]?.n === 0) return false;
    }
    await client.query(SQL.insertAlert, [
      id,
      firing.ruleId,
      entityKey,
      // A rule file's text may hold NUL, which a PostgreSQL text column refuses (and with it every detection).
      wellFormed(firing.title),
      firing.severity,
      firing.technique,
      wellFormedOrNull(firing.entity.user),
      wellFormedOrNull(firing.entity.ip),
      wellFormedOrNull(firing.entity.app),
      first.eventTime,
      last.eventTime,
      0,
      wellFormed(firing.summary),
      JSON.stringify(firing.details),
      now,
    ]);
    await history(client, id, now, SYSTEM_ACTOR, 'created', { severity: firing.severity });
    growth.created(id);
  }
  await client.query(SQL.insertEvidence, [
    alertId,
    evidence.map((ref) => ref.eventId),
    evidence.map((ref) => ref.eventTime),
  ]);
  const totals = (await client.query<{ n: number; first: number; last: number }>(SQL.evidenceTotals, [alertId]))
    .rows[0] ?? { n: 0, first: first.eventTime, last: last.eventTime };
  const severity = groupedSeverity(existing, firing);
  if (existing !== undefined && severity !== existing.severity) {
    await history(client, alertId, now, SYSTEM_ACTOR, 'escalated', { from: existing.severity, to: severity });
  }
  if (existing === undefined || totals.n > existing.event_count) {
    // Summary, entity and details all come from this firing, so the alert never pairs one finding's words with
    // another's user or address.
    const summary = wellFormed(groupedSummary(firing, totals.n));
    await client.query(SQL.updateGrouped, [
      severity,
      totals.n,
      totals.first,
      totals.last,
      wellFormedOrNull(firing.entity.user),
      wellFormedOrNull(firing.entity.ip),
      wellFormedOrNull(firing.entity.app),
      summary,
      JSON.stringify(firing.details),
      now,
      alertId,
    ]);
    if (existing !== undefined) growth.grew(alertId, existing.event_count, totals.n, summary);
  } else if (severity !== existing.severity) {
    await client.query(SQL.updateSeverity, [severity, now, alertId]);
  }
  return existing === undefined;
}

async function history(
  client: pg.PoolClient,
  id: string,
  at: number,
  actor: string,
  action: AlertHistoryEntry['action'],
  details: object,
): Promise<void> {
  await client.query(SQL.insertHistory, [id, at, actor, action, JSON.stringify(details)]);
}

function failed(action: string, error: unknown): Error {
  if (error instanceof AppError) return error;
  const code =
    typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
      ? error.code
      : undefined;
  if (code === '40001' || code === '40P01' || code === '55P03') {
    return new StoreError('STORE_BUSY', { message: `Could not ${action}: the database is busy.`, cause: error });
  }
  return new StoreError('STORE_WRITE_FAILED', {
    message: `Could not ${action}${code === undefined ? '' : ` (${code})`}.`,
    retryable: code?.startsWith('23') !== true,
    cause: error,
  });
}

/**
 * A rule's state key as PostgreSQL text, which cannot hold NUL or a lone surrogate: both become U+FFFD, as in
 * event columns and in what `store migrate` copies, so a key rules build with NUL (first_seen's organisation
 * key) reads back the state written under it instead of failing every detection run.
 */
function storedStateKey(key: string): string {
  return key.replace(/[\p{Surrogate}\u0000]/gu, '\uFFFD');
}
