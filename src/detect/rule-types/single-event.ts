import { z } from 'zod';
import { registerRuleType } from '../rule.js';
import { entityOf, eventVars, groupBySchema, grouping } from './common.js';

const paramsSchema = z
  .object({
    /** Firings with the same values here join one alert; empty groups by source. */
    group_by: groupBySchema.default([]),
  })
  .strict();

/** Every event the rule's `match` accepts is a finding on its own. Keeps no state. */
export const singleEventRule = registerRuleType({
  params: paramsSchema,
  variables: [],
  create(params) {
    const keyOf = grouping(params.group_by);
    return {
      stateKeys: () => [],
      evaluate(event) {
        const group = keyOf(event);
        if (group === null) return [];
        return [
          {
            entityKey: `${event.sourceName}\u001f${group.key}`,
            entity: entityOf(event, group.values),
            evidence: [{ eventId: event.id, eventTime: event.time }],
            vars: eventVars(event),
            details: { dataset: event.dataset, activity: event.activity },
          },
        ];
      },
    };
  },
});
