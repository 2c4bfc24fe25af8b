/** The PostgreSQL type of a copied column; values travel as one typed array per column. */
export type PgColumnType = 'text' | 'bigint' | 'integer' | 'boolean';

export interface CopiedColumn {
  readonly name: string;
  readonly type: PgColumnType;
  /**
   * An indexed value, capped as the normalizers cap flat fields (see flatString). Older installations kept up to
   * 1,024 characters, which in a multi-byte script is more than a PostgreSQL index row holds.
   */
  readonly flat?: true;
}

/**
 * A table `zerotrail store migrate` copies row for row: same name and columns in both stores. Rows are read in
 * the order of `key` (SQLite columns, `rowid` where the table has no key of its own), which is also the position
 * the copy records after each chunk.
 */
export interface CopiedTable {
  readonly kind: 'rows';
  readonly name: string;
  readonly columns: readonly CopiedColumn[];
  readonly key: readonly string[];
  /** A PostgreSQL identity column: the copy keeps its values, and its sequence continues after the largest. */
  readonly identity?: string;
  /** A trigger that must not fire for copied rows (they already carry what it would add). */
  readonly quietTrigger?: string;
}

/**
 * The events: on SQLite two tiers of flat columns, bodies and shared enrichment fragments; on PostgreSQL the
 * partitioned table and the id claims. Read in `seq` order, and `seq` is kept, so detection and notification
 * offsets mean the same events after the copy.
 */
export interface CopiedEvents {
  readonly kind: 'events';
  readonly name: 'events';
}

export type MigratedTable = CopiedTable | CopiedEvents;

const text = (name: string): CopiedColumn => ({ name, type: 'text' });
const flatText = (name: string): CopiedColumn => ({ name, type: 'text', flat: true });
const bigint = (name: string): CopiedColumn => ({ name, type: 'bigint' });
const integer = (name: string): CopiedColumn => ({ name, type: 'integer' });

function rows(
  name: string,
  key: readonly string[],
  columns: readonly CopiedColumn[],
  extra: { readonly identity?: string; readonly quietTrigger?: string } = {},
): CopiedTable {
  return { kind: 'rows', name, key, columns, ...extra };
}

/**
 * Everything a running installation keeps, in copy order: a referenced row is copied before the rows that refer
 * to it, and cursors and dataset statuses come last, so they never point past events not copied yet.
 */
export const MIGRATED_TABLES: readonly MigratedTable[] = [
  rows('settings', ['key'], [text('key'), text('value')]),
  rows(
    'sources',
    ['name'],
    [
      text('name'),
      text('type'),
      text('account_id'),
      text('token_ciphertext'),
      text('token_last_four'),
      bigint('created_at'),
      text('settings'),
    ],
  ),
  rows('users', ['id'], [bigint('id'), text('name'), text('role'), text('password_hash'), bigint('created_at')], {
    identity: 'id',
  }),
  rows(
    'sessions',
    ['token_hash'],
    [text('token_hash'), bigint('user_id'), text('csrf_hash'), bigint('created_at'), bigint('expires_at')],
  ),
  rows(
    'api_keys',
    ['id'],
    [
      bigint('id'),
      bigint('user_id'),
      text('label'),
      text('key_hash'),
      text('key_prefix'),
      bigint('created_at'),
      bigint('last_used_at'),
    ],
    { identity: 'id' },
  ),
  rows(
    'login_links',
    ['token_hash'],
    [text('token_hash'), bigint('user_id'), bigint('created_at'), bigint('expires_at'), bigint('used_at')],
  ),
  rows('login_failures', ['rowid'], [text('subject'), bigint('at')]),
  rows(
    'audit_log',
    ['id'],
    [
      bigint('id'),
      bigint('at'),
      text('actor'),
      text('action'),
      text('target'),
      text('outcome'),
      text('ip'),
      text('details'),
    ],
    { identity: 'id' },
  ),
  rows(
    'rule_settings',
    ['rule_id'],
    [
      text('rule_id'),
      { name: 'enabled', type: 'boolean' },
      text('overrides'),
      text('allow'),
      bigint('updated_at'),
      text('updated_by'),
    ],
  ),
  rows(
    'inventory_entities',
    ['source', 'dataset', 'kind', 'entity_id'],
    [text('source'), text('dataset'), text('kind'), text('entity_id'), flatText('name'), text('attributes')],
  ),
  rows(
    'inventory_snapshots',
    ['source', 'dataset'],
    [text('source'), text('dataset'), bigint('taken_at'), integer('entity_count')],
  ),
  // Before the events: each value keeps when it was first seen, also where retention has deleted its events since,
  // and the summary PostgreSQL keeps as events go in (its migration 0011) only moves such a time earlier.
  rows(
    'summary_first_seen',
    ['dim', 'source', 'key'],
    [text('dim'), text('source'), flatText('key'), bigint('first_ms')],
  ),
  { kind: 'events', name: 'events' },
  rows(
    'alerts',
    ['id'],
    [
      text('id'),
      text('rule_id'),
      text('entity_key'),
      text('title'),
      text('severity'),
      text('technique'),
      text('entity_user'),
      text('entity_ip'),
      text('entity_app'),
      bigint('first_event_time'),
      bigint('last_event_time'),
      integer('event_count'),
      text('summary'),
      text('details'),
      text('status'),
      text('close_reason'),
      text('assignee'),
      bigint('created_at'),
      bigint('updated_at'),
    ],
    // Its notices are copied from the queue as they were; the trigger would queue every alert once more.
    { quietTrigger: 'notify_alert_changed' },
  ),
  rows('alert_evidence', ['alert_id', 'event_id'], [text('alert_id'), text('event_id'), bigint('event_time')]),
  rows(
    'alert_history',
    ['id'],
    [bigint('id'), text('alert_id'), bigint('at'), text('actor'), text('action'), text('details')],
    { identity: 'id' },
  ),
  rows('detection_state', ['rule_id', 'key'], [text('rule_id'), text('key'), text('value'), bigint('updated_at')]),
  rows('detection_offsets', ['name'], [text('name'), bigint('seq'), bigint('updated_at')]),
  rows(
    'notify_queue',
    ['seq'],
    [bigint('seq'), text('alert_id'), text('reason'), text('severity'), integer('event_count'), bigint('queued_at')],
  ),
  rows('notify_offsets', ['target'], [text('target'), bigint('seq'), bigint('updated_at')]),
  rows(
    'notify_failures',
    ['target', 'seq'],
    [text('target'), bigint('seq'), text('alert_id'), text('code'), text('message'), bigint('failed_at')],
  ),
  rows(
    'notify_target_status',
    ['target'],
    [
      text('target'),
      text('type'),
      text('state'),
      bigint('delivered'),
      bigint('retries'),
      integer('attempt'),
      bigint('last_success_at'),
      text('last_error_code'),
      text('last_error_message'),
      bigint('last_error_at'),
      bigint('next_attempt_at'),
      text('host'),
      bigint('updated_at'),
    ],
  ),
  rows(
    'dataset_statuses',
    ['id'],
    [
      text('id'),
      text('state'),
      bigint('last_success_at'),
      bigint('last_error_at'),
      text('last_error_code'),
      text('last_error_message'),
      bigint('updated_at'),
    ],
  ),
  rows('cursors', ['id'], [text('id'), text('value'), bigint('updated_at')]),
];

/**
 * SQLite tables the copy leaves behind on purpose, with the reason. A table in neither list stops the copy, so a
 * table added by a later migration is never silently lost.
 */
export const TABLES_NOT_COPIED: Readonly<Record<string, string>> = {
  schema_migrations: 'each store records its own schema versions',
  events_recent: 'copied with the events',
  event_bodies: 'copied with the events',
  event_fragments: 'heads and enrichments, joined back into each event body',
  fragment_sweeps: 'bookkeeping of the fragments, which are not copied',
  summary_hours: 'counts of the events; PostgreSQL adds them up again as the events go in',
  summary_days: 'counts of the events; PostgreSQL adds them up again as the events go in',
  collector_nodes: 'heartbeats of running collectors; none may run during the copy',
  leases: 'dataset leases of running collectors; the PostgreSQL nodes claim their own',
  rate_buckets: 'a request budget that refills within minutes',
  sqlite_sequence: 'SQLite bookkeeping',
  sqlite_stat1: 'SQLite bookkeeping',
  sqlite_stat4: 'SQLite bookkeeping',
};
