import type { DatasetStatus, StoredSource } from '../store.js';

/** A `sources` row as both stores read it. */
export interface SourceRow {
  readonly name: string;
  readonly type: string;
  readonly account_id: string;
  readonly token_ciphertext: string;
  readonly token_last_four: string;
  readonly created_at: number;
  readonly settings: string;
}

/** A `dataset_status` row as both stores read it. */
export interface StatusRow {
  readonly id: string;
  readonly state: DatasetStatus['state'];
  readonly last_success_at: number | null;
  readonly last_error_at: number | null;
  readonly last_error_code: string | null;
  readonly last_error_message: string | null;
  readonly updated_at: number;
}

export function rowToSource(row: SourceRow): StoredSource {
  return {
    name: row.name,
    // Only this type exists so far; the check lives in code because new types will be added without a migration.
    type: row.type as StoredSource['type'],
    accountId: row.account_id,
    tokenCiphertext: row.token_ciphertext,
    tokenLastFour: row.token_last_four,
    createdAt: row.created_at,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
  };
}

export function rowToStatus(row: StatusRow): DatasetStatus {
  return {
    id: row.id,
    state: row.state,
    lastSuccessAt: row.last_success_at,
    lastErrorAt: row.last_error_at,
    lastErrorCode: row.last_error_code,
    lastErrorMessage: row.last_error_message,
    updatedAt: row.updated_at,
  };
}
