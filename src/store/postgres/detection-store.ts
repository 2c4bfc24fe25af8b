/* eslint-disable @typescript-eslint/require-await -- every method rejects; they stay async to keep the contract's shape. */
import { StoreError } from '../../core/errors.js';
import type {
  AlertHistoryEntry,
  DetectionCommitResult,
  DetectionStore,
  EvidenceRef,
  RuleSetting,
  SequencedEvent,
  StoredAlert,
} from '../detection-store.js';

/**
 * The detection half of the store contract on PostgreSQL: not there yet, so every method answers
 * STORE_NOT_SUPPORTED and detections stay with the SQLite store for now. TODO(#5)
 */
export class PostgresDetectionStore implements DetectionStore {
  async eventsAfter(): Promise<readonly SequencedEvent[]> {
    throw notSupported();
  }

  async detectionOffset(): Promise<number> {
    throw notSupported();
  }

  async detectionState(): Promise<ReadonlyMap<string, string>> {
    throw notSupported();
  }

  async commitDetections(): Promise<DetectionCommitResult> {
    throw notSupported();
  }

  async listAlerts(): Promise<readonly StoredAlert[]> {
    throw notSupported();
  }

  async getAlert(): Promise<StoredAlert | undefined> {
    throw notSupported();
  }

  async alertEvidence(): Promise<readonly EvidenceRef[]> {
    throw notSupported();
  }

  async alertHistory(): Promise<readonly AlertHistoryEntry[]> {
    throw notSupported();
  }

  async changeAlert(): Promise<StoredAlert> {
    throw notSupported();
  }

  async ruleSettings(): Promise<readonly RuleSetting[]> {
    throw notSupported();
  }

  async saveRuleSetting(): Promise<void> {
    throw notSupported();
  }
}

function notSupported(): StoreError {
  return new StoreError('STORE_NOT_SUPPORTED', {
    message: 'Detections and alerts are not yet supported on PostgreSQL.',
    hint: 'Use the default SQLite store (no --database-url) for detections for now.',
  });
}
