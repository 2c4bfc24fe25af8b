import type pg from 'pg';
import type { Clock } from '../../core/clock.js';
import { AppError, NotFoundError, StoreError } from '../../core/errors.js';
import type { Outcome } from '../../core/event.js';
import {
  alertIdFor,
  severityRank,
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

const SYSTEM_ACTOR = 'zerotrail';
const MAX_ALERT_LIMIT = 10_000;

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
  insertAlert: `INSERT INTO alerts (id, rule_id, entity_key, title, severity, technique, entity_user, entity_ip,
      entity_app, first_event_time, last_event_time, event_count, summary, details, status, close_reason, assignee,
      created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'open', NULL, NULL, $15, $15)`,
  insertEvidence: `INSERT INTO alert_evidence (alert_id, event_id, event_time)
    SELECT $1, * FROM unnest($2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`,
  evidenceTotals: `SELECT count(*)::bigint AS n, min(event_time) AS first, max(event_time) AS last
    FROM alert_evidence WHERE alert_id = $1`,
  updateGrouped: `UPDATE alerts SET severity = $1, event_count = $2, first_event_time = $3, last_event_time = $4,
      summary = $5, details = $6, updated_at = $7 WHERE id = $8`,
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

interface AlertRow {
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

interface SequencedRow {
  readonly seq: number;
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

interface RuleSettingRow {
  readonly rule_id: string;
  readonly enabled: boolean | null;
  readonly overrides: string;
  readonly allow: string;
  readonly updated_at: number;
  readonly updated_by: string;
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
    return rows.map((row) => ({
      seq: row.seq,
      event: {
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
        ocsf: JSON.parse(row.ocsf) as Record<string, unknown>,
        raw: JSON.parse(row.raw) as unknown,
      },
    }));
  }

  async detectionOffset(name: string): Promise<number> {
    return (await this.#query<{ seq: number }>('read the detection offset', SQL.offset, [name]))[0]?.seq ?? 0;
  }

  async detectionState(ruleId: string, keys: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const result = new Map<string, string>();
    if (keys.length === 0) return result;
    const rows = await this.#query<{ key: string; value: string }>('read detection state', SQL.state, [
      ruleId,
      [...keys],
    ]);
    for (const row of rows) result.set(row.key, row.value);
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
        if (entry.value === null) await client.query(SQL.deleteState, [entry.ruleId, entry.key]);
        else await client.query(SQL.upsertState, [entry.ruleId, entry.key, entry.value, now]);
      }
      let created = 0;
      let updated = 0;
      for (const firing of commit.firings) {
        if (await applyFiring(client, firing, now)) created += 1;
        else updated += 1;
      }
      await client.query(SQL.updateOffset, [commit.offsetName, commit.toOffset, now]);
      return { committed: true, created, updated };
    });
  }

  async listAlerts(query: AlertQuery): Promise<readonly StoredAlert[]> {
    const limit = Math.max(1, Math.min(MAX_ALERT_LIMIT, Math.floor(query.limit)));
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
    const rows = await this.#query<{ event_id: string; event_time: number }>('read alert evidence', SQL.evidence, [id]);
    return rows.map((row) => ({ eventId: row.event_id, eventTime: row.event_time }));
  }

  async alertHistory(id: string): Promise<readonly AlertHistoryEntry[]> {
    const rows = await this.#query<{
      at: number;
      actor: string;
      action: AlertHistoryEntry['action'];
      details: string;
    }>('read alert history', SQL.history, [id]);
    return rows.map((row) => ({
      at: row.at,
      actor: row.actor,
      action: row.action,
      details: JSON.parse(row.details) as Record<string, unknown>,
    }));
  }

  async changeAlert(id: string, change: AlertChange, actor: string): Promise<StoredAlert> {
    if (change.closeReason !== undefined && change.status !== 'closed') {
      throw invalidChange('A close reason goes with closing the alert (status closed).');
    }
    if (change.status === 'closed' && change.closeReason === undefined) {
      throw invalidChange('Closing an alert needs a reason: true_positive, benign or false_positive.');
    }
    const now = this.#clock.now();
    const row = await this.#transaction('change the alert', async (client): Promise<AlertRow> => {
      const found = (await client.query<AlertRow>(SQL.lockAlert, [id])).rows[0];
      if (found === undefined) {
        throw new NotFoundError('ALERT_NOT_FOUND', {
          message: `No alert has the id ${id}.`,
          hint: 'zerotrail alerts list shows the alerts and their ids.',
        });
      }
      let status = found.status;
      let closeReason = found.close_reason;
      let assignee = found.assignee;
      if (change.status !== undefined && change.status !== found.status) {
        const action =
          change.status === 'closed' ? 'closed' : change.status === 'acknowledged' ? 'acknowledged' : 'reopened';
        status = change.status;
        closeReason = change.closeReason ?? null;
        await history(client, id, now, actor, action, {
          from: found.status,
          ...(closeReason === null ? {} : { reason: closeReason }),
        });
      } else if (change.status === 'closed' && change.closeReason !== found.close_reason) {
        closeReason = change.closeReason ?? null;
        await history(client, id, now, actor, 'closed', { from: found.status, reason: closeReason });
      }
      if (change.assignee !== undefined && change.assignee !== found.assignee) {
        assignee = change.assignee;
        await history(client, id, now, actor, 'assigned', { from: found.assignee, to: assignee });
      }
      if (change.comment !== undefined) await history(client, id, now, actor, 'commented', { text: change.comment });
      await client.query(SQL.updateLifecycle, [status, closeReason, assignee, now, id]);
      return (await client.query<AlertRow>(SQL.alert, [id])).rows[0] ?? found;
    });
    return rowToAlert(row);
  }

  async ruleSettings(): Promise<readonly RuleSetting[]> {
    const rows = await this.#query<RuleSettingRow>('read rule settings', SQL.ruleSettings, []);
    return rows.map((row) => ({
      ruleId: row.rule_id,
      enabled: row.enabled,
      overrides: JSON.parse(row.overrides) as Record<string, unknown>,
      allow: JSON.parse(row.allow) as RuleSetting['allow'],
      updatedAt: row.updated_at,
      updatedBy: row.updated_by,
    }));
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
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      const rollback = await client.query('ROLLBACK').then(
        () => undefined,
        (rollbackError: unknown) => rollbackError,
      );
      client.release(rollback instanceof Error ? rollback : undefined);
      throw failed(action, error);
    }
  }
}

// Inside the commit's transaction; true when the firing opened a new alert.
async function applyFiring(client: pg.PoolClient, firing: AlertFiring, now: number): Promise<boolean> {
  const evidence = [...firing.evidence].sort((a, b) => a.eventTime - b.eventTime || compare(a.eventId, b.eventId));
  const first = evidence[0];
  const last = evidence[evidence.length - 1];
  if (first === undefined || last === undefined) {
    throw new AppError('INTERNAL', { message: `Rule ${firing.ruleId} fired without evidence.` });
  }
  const id = alertIdFor(firing.ruleId, firing.entityKey, first.eventId);
  const existing =
    (await client.query<AlertRow>(SQL.alert, [id])).rows[0] ??
    (
      await client.query<AlertRow>(SQL.groupFor, [
        firing.ruleId,
        firing.entityKey,
        first.eventTime - firing.suppressMs,
        last.eventTime + firing.suppressMs,
      ])
    ).rows[0];
  const alertId = existing?.id ?? id;
  if (existing === undefined) {
    await client.query(SQL.insertAlert, [
      id,
      firing.ruleId,
      firing.entityKey,
      firing.title,
      firing.severity,
      firing.technique,
      firing.entity.user,
      firing.entity.ip,
      firing.entity.app,
      first.eventTime,
      last.eventTime,
      0,
      firing.summary,
      JSON.stringify(firing.details),
      now,
    ]);
    await history(client, id, now, SYSTEM_ACTOR, 'created', { severity: firing.severity });
  }
  await client.query(SQL.insertEvidence, [
    alertId,
    evidence.map((ref) => ref.eventId),
    evidence.map((ref) => ref.eventTime),
  ]);
  const totals = (await client.query<{ n: number; first: number; last: number }>(SQL.evidenceTotals, [alertId]))
    .rows[0] ?? { n: 0, first: first.eventTime, last: last.eventTime };
  const severity =
    existing !== undefined && severityRank(existing.severity) > severityRank(firing.severity)
      ? existing.severity
      : firing.severity;
  if (existing !== undefined && severity !== existing.severity) {
    await history(client, alertId, now, SYSTEM_ACTOR, 'escalated', { from: existing.severity, to: severity });
  }
  await client.query(SQL.updateGrouped, [
    severity,
    totals.n,
    totals.first,
    totals.last,
    firing.summary,
    JSON.stringify(firing.details),
    now,
    alertId,
  ]);
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

function invalidChange(message: string): AppError {
  return new AppError('ALERT_CHANGE_INVALID', {
    message,
    hint: 'zerotrail alerts close ID --reason true_positive|benign|false_positive',
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rowToAlert(row: AlertRow): StoredAlert {
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
