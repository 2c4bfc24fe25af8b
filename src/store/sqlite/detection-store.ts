/* eslint-disable @typescript-eslint/require-await -- better-sqlite3 is synchronous; the methods stay async so that
   every failure reaches the caller as a rejected promise, as the Store contract promises. */
import type Database from 'better-sqlite3';
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
import { joinOcsfBody } from './ocsf-body.js';
import { BODY_COLUMNS, BODY_JOINS, EVENT_COLUMNS } from './queries.js';
import { sqliteCode } from './sqlite-code.js';
import { writeTransaction } from './write-transaction.js';

const SQL = {
  // Both tiers share one `seq` space that grows with every commit (migration 0002), so "after the offset" is
  // a range scan of each tier's primary key.
  eventsAfter: `SELECT * FROM (
      SELECT * FROM (SELECT ${EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?)
      UNION ALL SELECT * FROM (SELECT ${EVENT_COLUMNS} FROM events_recent WHERE seq > ? ORDER BY seq LIMIT ?)
      ORDER BY seq LIMIT ?)`,
  eventBody: `SELECT ${BODY_COLUMNS} FROM event_bodies AS body ${BODY_JOINS} WHERE body.seq = ?`,
  offset: 'SELECT seq FROM detection_offsets WHERE name = ?',
  upsertOffset: `INSERT INTO detection_offsets (name, seq, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`,
  state: 'SELECT key, value FROM detection_state WHERE rule_id = ? AND key IN (SELECT value FROM json_each(?))',
  upsertState: `INSERT INTO detection_state (rule_id, key, value, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (rule_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  deleteState: 'DELETE FROM detection_state WHERE rule_id = ? AND key = ?',
  alert: 'SELECT * FROM alerts WHERE id = ?',
  // The alert this firing joins: same rule and entity, not closed, and within the suppression window.
  groupFor: `SELECT * FROM alerts WHERE rule_id = ? AND entity_key = ? AND status <> 'closed'
    AND last_event_time >= ? AND first_event_time <= ? ORDER BY last_event_time DESC, id LIMIT 1`,
  closedNear: `SELECT id FROM alerts WHERE rule_id = ? AND entity_key = ? AND status = 'closed'
    AND last_event_time >= ? AND first_event_time <= ?`,
  // Evidence events none of the given alerts holds; each is a primary-key look-up.
  notHeld: `SELECT count(*) AS n FROM json_each(?) AS ref WHERE NOT EXISTS (SELECT 1 FROM alert_evidence
    WHERE alert_id IN (SELECT value FROM json_each(?)) AND event_id = ref.value)`,
  insertAlert: `INSERT INTO alerts (id, rule_id, entity_key, title, severity, technique, entity_user, entity_ip,
      entity_app, first_event_time, last_event_time, event_count, summary, details, status, close_reason, assignee,
      created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', NULL, NULL, ?, ?)`,
  insertEvidence: 'INSERT INTO alert_evidence (alert_id, event_id, event_time) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  evidenceTotals:
    'SELECT count(*) AS n, min(event_time) AS first, max(event_time) AS last FROM alert_evidence WHERE alert_id = ?',
  updateGrouped: `UPDATE alerts SET severity = ?, event_count = ?, first_event_time = ?, last_event_time = ?,
      entity_user = ?, entity_ip = ?, entity_app = ?, summary = ?, details = ?, updated_at = ? WHERE id = ?`,
  updateSeverity: 'UPDATE alerts SET severity = ?, updated_at = ? WHERE id = ?',
  updateLifecycle: 'UPDATE alerts SET status = ?, close_reason = ?, assignee = ?, updated_at = ? WHERE id = ?',
  insertHistory: 'INSERT INTO alert_history (alert_id, at, actor, action, details) VALUES (?, ?, ?, ?, ?)',
  history: 'SELECT at, actor, action, details FROM alert_history WHERE alert_id = ? ORDER BY id',
  evidence: 'SELECT event_id, event_time FROM alert_evidence WHERE alert_id = ? ORDER BY event_time, event_id',
  listAlerts: `SELECT * FROM alerts WHERE (@status IS NULL OR status = @status)
    AND (@rule IS NULL OR rule_id = @rule) ORDER BY last_event_time DESC, id DESC LIMIT @limit`,
  ruleSettings: 'SELECT * FROM rule_settings ORDER BY rule_id',
  upsertRuleSetting: `INSERT INTO rule_settings (rule_id, enabled, overrides, allow, updated_at, updated_by)
    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rule_id) DO UPDATE SET enabled = excluded.enabled,
      overrides = excluded.overrides, allow = excluded.allow, updated_at = excluded.updated_at,
      updated_by = excluded.updated_by`,
} as const;

// Just-appended events kept for the detector, which evaluates them right after their commit; beyond this it
// reads them back from the tables.
const MAX_REMEMBERED_EVENTS = 10_000;

interface SequencedRow extends Omit<EventRow, 'ocsf' | 'raw'> {
  readonly seq: number;
}

// EVENT_COLUMNS, in its order.
type SequencedTuple = readonly [
  seq: number,
  id: string,
  time: number,
  source: string,
  accountId: string,
  dataset: string,
  classUid: number,
  activity: string,
  outcome: string,
  userName: string | null,
  srcIp: string | null,
  country: string | null,
  app: string | null,
  appUid: string | null,
  idp: string | null,
  rayId: string | null,
];

function sequencedRowOf(t: SequencedTuple): SequencedRow {
  return {
    seq: t[0],
    id: t[1],
    time: t[2],
    source: t[3],
    account_id: t[4],
    dataset: t[5],
    class_uid: t[6],
    activity: t[7],
    outcome: t[8],
    user_name: t[9],
    src_ip: t[10],
    country: t[11],
    app: t[12],
    app_uid: t[13],
    idp: t[14],
    ray_id: t[15],
  };
}

interface BodyRow {
  readonly ocsf: string;
  readonly raw: string;
  readonly enrichments: string | null;
}

// A body retention deleted between the read of its row and its first use: the event is gone, its documents empty.
const MISSING_BODY: BodyRow = { ocsf: '{}', raw: 'null', enrichments: null };

/**
 * The detection half of the SQLite store: alerts, their evidence and history, rule state, the detection offset
 * and rule settings. The event store extends it, so both halves share one connection.
 */
export class SqliteDetectionStore implements DetectionStore {
  readonly #db: Database.Database;
  readonly #clock: Clock;
  readonly #statements = new Map<string, Database.Statement<unknown[], unknown>>();
  /**
   * Events this connection committed, in seq order with no gap: the detector's next read is nearly always
   * these, and serving them from memory spares reading back and parsing what was just written.
   */
  #remembered: SequencedEvent[] = [];

  protected constructor(db: Database.Database, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  async eventsAfter(afterSeq: number, limit: number): Promise<readonly SequencedEvent[]> {
    const n = Math.max(1, Math.floor(limit));
    const remembered = this.#rememberedAfter(afterSeq, n);
    if (remembered !== undefined) return remembered;
    // Read as arrays: the driver builds an array per row faster than an object, and one literal of a fixed
    // shape is built from it here.
    const tuples = this.#run('read events to evaluate', () =>
      this.#statement(SQL.eventsAfter).raw(true).all(afterSeq, n, afterSeq, n, n),
    ) as SequencedTuple[];
    // Rules read the columns of every event and the documents of few: a batch holds the documents only of the
    // events a rule looked into, so it stays small and dies young instead of filling the old generation.
    return tuples.map((tuple) => {
      const row = sequencedRowOf(tuple);
      let body: BodyRow | undefined;
      const bodyOf = (): BodyRow =>
        (body ??=
          (this.#run('read an event body to evaluate', () => this.#statement(SQL.eventBody).get(row.seq)) as
            BodyRow | undefined) ?? MISSING_BODY);
      return {
        seq: row.seq,
        event: rowToLazyEvent(
          row,
          () => joinOcsfBody(bodyOf().ocsf, bodyOf().enrichments),
          () => bodyOf().raw,
        ),
      };
    });
  }

  /**
   * Records events this connection just committed, `appended` in seq order with no gap. Kept only while the
   * remembered run stays gapless: a gap means another connection wrote in between, and those rows must come
   * from the tables.
   */
  protected rememberAppended(appended: readonly SequencedEvent[]): void {
    const first = appended[0];
    if (first === undefined) return;
    const last = this.#remembered[this.#remembered.length - 1];
    if (last !== undefined && last.seq + 1 !== first.seq) this.#remembered = [];
    // A detector far behind reads from the tables; remembering more would only hold memory.
    if (this.#remembered.length + appended.length > MAX_REMEMBERED_EVENTS) return;
    for (const entry of appended) this.#remembered.push(entry);
  }

  /** Drops what was remembered, after a delete that may have removed some of it. */
  protected forgetAppended(): void {
    this.#remembered = [];
  }

  // The remembered events right after `afterSeq`, or undefined when they do not start there.
  #rememberedAfter(afterSeq: number, limit: number): SequencedEvent[] | undefined {
    const passed = this.#remembered.findIndex((entry) => entry.seq > afterSeq);
    // The offset only moves forward, so events at or before it are never asked for again.
    if (passed === -1) this.#remembered = [];
    else if (passed > 0) this.#remembered = this.#remembered.slice(passed);
    const first = this.#remembered[0];
    if (first === undefined || first.seq !== afterSeq + 1) return undefined;
    return this.#remembered.slice(0, limit);
  }

  async detectionOffset(name: string): Promise<number> {
    const row = this.#run('read the detection offset', () => this.#statement(SQL.offset).get(name)) as
      { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  async detectionState(ruleId: string, keys: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const result = new Map<string, string>();
    if (keys.length === 0) return result;
    // A key with a lone surrogate is stored with U+FFFD instead (see commitDetections); it is answered under the
    // key asked for.
    const asked = new Map(keys.map((key) => [key.toWellFormed(), key]));
    const rows = this.#run('read detection state', () =>
      this.#statement(SQL.state).all(ruleId, JSON.stringify([...asked.keys()])),
    ) as { key: string; value: string }[];
    for (const row of rows) result.set(asked.get(row.key) ?? row.key, row.value);
    return result;
  }

  async commitDetections(commit: DetectionCommit): Promise<DetectionCommitResult> {
    const now = this.#clock.now();
    const write = (): DetectionCommitResult => {
      const current = (this.#statement(SQL.offset).get(commit.offsetName) as { seq: number } | undefined)?.seq ?? 0;
      if (current !== commit.fromOffset) return { committed: false, created: 0, updated: 0 };
      for (const entry of commit.state) {
        const key = entry.key.toWellFormed();
        if (entry.value === null) this.#statement(SQL.deleteState).run(entry.ruleId, key);
        else this.#statement(SQL.upsertState).run(entry.ruleId, key, entry.value, now);
      }
      let created = 0;
      let updated = 0;
      const growth = new AlertGrowth();
      for (const firing of commit.firings) {
        if (this.#applyFiring(firing, now, growth)) created += 1;
        else updated += 1;
      }
      for (const [id, details] of growth.entries()) this.#history(id, now, SYSTEM_ACTOR, 'grew', details);
      this.#statement(SQL.upsertOffset).run(commit.offsetName, commit.toOffset, now);
      return { committed: true, created, updated };
    };
    return this.#run('store detections', () => writeTransaction(this.#db, write));
  }

  // Inside the commit's transaction; true when the firing opened a new alert.
  #applyFiring(firing: AlertFiring, now: number, growth: AlertGrowth): boolean {
    const { evidence, first, last, id: namedId } = firingSpan(firing);
    // A closed alert takes nothing more: past the alert the evidence names, and each closed one after it.
    let id = namedId;
    let named = this.#statement(SQL.alert).get(id) as AlertRow | undefined;
    while (named?.status === 'closed') {
      id = alertIdAfterClosed(id);
      named = this.#statement(SQL.alert).get(id) as AlertRow | undefined;
    }
    const from = first.eventTime - firing.suppressMs;
    const to = last.eventTime + firing.suppressMs;
    const existing =
      named ?? (this.#statement(SQL.groupFor).get(firing.ruleId, firing.entityKey, from, to) as AlertRow | undefined);
    const alertId = existing?.id ?? id;
    if (existing === undefined) {
      // A finding whose every event a closed alert holds was closed with it: raised again by a later step, it
      // must not open the closed case anew under another id.
      const closed = this.#statement(SQL.closedNear).pluck().all(firing.ruleId, firing.entityKey, from, to);
      if (closed.length > 0) {
        const refs = JSON.stringify(evidence.map((ref) => ref.eventId));
        const fresh = this.#statement(SQL.notHeld).pluck().get(refs, JSON.stringify(closed)) as number;
        if (fresh === 0) return false;
      }
      this.#statement(SQL.insertAlert).run(
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
        now,
      );
      this.#history(id, now, SYSTEM_ACTOR, 'created', { severity: firing.severity });
      growth.created(id);
    }
    const insertEvidence = this.#statement(SQL.insertEvidence);
    for (const ref of evidence) insertEvidence.run(alertId, ref.eventId, ref.eventTime);
    const totals = this.#statement(SQL.evidenceTotals).get(alertId) as { n: number; first: number; last: number };
    const severity = groupedSeverity(existing, firing);
    if (existing !== undefined && severity !== existing.severity) {
      this.#history(alertId, now, SYSTEM_ACTOR, 'escalated', { from: existing.severity, to: severity });
    }
    if (existing === undefined || totals.n > existing.event_count) {
      // Summary, entity and details all come from this firing, so the alert never pairs one finding's words
      // with another's user or address.
      const summary = groupedSummary(firing, totals.n);
      this.#statement(SQL.updateGrouped).run(
        severity,
        totals.n,
        totals.first,
        totals.last,
        firing.entity.user,
        firing.entity.ip,
        firing.entity.app,
        summary,
        JSON.stringify(firing.details),
        now,
        alertId,
      );
      if (existing !== undefined) growth.grew(alertId, existing.event_count, totals.n, summary);
    } else if (severity !== existing.severity) {
      this.#statement(SQL.updateSeverity).run(severity, now, alertId);
    }
    return existing === undefined;
  }

  async listAlerts(query: AlertQuery): Promise<readonly StoredAlert[]> {
    const limit = alertListLimit(query.limit);
    const rows = this.#run('list alerts', () =>
      this.#statement(SQL.listAlerts).all({ status: query.status ?? null, rule: query.ruleId ?? null, limit }),
    ) as AlertRow[];
    return rows.map(rowToAlert);
  }

  async getAlert(id: string): Promise<StoredAlert | undefined> {
    const row = this.#run('read the alert', () => this.#statement(SQL.alert).get(id)) as AlertRow | undefined;
    return row === undefined ? undefined : rowToAlert(row);
  }

  async alertEvidence(id: string): Promise<readonly EvidenceRef[]> {
    const rows = this.#run('read alert evidence', () => this.#statement(SQL.evidence).all(id)) as EvidenceRow[];
    return rows.map(rowToEvidence);
  }

  async alertHistory(id: string): Promise<readonly AlertHistoryEntry[]> {
    const rows = this.#run('read alert history', () => this.#statement(SQL.history).all(id)) as AlertHistoryRow[];
    return rows.map(rowToHistoryEntry);
  }

  async changeAlert(id: string, change: AlertChange, actor: string): Promise<StoredAlert> {
    checkAlertChange(change);
    const now = this.#clock.now();
    const write = (): AlertRow => {
      const row = this.#statement(SQL.alert).get(id) as AlertRow | undefined;
      if (row === undefined) throw alertNotFound(id);
      const plan = planAlertChange(row, change);
      for (const entry of plan.history) this.#history(id, now, actor, entry.action, entry.details);
      this.#statement(SQL.updateLifecycle).run(plan.status, plan.closeReason, plan.assignee, now, id);
      return this.#statement(SQL.alert).get(id) as AlertRow;
    };
    return rowToAlert(this.#run('change the alert', () => writeTransaction(this.#db, write)));
  }

  async ruleSettings(): Promise<readonly RuleSetting[]> {
    const rows = this.#run('read rule settings', () => this.#statement(SQL.ruleSettings).all()) as RuleSettingRow[];
    return rows.map(rowToRuleSetting);
  }

  async saveRuleSetting(setting: RuleSetting): Promise<void> {
    this.#run('save the rule setting', () =>
      this.#statement(SQL.upsertRuleSetting).run(
        setting.ruleId,
        setting.enabled === null ? null : setting.enabled ? 1 : 0,
        JSON.stringify(setting.overrides),
        JSON.stringify(setting.allow),
        setting.updatedAt,
        setting.updatedBy,
      ),
    );
  }

  #history(id: string, at: number, actor: string, action: AlertHistoryEntry['action'], details: object): void {
    this.#statement(SQL.insertHistory).run(id, at, actor, action, JSON.stringify(details));
  }

  #statement(sql: string): Database.Statement<unknown[], unknown> {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #run<T>(action: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof AppError) throw error;
      const code = sqliteCode(error);
      if (code?.startsWith('SQLITE_BUSY') === true) {
        throw new StoreError('STORE_BUSY', { message: `Could not ${action}: the database is busy.`, cause: error });
      }
      if (!this.#db.open) {
        throw new StoreError('STORE_OPEN_FAILED', {
          message: `Could not ${action}: the store is closed.`,
          cause: error,
        });
      }
      throw new StoreError('STORE_WRITE_FAILED', {
        message: `Could not ${action}${code === undefined ? '' : ` (${code})`}.`,
        retryable: code?.startsWith('SQLITE_CONSTRAINT') !== true,
        cause: error,
      });
    }
  }
}
