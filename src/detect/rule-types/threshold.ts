import { z } from 'zod';
import type { NormalizedEvent } from '../../core/event.js';
import type { AlertEntity } from '../../store/detection-store.js';
import { formatDuration, durationSchema } from '../duration.js';
import { fieldGetter, valueText } from '../match.js';
import { registerRuleType, type RawFiring } from '../rule.js';
import {
  entityOf,
  entriesOf,
  eventVars,
  evidenceOf,
  groupBySchema,
  grouping,
  insertEntry,
  LATENESS_MS,
  pruneEntries,
  type Entry,
} from './common.js';

const paramsSchema = z
  .object({
    group_by: groupBySchema,
    window: durationSchema,
    threshold: z.number().int().min(1),
    /** Count distinct values of this field instead of events. */
    distinct: z.string().min(1).optional(),
  })
  .strict();

// Which part of an alert's entity a `distinct` field would fill from one event.
const DISTINCT_ENTITY_PARTS: ReadonlyMap<string, keyof AlertEntity> = new Map([
  ['user', 'user'],
  ['src_ip', 'ip'],
  ['app', 'app'],
  ['app_uid', 'app'],
]);

/**
 * At least `threshold` matching events (or distinct values of `distinct`) for one key within `window` of event
 * time. A late event is judged against every window it falls in, not only the one ending at it.
 */
export const thresholdRule = registerRuleType({
  params: paramsSchema,
  variables: ['count', 'distinct', 'duration', 'src_net', 'values'],
  create(params) {
    const keyOf = grouping(params.group_by);
    const distinctOf = params.distinct === undefined ? null : fieldGetter(params.distinct, 'params.distinct');
    const measure = (entries: readonly Entry[]): number =>
      distinctOf === null ? entries.length : new Set(entries.map((entry) => entry[2])).size;
    const entityPart = params.distinct === undefined ? undefined : DISTINCT_ENTITY_PARTS.get(params.distinct);
    // The counted field differs from event to event, so the event that happened to cross the threshold says
    // nothing about the key there: a sprayed user is one victim of many, and which one depends on arrival order.
    // Only a grouping value (the same for every event of the key) may name that part.
    const entityFor = (event: NormalizedEvent, values: Readonly<Record<string, string>>): AlertEntity => {
      const entity = entityOf(event, values);
      if (entityPart === 'user') return { ...entity, user: values['user'] ?? null };
      if (entityPart === 'ip') return { ...entity, ip: values['src_net'] ?? values['src_ip'] ?? null };
      if (entityPart === 'app') return { ...entity, app: values['app'] ?? values['app_uid'] ?? null };
      return entity;
    };
    return {
      stateKeys: (event) => {
        const group = keyOf(event);
        return group === null ? [] : [group.key];
      },
      evaluate(event, state) {
        const group = keyOf(event);
        if (group === null) return [];
        let value: string | null = null;
        if (distinctOf !== null) {
          value = valueText(distinctOf(event)[0])?.toLowerCase() ?? null;
          if (value === null) return [];
        }
        let entries = entriesOf(state.get(group.key));
        if (!insertEntry(entries, [event.time, event.id, value])) return [];
        entries = pruneEntries(entries, params.window + LATENESS_MS);
        state.set(group.key, entries);
        // Windows that contain the event: the one ending at it, then those ending at each later entry.
        const ends = [
          event.time,
          ...entries.filter((e) => e[0] > event.time && e[0] <= event.time + params.window).map((e) => e[0]),
        ];
        for (const end of ends) {
          const inWindow = entries.filter((e) => e[0] <= end && e[0] >= end - params.window);
          if (measure(inWindow) < params.threshold) continue;
          const first = inWindow[0]?.[0] ?? event.time;
          const last = inWindow[inWindow.length - 1]?.[0] ?? event.time;
          const distinctValues = [...new Set(inWindow.map((e) => e[2]).filter((v): v is string => v !== null))];
          const firing: RawFiring = {
            entityKey: group.key,
            entity: entityFor(event, group.values),
            evidence: evidenceOf(inWindow),
            vars: {
              ...eventVars(event),
              ...group.values,
              count: inWindow.length,
              distinct: distinctValues.length,
              duration: formatDuration(last - first),
              values: distinctValues.slice(0, 5).join(', ') + (distinctValues.length > 5 ? ', …' : ''),
            },
            details: {
              window_ms: params.window,
              threshold: params.threshold,
              count: inWindow.length,
              distinct: distinctValues.length,
            },
          };
          return [firing];
        }
        return [];
      },
    };
  },
});
