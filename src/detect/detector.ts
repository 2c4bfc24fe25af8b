import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { AlertFiring, RuleSetting, SequencedEvent } from '../store/detection-store.js';
import type { Store } from '../store/store.js';
import { evaluateBatch, EvaluationState } from './evaluate.js';
import { loadInventoryView } from './inventory-view.js';
import type { CompiledRule, InventoryView, StoredEvents } from './rule.js';
import { compileRule, type RuleDefinition } from './rule-file.js';
import { storedEvents } from './stored-events.js';
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

/** Told after a commit that created or grew alerts, so their notices are in the queue. */
export type AlertsListener = (committed: { readonly created: number; readonly updated: number }) => void;

/** What collection, the forwarder and the commands use of the detector, whichever thread it runs in. */
export interface DetectionRunner {
  /** Asks for a catch-up soon; returns at once. */
  notify(): void;
  onAlerts(listener: AlertsListener): () => void;
  /** Evaluates everything stored after the offset and returns what it did. */
  catchUp(): Promise<CatchUpResult>;
  /**
   * In a process that collected, evaluates what is stored after the offset, for a few seconds at most; then
   * stops. What is left waits behind the durable offset for the next start.
   */
  close(): Promise<void>;
}

/** Tells each listener of a commit that created or grew alerts; one that throws is counted and logged. */
export function tellAlertListeners(
  listeners: Iterable<AlertsListener>,
  committed: { readonly created: number; readonly updated: number },
  metrics: Metrics,
  log: Logger,
): void {
  for (const listener of listeners) {
    try {
      listener(committed);
    } catch (error) {
      // The alerts are committed either way; a listener only shortens the wait of whoever reads them.
      metrics.increment('detect_alert_listeners_failed_total');
      log.warn({ err: error }, 'Alert listener failed');
    }
  }
}

/** The offset name of the one streaming evaluator. */
export const DETECTION_OFFSET = 'rules';
const DEFAULT_BATCH = 5_000;
// Full batches evaluated before one commit of their alerts, state and offset. bench/detections-replay.js at
// 300,000 events: 92-104 CPU µs per event with one, 79 with two, 76 with four and 77 with eight; peak RSS 156,
// 159, 158-165 and 164 MB. Two: bench/ingest at 1,000,000 events peaked at 233-248 MB with four, 239-240 with two.
const DEFAULT_BATCHES_PER_COMMIT = 2;
// After a run, the next starts no sooner than this: during a backfill each run then covers several pages, and
// per-entity state is read and written once per run instead of once per page.
const DEFAULT_MIN_INTERVAL_MS = 500;
// Committed state texts kept between runs; beyond this many, or this many characters in all, the cache starts
// over. A key's state runs to kilobytes (an impossible-travel key keeps up to 50 sign-ins), so the count alone
// would let an organisation with many users hold a gigabyte here.
const MAX_CACHED_STATES = 200_000;
const MAX_CACHED_STATE_CHARS = 32 * 1024 * 1024;
// Once collection has started, events this process was not told of (those other processes store in a shared
// store) are picked up at least this often, whether or not this one stores anything.
const RECHECK_MS = 60_000;
// How long a stopping process goes on evaluating. In a shared store the backlog is every node's: a collector
// stopped after a burst of kills took 85 s to end, past systemd's 90 s and Kubernetes' 30 s before they kill.
const DEFAULT_CLOSE_BUDGET_MS = 5_000;

/**
 * Evaluates stored events exactly once, in the store's insertion order. Each step reads the events after the
 * detection offset, a batch at a time (several batches while they come full), evaluates them, and commits the
 * alerts, the rule state and the new offset in one transaction, so a crash before the commit repeats the step
 * and a crash after it finds the work done.
 */
export class Detector implements DetectionRunner {
  readonly #deps: DetectorDeps;
  readonly #definitions: readonly RuleDefinition[];
  readonly #batch: number;
  readonly #batchesPerCommit: number;
  readonly #log: Logger;
  #running: Promise<void> | null = null;
  #again = false;
  #notified = false;
  #closed = false;
  /** When a stopping process stops evaluating, by performance.now(): it cannot wait on an injected clock. */
  #closeDeadline = Infinity;
  readonly #closeBudgetMs: number;
  #timer: NodeJS.Timeout | undefined;
  readonly #minIntervalMs: number;
  #lastRunEndedAt = 0;
  #delayed: NodeJS.Timeout | undefined;
  /** Rule state as committed at `#cachedAtOffset`, by rule and key; null for a key known to hold nothing. */
  #stateCache = new Map<string, Map<string, string | null>>();
  #cachedStates = 0;
  #cachedStateChars = 0;
  readonly #maxCachedStateChars: number;
  #cachedAtOffset: number | undefined;
  /** The stored rules' text last parsed, and what it gave: rules added through the API run from the next step on. */
  #storedRulesText: string | undefined;
  #storedRules: readonly RuleDefinition[] = [];
  readonly #alertListeners = new Set<AlertsListener>();

  constructor(
    deps: DetectorDeps,
    definitions: readonly RuleDefinition[],
    options: {
      readonly batch?: number;
      readonly batchesPerCommit?: number;
      readonly minIntervalMs?: number;
      readonly maxCachedStateChars?: number;
      readonly closeBudgetMs?: number;
    } = {},
  ) {
    this.#deps = deps;
    this.#definitions = definitions;
    this.#batch = options.batch ?? DEFAULT_BATCH;
    this.#batchesPerCommit = Math.max(1, options.batchesPerCommit ?? DEFAULT_BATCHES_PER_COMMIT);
    this.#minIntervalMs = options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
    this.#maxCachedStateChars = options.maxCachedStateChars ?? MAX_CACHED_STATE_CHARS;
    this.#closeBudgetMs = options.closeBudgetMs ?? DEFAULT_CLOSE_BUDGET_MS;
    this.#log = deps.logger.child({ component: 'detect', id: DETECTION_OFFSET });
  }

  /**
   * Calls `listener` after each commit of this detector that created or grew alerts; returns a function that
   * removes it. The listener runs inside the detection run, so it must return at once (the forwarder's poke).
   */
  onAlerts(listener: AlertsListener): () => void {
    this.#alertListeners.add(listener);
    return () => this.#alertListeners.delete(listener);
  }

  /**
   * Asks for a catch-up soon; returns at once. Collection calls it after every page it stores and every snapshot,
   * new events or not, so the first call catches up on what an earlier process left behind the offset and starts
   * the periodic re-check. It must stay cheap.
   */
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
    if (this.#delayed !== undefined) return;
    const wait = this.#lastRunEndedAt + this.#minIntervalMs - this.#deps.clock.now();
    if (wait > 0) {
      this.#delayed = setTimeout(() => {
        this.#delayed = undefined;
        this.#start();
      }, wait);
      this.#delayed.unref();
      return;
    }
    this.#start();
  }

  #start(): void {
    if (this.#closed || this.#running !== null) return;
    this.#running = this.#loop().finally(() => {
      this.#running = null;
      this.#lastRunEndedAt = this.#deps.clock.now();
    });
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      try {
        await this.catchUp();
      } catch (error) {
        // The offset did not move, so the next notification retries the same events.
        this.#deps.metrics.increment('detect_runs_failed_total');
        this.#log.warn({ err: error }, 'Detection run failed');
      }
    } while (this.#again && !this.#closed);
  }

  /** Evaluates everything stored after the offset, in steps, and returns what it did. */
  async catchUp(): Promise<CatchUpResult> {
    const { store } = this.#deps;
    // Read with the first events found: collection asks after every pull, and a pass that finds nothing new
    // then costs two small reads instead of the rules, their settings and the Access users.
    let prepared:
      | { readonly rules: readonly CompiledRule[]; readonly inventory: InventoryView; readonly stored: StoredEvents }
      | undefined;
    const prepare = async () => {
      await this.#refreshStoredRules();
      const rules = this.#compile(await store.ruleSettings());
      return { rules, inventory: await loadInventoryView(store), stored: storedEvents(store) };
    };
    let events = 0;
    let created = 0;
    let updated = 0;
    for (;;) {
      if (performance.now() >= this.#closeDeadline) {
        this.#log.info({ events }, 'Detection stopped with the process; the next start evaluates the rest');
        break;
      }
      const offset = await store.detectionOffset(DETECTION_OFFSET);
      // The cache holds what this detector committed; after another process's commit it may be stale.
      if (this.#cachedAtOffset !== offset) this.#clearStateCache();
      const state = new EvaluationState({ load: (ruleId, keys) => this.#loadState(ruleId, keys) });
      const firings: AlertFiring[] = [];
      let evaluated = 0;
      let last: SequencedEvent | undefined;
      // Several batches make one commit while a backfill keeps them full: a key busy in each of them (a user's
      // sign-ins) is then read, parsed, written and copied through the WAL once instead of once per batch.
      for (let batch = 0; batch < this.#batchesPerCommit; batch += 1) {
        const rows = await store.eventsAfter(last?.seq ?? offset, this.#batch);
        const newest = rows[rows.length - 1];
        if (newest === undefined) break;
        prepared ??= await prepare();
        const batchFirings = await evaluateBatch(
          prepared.rules,
          rows.map((row) => row.event),
          state,
          { inventory: prepared.inventory, stored: prepared.stored },
        );
        for (const firing of batchFirings) firings.push(firing);
        evaluated += rows.length;
        last = newest;
        if (rows.length < this.#batch) break;
      }
      if (last === undefined) break;
      const written = state.writes();
      const changed = written.filter((write) => this.#stateCache.get(write.ruleId)?.get(write.key) !== write.value);
      let commit;
      try {
        commit = await store.commitDetections({
          offsetName: DETECTION_OFFSET,
          fromOffset: offset,
          toOffset: last.seq,
          state: changed,
          firings,
        });
      } catch (error) {
        this.#clearStateCache();
        throw error;
      }
      // Another process moved the offset first; its commit covers these events, so start again from it.
      if (!commit.committed) {
        this.#clearStateCache();
        continue;
      }
      for (const write of changed) this.#cacheState(write.ruleId, write.key, write.value);
      this.#cachedAtOffset = last.seq;
      events += evaluated;
      created += commit.created;
      updated += commit.updated;
      this.#deps.metrics.increment('detect_events_evaluated_total', {}, evaluated);
      this.#deps.metrics.increment('detect_alerts_created_total', {}, commit.created);
      this.#log.debug({ events: evaluated, created: commit.created, updated: commit.updated }, 'Detections stored');
      if (commit.created + commit.updated > 0) this.#alertsCommitted(commit.created, commit.updated);
    }
    return { events, created, updated };
  }

  #alertsCommitted(created: number, updated: number): void {
    tellAlertListeners(this.#alertListeners, { created, updated }, this.#deps.metrics, this.#log);
  }

  // State for a batch: committed texts from the cache, the rest read from the store and remembered.
  async #loadState(ruleId: string, keys: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const cached = this.#stateCache.get(ruleId);
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const key of keys) {
      const text = cached?.get(key);
      if (text === undefined) missing.push(key);
      else if (text !== null) found.set(key, text);
    }
    if (missing.length === 0) return found;
    const loaded = await this.#deps.store.detectionState(ruleId, missing);
    for (const key of missing) {
      const text = loaded.get(key);
      this.#cacheState(ruleId, key, text ?? null);
      if (text !== undefined) found.set(key, text);
    }
    return found;
  }

  #cacheState(ruleId: string, key: string, text: string | null): void {
    if (this.#cachedStates >= MAX_CACHED_STATES || this.#cachedStateChars >= this.#maxCachedStateChars) {
      this.#clearStateCache();
    }
    let byKey = this.#stateCache.get(ruleId);
    if (byKey === undefined) {
      byKey = new Map();
      this.#stateCache.set(ruleId, byKey);
    }
    const previous = byKey.get(key);
    if (previous === undefined) this.#cachedStates += 1;
    this.#cachedStateChars += (text?.length ?? 0) - (previous?.length ?? 0);
    byKey.set(key, text);
  }

  #clearStateCache(): void {
    this.#stateCache = new Map();
    this.#cachedStates = 0;
    this.#cachedStateChars = 0;
    this.#cachedAtOffset = undefined;
  }

  /**
   * Waits for a running pass, then, once notified, evaluates whatever is left after the offset; further
   * notifications are ignored.
   */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    clearTimeout(this.#delayed);
    this.#delayed = undefined;
    if (this.#closed) {
      if (this.#running !== null) await this.#running;
      return;
    }
    this.#closed = true;
    this.#closeDeadline = performance.now() + this.#closeBudgetMs;
    if (this.#running !== null) await this.#running;
    // A detector never notified belongs to a command that collects nothing (a search, an alert listing): as the
    // detection thread, never started there, it leaves what lies past the offset to the collector.
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
