import { z } from 'zod';
import type { NormalizedEvent } from '../../core/event.js';
import { SEVERITIES } from '../../store/detection-store.js';
import { durationSchema, formatDuration } from '../duration.js';
import { compileMatch, fieldGetter, valueText } from '../match.js';
import { registerRuleType, type RawFiring } from '../rule.js';
import { entityOf, eventVars, groupBySchema, grouping } from './common.js';

const paramsSchema = z
  .object({
    group_by: groupBySchema,
    /** The field whose new values are reported. */
    field: z.string().min(1),
    /** No alert until the key has been seen for this long. */
    learning: durationSchema,
    /**
     * Nor until the key has shown this many events: a user seen on a few days of a quiet month has no habits yet.
     * The organisation's history (for `escalate_to`) holds every key's, so it is never shorter.
     */
    learning_events: z.number().int().min(1).max(100_000).optional(),
    /** Only these values are reported when new (sensitive applications, say); absent means every value. */
    values: z.array(z.string().min(1)).optional(),
    /** Severity when the value is new for the whole organisation too. */
    escalate_to: z.enum(SEVERITIES).optional(),
    /**
     * Events of another shape that only teach the key's values, never alert: logins teaching the addresses a
     * user's device enrolments are compared with. Their key and value must read like the main ones.
     */
    learn_from: z
      .object({ match: z.record(z.string(), z.unknown()), group_by: groupBySchema, field: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();

interface SeenState {
  /** When the key was first seen. */
  first: number;
  /** Value → when it was first seen. */
  v: Record<string, number>;
  /** Events of the key evaluated so far, counted up to `learning_events` only (then no event needs a write). */
  n?: number;
}

const MAX_VALUES = 200;
const ORGANISATION_KEY = '\u0000organisation';
// Fields naming an application, which `values` may also list by the application's name.
const APPLICATION_FIELDS: ReadonlySet<string> = new Set(['app', 'app_uid']);

/**
 * The names an event gives its application besides the flat fields: OCSF `service.name` and the name the apps
 * inventory gave it when the event was collected (its `application` enrichment). Access logs name an
 * application by its domain only, while operators know it by name.
 */
function applicationNames(event: NormalizedEvent): string[] {
  const ocsf = event.ocsf as { service?: { name?: unknown }; enrichments?: unknown };
  const names: string[] = [];
  if (typeof ocsf.service?.name === 'string') names.push(ocsf.service.name.toLowerCase());
  if (Array.isArray(ocsf.enrichments)) {
    for (const enrichment of ocsf.enrichments as unknown[]) {
      const { type, data } = (enrichment ?? {}) as { type?: unknown; data?: { name?: unknown } };
      if (type === 'application' && typeof data?.name === 'string') names.push(data.name.toLowerCase());
    }
  }
  return names;
}

/**
 * A value of `field` that one key has not shown before, once the key has `learning` of history and, with
 * `learning_events`, that many events. The history is what this rule has evaluated, backfills included, so the
 * learning period ends with the first weeks of data.
 */
export const firstSeenRule = registerRuleType({
  params: paramsSchema,
  variables: ['value', 'known', 'since'],
  create(params) {
    const keyOf = grouping(params.group_by);
    const valueOf = fieldGetter(params.field, 'params.field');
    const only = params.values === undefined ? null : new Set(params.values.map((value) => value.toLowerCase()));
    const namesApplication = APPLICATION_FIELDS.has(params.field);
    // Whether a new value is one `values` lists: by itself, or for an application also by its name.
    const listed = (event: NormalizedEvent, value: string): boolean =>
      only === null || only.has(value) || (namesApplication && applicationNames(event).some((name) => only.has(name)));
    // Country codes read as codes (BR, not br); other values as the event had them.
    const shown = (value: string): string => (params.field === 'country' ? value.toUpperCase() : value);
    const learn =
      params.learn_from === undefined
        ? null
        : {
            matches: compileMatch(params.learn_from.match, 'params.learn_from.match'),
            keyOf: grouping(params.learn_from.group_by),
            valueOf: fieldGetter(params.learn_from.field, 'params.learn_from.field'),
          };
    // Which key and value an event speaks of, and whether it only teaches.
    const sideOf = (event: NormalizedEvent) => {
      const learnOnly = learn?.matches(event) === true;
      const group = learnOnly && learn !== null ? learn.keyOf(event) : keyOf(event);
      const raw = (learnOnly && learn !== null ? learn.valueOf : valueOf)(event)[0];
      return { group, value: valueText(raw)?.toLowerCase() ?? null, raw, learnOnly };
    };
    const minEvents = params.learning_events ?? 0;
    // Counts one more event of a key while it is under the minimum; true when the state changed.
    const counted = (state: SeenState): boolean => {
      if ((state.n ?? 0) >= minEvents) return false;
      state.n = (state.n ?? 0) + 1;
      return true;
    };
    return {
      stateKeys: (event) => {
        const { group, learnOnly } = sideOf(event);
        if (group === null) return [];
        return params.escalate_to === undefined || learnOnly ? [group.key] : [group.key, ORGANISATION_KEY];
      },
      evaluate(event, store) {
        const { group, value, raw, learnOnly } = sideOf(event);
        if (group === null || value === null) return [];
        const saved = store.get(group.key) as SeenState | undefined;
        const state = saved ?? { first: event.time, v: {} };
        const since = state.first;
        // The key's history before this event: long enough, and with enough events in it.
        const learned = event.time - since >= params.learning && (state.n ?? 0) >= minEvents;
        // Most events show a known value at a later time and change nothing; only a change is written back.
        let changed = saved === undefined || event.time < state.first;
        changed = counted(state) || changed;
        state.first = Math.min(state.first, event.time);
        const seen = state.v[value];
        let firing: RawFiring | null = null;
        if (seen === undefined) {
          changed = true;
          const known = Object.keys(state.v);
          if (known.length < MAX_VALUES) state.v[value] = event.time;
          let newForOrganisation = false;
          if (params.escalate_to !== undefined && !learnOnly) {
            const org = (store.get(ORGANISATION_KEY) as SeenState | undefined) ?? { first: event.time, v: {} };
            newForOrganisation = org.v[value] === undefined && event.time - org.first >= params.learning;
            if (org.v[value] === undefined && Object.keys(org.v).length < MAX_VALUES) org.v[value] = event.time;
            org.first = Math.min(org.first, event.time);
            store.set(ORGANISATION_KEY, org);
          }
          if (!learnOnly && learned && listed(event, value)) {
            const entity = entityOf(event, group.values);
            firing = {
              entityKey: `${group.key}\u001f${value}`,
              entity,
              evidence: [{ eventId: event.id, eventTime: event.time }],
              vars: {
                ...eventVars(event),
                user: entity.user,
                value: shown(valueText(raw) ?? value),
                known: known.length === 0 ? 'none' : known.slice(0, 5).map(shown).join(', '),
                since: formatDuration(event.time - since),
              },
              ...(newForOrganisation && params.escalate_to !== undefined ? { severity: params.escalate_to } : {}),
              details: {
                field: params.field,
                value,
                known: known.slice(0, 20),
                new_for_organisation: newForOrganisation,
              },
            };
          }
        } else if (event.time < seen) {
          state.v[value] = event.time;
          changed = true;
        }
        if (changed) store.set(group.key, state);
        return firing === null ? [] : [firing];
      },
    };
  },
});
