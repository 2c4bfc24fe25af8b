import {
  alertIdFor,
  severityRank,
  type AlertFiring,
  type AlertEntity,
  type Severity,
} from '../store/detection-store.js';
import { groupedSummary } from '../store/alert-firing.js';
import type { Store } from '../store/store.js';
import { evaluateEvents } from './evaluate.js';
import { loadInventoryView } from './inventory-view.js';
import type { CompiledRule } from './rule.js';

/** An alert a replay would have raised. */
export interface ReplayedAlert {
  readonly id: string;
  readonly ruleId: string;
  readonly severity: Severity;
  readonly technique: string;
  readonly entity: AlertEntity;
  readonly firstEventTime: number;
  readonly lastEventTime: number;
  readonly count: number;
  readonly summary: string;
  readonly evidence: readonly string[];
}

interface Group {
  ruleId: string;
  entityKey: string;
  severity: Severity;
  technique: string;
  entity: AlertEntity;
  summary: string;
  suppressMs: number;
  evidence: Map<string, number>;
}

const PAGE = 2_000;

/**
 * Replays stored events of [fromMs, toMs) in event-time order through `rules` with fresh, in-memory state and
 * groups the firings the way the store does. It writes nothing.
 */
export async function replayRules(
  store: Store,
  rules: readonly CompiledRule[],
  range: { readonly fromMs: number; readonly toMs: number },
): Promise<readonly ReplayedAlert[]> {
  const memory = new Map<string, string>();
  const source = {
    load: (ruleId: string, keys: readonly string[]) => {
      const found = new Map<string, string>();
      for (const key of keys) {
        const value = memory.get(`${ruleId}\u0000${key}`);
        if (value !== undefined) found.set(key, value);
      }
      return Promise.resolve(found);
    },
  };
  const inventory = await loadInventoryView(store);
  const groups: Group[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.search(
      { filter: null, order: 'asc', fromMs: range.fromMs, toMs: range.toMs },
      { limit: PAGE, ...(after === undefined ? {} : { after }) },
    );
    const result = await evaluateEvents(rules, page.events, source, { inventory });
    for (const write of result.state) {
      const key = `${write.ruleId}\u0000${write.key}`;
      if (write.value === null) memory.delete(key);
      else memory.set(key, write.value);
    }
    for (const firing of result.firings) group(groups, firing);
    if (page.nextPage === null) break;
    after = page.nextPage;
  }
  return groups.map(toReplayed).sort((a, b) => a.firstEventTime - b.firstEventTime || (a.id < b.id ? -1 : 1));
}

function bounds(evidence: ReadonlyMap<string, number>): { first: number; last: number } {
  const times = [...evidence.values()];
  return { first: Math.min(...times), last: Math.max(...times) };
}

function group(groups: Group[], firing: AlertFiring): void {
  const times = firing.evidence.map((ref) => ref.eventTime);
  const first = Math.min(...times);
  const last = Math.max(...times);
  const existing = groups.find((g) => {
    if (g.ruleId !== firing.ruleId || g.entityKey !== firing.entityKey) return false;
    const span = bounds(g.evidence);
    return span.last >= first - firing.suppressMs && span.first <= last + firing.suppressMs;
  });
  const target: Group = existing ?? {
    ruleId: firing.ruleId,
    entityKey: firing.entityKey,
    severity: firing.severity,
    technique: firing.technique,
    entity: firing.entity,
    summary: firing.summary,
    suppressMs: firing.suppressMs,
    evidence: new Map(),
  };
  if (existing === undefined) groups.push(target);
  const before = target.evidence.size;
  for (const ref of firing.evidence) target.evidence.set(ref.eventId, ref.eventTime);
  if (existing === undefined || target.evidence.size > before) {
    target.entity = firing.entity;
    target.summary = groupedSummary(firing, target.evidence.size);
  }
  if (severityRank(firing.severity) > severityRank(target.severity)) target.severity = firing.severity;
}

function toReplayed(g: Group): ReplayedAlert {
  const evidence = [...g.evidence.entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  const span = bounds(g.evidence);
  return {
    id: alertIdFor(g.ruleId, g.entityKey, evidence[0]?.[0] ?? ''),
    ruleId: g.ruleId,
    severity: g.severity,
    technique: g.technique,
    entity: g.entity,
    firstEventTime: span.first,
    lastEventTime: span.last,
    count: evidence.length,
    summary: g.summary,
    evidence: evidence.map(([id]) => id),
  };
}
