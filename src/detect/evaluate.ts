import type { NormalizedEvent } from '../core/event.js';
import type { AlertFiring, DetectionStateWrite, RuleAllowList } from '../store/detection-store.js';
import { countryOf } from './geolocation.js';
import { inRange, ipBytes, parseIpRange, type IpRange } from './ip-range.js';
import type { CompiledRule, EvalContext, RawFiring, RuleHeader, StateView } from './rule.js';

/** Where rule state comes from: the store while collecting, memory while replaying. */
export interface StateSource {
  load(ruleId: string, keys: readonly string[]): Promise<ReadonlyMap<string, string>>;
}

export interface EvaluationResult {
  readonly firings: readonly AlertFiring[];
  /** State that changed, to be saved with the firings. */
  readonly state: readonly DetectionStateWrite[];
}

/** Events in event-time order (ties by id), which is the order every rule sees them in. */
export function inEventTimeOrder(events: readonly NormalizedEvent[]): NormalizedEvent[] {
  return [...events].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Rule state through one evaluation, which may span several batches of events: each key is read from the source
 * and parsed once, changed in memory by the rules, and written back once at the end. Rules change what `get`
 * returned in place, so an evaluation that is not committed must be dropped with its state.
 */
export class EvaluationState {
  readonly #source: StateSource;
  readonly #rules = new Map<string, RuleStateHeld>();

  constructor(source: StateSource) {
    this.#source = source;
  }

  /** The state of one rule, with `keys` read from the source unless this evaluation holds them already. */
  async view(ruleId: string, keys: readonly string[]): Promise<StateView> {
    let held = this.#rules.get(ruleId);
    if (held === undefined) {
      held = { texts: new Map(), values: new Map(), dirty: new Set() };
      this.#rules.set(ruleId, held);
    }
    const { texts, values, dirty } = held;
    const missing = keys.filter((key) => !values.has(key) && !texts.has(key));
    if (missing.length > 0) {
      const loaded = await this.#source.load(ruleId, missing);
      // A key without state is held as such, so a later batch does not ask the source again.
      for (const key of missing) texts.set(key, loaded.get(key));
    }
    return {
      get(key) {
        if (values.has(key)) return values.get(key);
        // A key no batch asked for is unknown, not empty: a later batch that asks for it reads it from the source.
        if (!texts.has(key)) return undefined;
        const text = texts.get(key);
        const value = text === undefined ? undefined : (JSON.parse(text) as unknown);
        texts.delete(key);
        values.set(key, value);
        return value;
      },
      set(key, value) {
        texts.delete(key);
        values.set(key, value);
        dirty.add(key);
      },
    };
  }

  /** What the rules changed, as the store keeps it: JSON text, or null for a key forgotten. */
  writes(): DetectionStateWrite[] {
    const writes: DetectionStateWrite[] = [];
    for (const [ruleId, { values, dirty }] of this.#rules) {
      for (const key of dirty) {
        const value = values.get(key);
        writes.push({ ruleId, key, value: value === undefined ? null : JSON.stringify(value) });
      }
    }
    return writes;
  }
}

interface RuleStateHeld {
  /** Texts read from the source and not parsed yet; undefined for a key the source holds nothing for. */
  readonly texts: Map<string, string | undefined>;
  readonly values: Map<string, unknown>;
  readonly dirty: Set<string>;
}

/**
 * Runs every enabled rule over a batch of events in event-time order. The state each rule needs for the batch
 * is loaded first, so the rules themselves run synchronously; nothing is written here.
 */
export async function evaluateEvents(
  rules: readonly CompiledRule[],
  events: readonly NormalizedEvent[],
  source: StateSource,
  context: EvalContext,
): Promise<EvaluationResult> {
  const state = new EvaluationState(source);
  const firings = await evaluateBatch(rules, events, state, context);
  return { firings, state: state.writes() };
}

/** Runs every enabled rule over one batch, in event-time order, against state held across batches. */
export async function evaluateBatch(
  rules: readonly CompiledRule[],
  events: readonly NormalizedEvent[],
  state: EvaluationState,
  context: EvalContext,
): Promise<AlertFiring[]> {
  const ordered = inEventTimeOrder(events);
  const firings: AlertFiring[] = [];
  for (const rule of rules) {
    if (!rule.header.enabled) continue;
    const allowed = allowListOf(rule.header.allow);
    const relevant = ordered.filter((event) => rule.match(event) && !allowed(event));
    if (relevant.length === 0) continue;
    const wanted = new Set<string>();
    for (const event of relevant) for (const key of rule.logic.stateKeys(event)) wanted.add(key);
    const view = await state.view(rule.header.id, [...wanted]);
    const recalled = await recall(rule, relevant, context, (event) => rule.match(event) && !allowed(event));
    for (const event of relevant) {
      const more = recalled?.get(event);
      const eventContext = more === undefined ? context : { ...context, recalled: more };
      for (const raw of rule.logic.evaluate(event, view, eventContext)) firings.push(toFiring(rule.header, raw));
    }
  }
  return firings;
}

// What a rule reads back for the events of a batch. The batch's own events are left out: they are evaluated
// in it, in event-time order, as every event is.
async function recall(
  rule: CompiledRule,
  events: readonly NormalizedEvent[],
  context: EvalContext,
  judged: (event: NormalizedEvent) => boolean,
): Promise<ReadonlyMap<NormalizedEvent, readonly NormalizedEvent[]> | undefined> {
  const { stored } = context;
  if (rule.logic.recall === undefined || stored === undefined) return undefined;
  let inBatch: ReadonlySet<string> | undefined;
  const recalled = new Map<NormalizedEvent, readonly NormalizedEvent[]>();
  for (const event of events) {
    const reading = rule.logic.recall(event, stored);
    if (reading === null) continue;
    inBatch ??= new Set(events.map((each) => each.id));
    const batchIds = inBatch;
    recalled.set(
      event,
      (await reading).filter((found) => !batchIds.has(found.id) && judged(found)),
    );
  }
  return recalled;
}

function toFiring(header: RuleHeader, raw: RawFiring): AlertFiring {
  return {
    ruleId: header.id,
    title: header.title,
    severity: raw.severity ?? header.severity,
    technique: header.technique,
    entityKey: raw.entityKey,
    entity: raw.entity,
    summary: renderSummary(header.summary, raw.vars),
    evidence: raw.evidence,
    details: raw.details ?? {},
    suppressMs: header.suppressMs,
  };
}

/** Fills `{name}` placeholders; an unknown value reads "unknown". */
export function renderSummary(template: string, vars: Readonly<Record<string, string | number | null>>): string {
  return template.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    const value = vars[name];
    return value === null || value === undefined ? 'unknown' : String(value);
  });
}

/** A predicate that is true for events the allow-list exempts from the rule. */
export function allowListOf(allow: RuleAllowList): (event: NormalizedEvent) => boolean {
  const users = new Set(allow.users.map((user) => user.toLowerCase()));
  const apps = new Set(allow.apps.map((app) => app.toLowerCase()));
  const countries = new Set(allow.countries.map((country) => country.toLowerCase()));
  const ranges = allow.ips.map(parseIpRange).filter((range): range is IpRange => range !== null);
  if (users.size === 0 && apps.size === 0 && countries.size === 0 && ranges.length === 0) return () => false;
  return (event) => {
    if (event.user !== null && users.has(event.user.toLowerCase())) return true;
    if (event.app !== null && apps.has(event.app.toLowerCase())) return true;
    if (event.appUid !== null && apps.has(event.appUid.toLowerCase())) return true;
    if (countries.size > 0) {
      const country = countryOf(event);
      if (country !== null && countries.has(country.toLowerCase())) return true;
    }
    if (event.srcIp !== null && ranges.length > 0) {
      const bytes = ipBytes(event.srcIp);
      if (bytes !== null && ranges.some((range) => inRange(bytes, range))) return true;
    }
    return false;
  };
}
