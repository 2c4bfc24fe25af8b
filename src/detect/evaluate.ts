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
 * Runs every enabled rule over a batch of events in event-time order. The state each rule needs for the batch
 * is loaded first, so the rules themselves run synchronously; nothing is written here.
 */
export async function evaluateEvents(
  rules: readonly CompiledRule[],
  events: readonly NormalizedEvent[],
  source: StateSource,
  context: EvalContext,
): Promise<EvaluationResult> {
  const ordered = inEventTimeOrder(events);
  const firings: AlertFiring[] = [];
  const writes: DetectionStateWrite[] = [];
  for (const rule of rules) {
    if (!rule.header.enabled) continue;
    const allowed = allowListOf(rule.header.allow);
    const relevant = ordered.filter((event) => rule.match(event) && !allowed(event));
    if (relevant.length === 0) continue;
    const wanted = new Set<string>();
    for (const event of relevant) for (const key of rule.logic.stateKeys(event)) wanted.add(key);
    const keys = [...wanted];
    const loaded = await source.load(rule.header.id, keys);
    const cache = new Map<string, unknown>();
    const dirty = new Set<string>();
    const state: StateView = {
      get(key) {
        if (cache.has(key)) return cache.get(key);
        const text = loaded.get(key);
        const value = text === undefined ? undefined : (JSON.parse(text) as unknown);
        cache.set(key, value);
        return value;
      },
      set(key, value) {
        cache.set(key, value);
        dirty.add(key);
      },
    };
    for (const event of relevant) {
      for (const raw of rule.logic.evaluate(event, state, context)) firings.push(toFiring(rule.header, raw));
    }
    for (const key of dirty) {
      const value = cache.get(key);
      writes.push({ ruleId: rule.header.id, key, value: value === undefined ? null : JSON.stringify(value) });
    }
  }
  return { firings, state: writes };
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
