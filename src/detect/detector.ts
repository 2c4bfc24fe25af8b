import type { Clock } from '../core/clock.js';
import { isAppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { RuleSetting } from '../store/detection-store.js';
import type { Store } from '../store/store.js';
import { evaluateEvents } from './evaluate.js';
import { loadInventoryView } from './inventory-view.js';
import type { CompiledRule } from './rule.js';
import { compileRule, type RuleDefinition } from './rule-file.js';
import { parseStoredRule, storedRulesFromText, STORED_RULES_SETTING } from './stored-rules.js';

export interface DetectorDeps {
  readonly store: Store;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
}

export interface CatchUpResult {
  readonly events: number;
  readonly created: number;
  readonly updated: number;
}

/** The offset name of the one streaming evaluator. */
export const DETECTION_OFFSET = 'rules';
const DEFAULT_BATCH = 2_000;
// Events stored by other paths than the log runner (inventory change events) are picked up at least this often
// once collection has started.
const RECHECK_MS = 60_000;

/**
 * Evaluates stored events exactly once, in the store's insertion order. Each step reads the events after the
 * detection offset, evaluates them, and commits the alerts, the rule state and the new offset in one
 * transaction, so a crash before the commit repeats the step and a crash after it finds the work done.
 */
export class Detector {
  readonly #deps: DetectorDeps;
  readonly #definitions: readonly RuleDefinition[];
  readonly #batch: number;
  readonly #log: Logger;
  #running: Promise<void> | null = null;
  #again = false;
  #notified = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  /** The stored rules' text last parsed, and what it gave: rules added through the API run from the next step on. */
  #storedRulesText: string | undefined;
  #storedRules: readonly RuleDefinition[] = [];

  constructor(deps: DetectorDeps, definitions: readonly RuleDefinition[], options: { readonly batch?: number } = {}) {
    this.#deps = deps;
    this.#definitions = definitions;
    this.#batch = options.batch ?? DEFAULT_BATCH;
    this.#log = deps.logger.child({ component: 'detect', id: DETECTION_OFFSET });
  }

  /** Asks for a catch-up soon; returns at once. Called after every committed batch, so it must stay cheap. */
  notify(): void {
    if (this.#closed) return;
    this.#notified = true;
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.notify(), RECHECK_MS);
      // A pending re-check never keeps the process alive; close() stops it.
      this.#timer.unref();
    }
    if (this.#running !== null) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = null;
    });
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      try {
        await this.catchUp();
      } catch (error) {
        if (isAppError(error) && error.code === 'STORE_NOT_SUPPORTED') {
          // This store keeps no detections; say so once instead of failing after every batch.
          this.#closed = true;
          clearInterval(this.#timer);
          this.#log.info({ code: error.code }, 'Detections not supported by this store; rules do not run');
          return;
        }
        // The offset did not move, so the next notification retries the same events.
        this.#deps.metrics.increment('detect_runs_failed_total');
        this.#log.warn({ err: error }, 'Detection run failed');
      }
    } while (this.#again && !this.#closed);
  }

  /** Evaluates everything stored after the offset, in steps, and returns what it did. */
  async catchUp(): Promise<CatchUpResult> {
    const { store } = this.#deps;
    await this.#refreshStoredRules();
    const rules = this.#compile(await store.ruleSettings());
    const inventory = await loadInventoryView(store);
    let events = 0;
    let created = 0;
    let updated = 0;
    for (;;) {
      const offset = await store.detectionOffset(DETECTION_OFFSET);
      const rows = await store.eventsAfter(offset, this.#batch);
      const last = rows[rows.length - 1];
      if (last === undefined) break;
      const result = await evaluateEvents(
        rules,
        rows.map((row) => row.event),
        { load: (ruleId, keys) => store.detectionState(ruleId, keys) },
        { inventory },
      );
      const commit = await store.commitDetections({
        offsetName: DETECTION_OFFSET,
        fromOffset: offset,
        toOffset: last.seq,
        state: result.state,
        firings: result.firings,
      });
      // Another process moved the offset first; its commit covers these events, so start again from it.
      if (!commit.committed) continue;
      events += rows.length;
      created += commit.created;
      updated += commit.updated;
      this.#deps.metrics.increment('detect_events_evaluated_total', {}, rows.length);
      this.#deps.metrics.increment('detect_alerts_created_total', {}, commit.created);
      this.#log.debug({ events: rows.length, created: commit.created, updated: commit.updated }, 'Detections stored');
    }
    return { events, created, updated };
  }

  /** Waits for a running pass, then runs a last one if anything was stored since; further notifications are ignored. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#closed) {
      if (this.#running !== null) await this.#running;
      return;
    }
    this.#closed = true;
    if (this.#running !== null) await this.#running;
    if (this.#notified) {
      try {
        await this.catchUp();
      } catch (error) {
        this.#deps.metrics.increment('detect_runs_failed_total');
        this.#log.warn({ err: error }, 'Detection run failed');
      }
    }
  }

  /**
   * Rules added through the API live in the store, so every node sharing it picks them up without a restart. One
   * that no longer loads (a stricter loader after an upgrade) is reported and skipped; the others keep running.
   */
  async #refreshStoredRules(): Promise<void> {
    const text = await this.#deps.store.getSetting(STORED_RULES_SETTING);
    if (text === this.#storedRulesText) return;
    const known = new Set(this.#definitions.map((definition) => definition.header.id));
    const loaded: RuleDefinition[] = [];
    for (const stored of storedRulesFromText(text)) {
      try {
        const definition = parseStoredRule(stored);
        if (known.has(definition.header.id)) {
          throw new Error(`the id ${definition.header.id} is taken by a built-in rule or a rule file`);
        }
        known.add(definition.header.id);
        loaded.push(definition);
      } catch (error) {
        this.#deps.metrics.increment('detect_rules_invalid_total');
        this.#log.error(
          { err: error, addedBy: stored.addedBy, addedAt: stored.addedAt },
          'Stored rule rejected; rule not run',
        );
      }
    }
    this.#storedRulesText = text;
    this.#storedRules = loaded;
  }

  #compile(settings: readonly RuleSetting[]): readonly CompiledRule[] {
    const byId = new Map(settings.map((setting) => [setting.ruleId, setting]));
    const rules: CompiledRule[] = [];
    for (const definition of [...this.#definitions, ...this.#storedRules]) {
      try {
        rules.push(compileRule(definition, byId.get(definition.header.id)));
      } catch (error) {
        // Overrides are checked when saved; one that no longer fits a changed rule disables only that rule.
        this.#deps.metrics.increment('detect_rules_invalid_total');
        this.#log.error({ err: error, ruleId: definition.header.id }, 'Rule settings rejected; rule not run');
      }
    }
    return rules;
  }
}
