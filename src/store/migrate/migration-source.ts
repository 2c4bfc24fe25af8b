import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../../core/errors.js';
import { SqliteExport } from '../sqlite/bulk-export.js';
import { MIGRATED_TABLES, TABLES_NOT_COPIED } from './tables.js';

/** A SQLite installation checked and opened read-only for copying. */
export interface MigrationSource {
  readonly dataDir: string;
  readonly reader: SqliteExport;
  /**
   * A fingerprint of the installation: when its database was created and the value sealed with its key. A copy
   * into PostgreSQL is recorded under it, so a second run knows its own copy from another installation's.
   */
  readonly installation: string;
}

export interface MigrationSourceOptions {
  readonly dataDir: string;
  /** The database file's name inside `dataDir`. */
  readonly databaseFile: string;
  /** The setting whose value, sealed with the installation's key, tells installations apart. */
  readonly keyCheckSetting: string;
  readonly nowMs: number;
}

/**
 * Opens the SQLite database of a data directory read-only and refuses, with a message saying why, anything the
 * copy cannot take as it is: a missing or foreign directory or file, a damaged file, a schema version other
 * than this code's, tables it does not know, or a collector still working on it.
 */
export function openMigrationSource(options: MigrationSourceOptions): MigrationSource {
  const { dataDir } = options;
  const stat = statSync(dataDir, { throwIfNoEntry: false });
  if (stat === undefined || !stat.isDirectory()) {
    throw notADataDir(dataDir, stat === undefined ? `${dataDir} does not exist` : `${dataDir} is not a directory`);
  }
  const path = join(dataDir, options.databaseFile);
  if (statSync(path, { throwIfNoEntry: false })?.isFile() !== true) {
    throw notADataDir(dataDir, `${dataDir} holds no ${options.databaseFile}, so it is not a zerotrail data directory`);
  }
  const reader = SqliteExport.open(path, { check: true });
  try {
    const installation = checkSchema(reader, dataDir, options.keyCheckSetting);
    checkNotCollecting(reader, dataDir, options.nowMs);
    return { dataDir, reader, installation };
  } catch (error) {
    reader.close();
    throw error;
  }
}

function checkSchema(reader: SqliteExport, dataDir: string, keyCheckSetting: string): string {
  const tables = new Set(reader.tableNames());
  if (!tables.has('schema_migrations')) {
    throw notADataDir(dataDir, `${reader.path} is a SQLite database, but not one zerotrail wrote`);
  }
  const versions = reader.schemaVersions();
  const newest = Math.max(0, ...versions.map((row) => row.version));
  if (newest > SqliteExport.schemaVersion) {
    throw new StoreError('STORE_MIGRATION_FAILED', {
      message: `${reader.path} is at schema version ${newest}, newer than this zerotrail understands (${SqliteExport.schemaVersion}).`,
      hint: 'Migrate it with the zerotrail version that wrote it.',
      details: { databaseVersion: newest, codeVersion: SqliteExport.schemaVersion },
    });
  }
  const applied = new Set(versions.map((row) => row.version));
  const notApplied = SqliteExport.schemaVersions.filter((version) => !applied.has(version));
  if (notApplied.length > 0) {
    throw new StoreError('STORE_MIGRATE_SOURCE_INVALID', {
      message: `${reader.path} is at schema version ${newest} without ${notApplied.length === 1 ? 'migration' : 'migrations'} ${notApplied.join(', ')}; this zerotrail copies version ${SqliteExport.schemaVersion} with every migration applied. Nothing was copied.`,
      hint: `Upgrade it first by running any command of this zerotrail on it once, e.g. zerotrail source list --data-dir ${dataDir}, then migrate again.`,
      details: { databaseVersion: newest, codeVersion: SqliteExport.schemaVersion },
    });
  }
  const known = new Set([...MIGRATED_TABLES.map((table) => table.name), ...Object.keys(TABLES_NOT_COPIED)]);
  const unknown = [...tables].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new StoreError('STORE_MIGRATE_SOURCE_INVALID', {
      message: `${reader.path} holds tables this zerotrail does not know how to copy (${unknown.join(', ')}); nothing was copied, so nothing of them is lost.`,
      hint: 'Migrate with the zerotrail version that created those tables.',
      details: { tables: unknown },
    });
  }
  const missing = MIGRATED_TABLES.map((table) => table.name).filter((name) => !tables.has(name));
  if (missing.length > 0) {
    throw notADataDir(dataDir, `${reader.path} lacks the tables ${missing.join(', ')}`);
  }
  const created = versions[0]?.appliedAt ?? 0;
  return createHash('sha256')
    .update(`${created}\u0000${reader.setting(keyCheckSetting) ?? ''}`)
    .digest('hex')
    .slice(0, 32);
}

// `collect` and `serve` heartbeat while they run and hold a lease per dataset; a run that was killed leaves
// rows that stop counting once their time is up.
function checkNotCollecting(reader: SqliteExport, dataDir: string, nowMs: number): void {
  const { nodes, leases } = reader.activeCollectors(nowMs);
  if (nodes.length === 0 && leases.length === 0) return;
  const holders = [...new Set([...nodes.map((node) => node.nodeId), ...leases.map((lease) => lease.nodeId)])];
  const until = Math.max(...nodes.map((node) => node.expiresAt), ...leases.map((lease) => lease.expiresAt));
  throw new StoreError('STORE_MIGRATE_SOURCE_IN_USE', {
    message:
      `A collector is still running on ${dataDir} (${holders.join(', ')}; ${leases.length} dataset lease${leases.length === 1 ? '' : 's'} held, ` +
      `heartbeat valid until ${new Date(until).toISOString()}). Nothing was copied.`,
    hint: 'Stop zerotrail collect and zerotrail serve on this data directory, wait until that time has passed (a killed process leaves its heartbeat until then), and run the migration again.',
    details: { nodes: holders, until },
  });
}

function notADataDir(dataDir: string, reason: string): StoreError {
  return new StoreError('STORE_MIGRATE_SOURCE_INVALID', {
    message: `${reason}. Nothing was copied.`,
    hint: 'Point --from at the directory zerotrail collect or serve ran with (its --data-dir): it holds zerotrail.db and secret.key.',
    details: { dataDir },
  });
}
