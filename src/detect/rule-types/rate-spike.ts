import { z } from 'zod';
import { durationSchema, formatDuration } from '../duration.js';
import type { NormalizedEvent } from '../../core/event.js';
import type { AlertEntity } from '../../store/detection-store.js';
import { registerRuleType } from '../rule.js';
import { entityOf, eventVars, groupBySchema, grouping, MAX_EVIDENCE } from './common.js';

const paramsSchema = z
  .object({
    group_by: groupBySchema.default([]),
    /** The interval events are counted in. */
    bucket: durationSchema,
    /** How much history the usual rate is the mean of. */
    baseline: durationSchema,
    /** No alert until the key has this much history. */
    learning: durationSchema,
    /** How many times the usual rate a bucket must reach. */
    factor: z.number().min(1),
    /** And at least this many events, so a quiet organisation's few denials are no burst. */
    min_count: z.number().int().min(1),
  })
  .strict();

interface SpikeState {
  /** Start of the first bucket ever seen. */
  first: number;
  /** Start of the newest bucket seen. */
  newest?: number;
  /** Bucket start → events counted in it. */
  b: Record<string, number>;
  /** Bucket start → ids of its events (for evidence), the newest buckets only. */
  ids: Record<string, [number, string][]>;
}

/**
 * The sum of a state's counts over the baseline of one bucket, from `from` up to the bucket. Within a busy bucket
 * every event past the minimum would otherwise add up a week of buckets again. Held by state object, which lives
 * as long as one evaluation (see EvaluationState).
 */
const baselines = new WeakMap<SpikeState, { readonly bucket: number; readonly from: number; readonly total: number }>();

/**
 * The alert's entity from what the key fixes: a bucket's events come from many users, addresses and
 * applications, so the event that tipped it speaks for the others only in its grouping fields (as a threshold
 * rule leaves its distinct-counted part empty). Those parts are read from the event, in its own case.
 */
function groupEntity(event: NormalizedEvent, values: Readonly<Record<string, string>>): AlertEntity {
  const entity = entityOf(event, values);
  const grouped = (...fields: readonly string[]) => fields.some((field) => Object.hasOwn(values, field));
  return {
    // An e-mail in another grouping field (a path under ocsf.) is the user, as entityOf takes it.
    user: grouped('user') ? entity.user : (Object.values(values).find((value) => value.includes('@')) ?? null),
    ip: grouped('src_ip', 'src_net') ? entity.ip : null,
    app: grouped('app', 'app_uid') ? entity.app : null,
  };
}

/**
 * Events in one bucket against the mean per bucket over the preceding `baseline` (empty buckets count as zero),
 * once `learning` of history exists: a burst is both `factor` times the usual rate and at least `min_count`.
 */
export const rateSpikeRule = registerRuleType({
  params: paramsSchema,
  variables: ['count', 'usual', 'bucket'],
  create(params) {
    const keyOf = grouping(params.group_by);
    return {
      stateKeys: (event) => {
        const group = keyOf(event);
        return group === null ? [] : [group.key];
      },
      evaluate(event, store) {
        const group = keyOf(event);
        if (group === null) return [];
        const bucket = Math.floor(event.time / params.bucket) * params.bucket;
        const saved = store.get(group.key) as SpikeState | undefined;
        const state: SpikeState = saved ?? { first: bucket, b: {}, ids: {} };
        const ids = state.ids[bucket] ?? [];
        if (ids.some(([, id]) => id === event.id)) return [];
        state.first = Math.min(state.first, bucket);
        const count = (state.b[bucket] ?? 0) + 1;
        state.b[bucket] = count;
        // A late event changes the baseline of every later bucket.
        if ((baselines.get(state)?.bucket ?? bucket) > bucket) baselines.delete(state);
        if (ids.length < MAX_EVIDENCE) ids.push([event.time, event.id]);
        state.ids[bucket] = ids;
        // Keep counts for the baseline and ids for the last few buckets only; pruned when a new bucket starts.
        if (state.newest === undefined || bucket > state.newest) {
          state.newest = bucket;
          for (const key of Object.keys(state.b))
            if (Number(key) < bucket - params.baseline - params.bucket) delete state.b[key];
          for (const key of Object.keys(state.ids)) if (Number(key) < bucket - 6 * params.bucket) delete state.ids[key];
          // The pruning may have dropped buckets an older bucket's remembered sum counted.
          baselines.delete(state);
        }
        store.set(group.key, state);
        // The cheap test first: most buckets never reach the minimum, and then the baseline is not needed.
        if (count < params.min_count || bucket - state.first < params.learning) return [];
        const from = Math.max(state.first, bucket - params.baseline);
        const buckets = Math.max(1, Math.round((bucket - from) / params.bucket));
        let baseline = baselines.get(state);
        if (baseline === undefined || baseline.bucket !== bucket || baseline.from !== from) {
          let total = 0;
          for (const [key, n] of Object.entries(state.b)) if (Number(key) >= from && Number(key) < bucket) total += n;
          baseline = { bucket, from, total };
          baselines.set(state, baseline);
        }
        const usual = baseline.total / buckets;
        if (count < params.min_count || count < params.factor * Math.max(usual, 1)) return [];
        return [
          {
            entityKey: group.key,
            entity: groupEntity(event, group.values),
            evidence: (state.ids[bucket] ?? []).map(([eventTime, eventId]) => ({ eventId, eventTime })),
            vars: {
              ...eventVars(event),
              count,
              usual: usual < 10 ? usual.toFixed(1) : String(Math.round(usual)),
              bucket: formatDuration(params.bucket),
            },
            details: { bucket_start: bucket, count, usual_per_bucket: usual },
          },
        ];
      },
    };
  },
});
