import { describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../core/event.js';
import type { AlertEntity } from '../../store/detection-store.js';
import { deniedAccess } from '../../../test/helpers/events.js';
import { rateSpikeRule } from './rate-spike.js';

const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const NO_INVENTORY = { inactiveUser: () => null };

// One quiet denial an hour for two hours, then a burst of 20 denials within a minute, from many users, addresses
// and applications but for `fixed`, which every event shares. Returns the entity of every firing.
function spikeEntities(groupBy: readonly string[], fixed: Partial<NormalizedEvent> = {}): AlertEntity[] {
  const logic = rateSpikeRule.create(
    rateSpikeRule.params.parse({
      group_by: groupBy,
      bucket: '10m',
      baseline: '1d',
      learning: '1h',
      factor: 5,
      min_count: 20,
    }),
  );
  const state = new Map<string, unknown>();
  const view = { get: (key: string) => state.get(key), set: (key: string, value: unknown) => state.set(key, value) };
  const times = [T0, T0 + HOUR, ...Array.from({ length: 20 }, (_, i) => T0 + 2 * HOUR + i * 1_000)];
  const events = times.map((time, i) =>
    deniedAccess(
      {
        time,
        user: `User${i}@Example.com`,
        srcIp: `198.51.100.${i + 1}`,
        app: `App ${i}`,
        appUid: `app-${i}`,
        ...fixed,
      },
      i,
    ),
  );
  return events.flatMap((event) => logic.evaluate(event, view, { inventory: NO_INVENTORY }).map((f) => f.entity));
}

describe('rate_spike alerts', () => {
  it('take their entity from the grouping fields, in the event’s own case, and leave the rest empty', () => {
    // The event that tips the bucket is one of many; its user, address and application say nothing of the others.
    expect(spikeEntities(['account_id'])).toEqual([{ user: null, ip: null, app: null }]);
    expect(spikeEntities(['app'], { app: 'Wiki' })).toEqual([{ user: null, ip: null, app: 'Wiki' }]);
    expect(spikeEntities(['user', 'src_ip'], { user: 'Bob@Example.com', srcIp: '203.0.113.7' })).toEqual([
      { user: 'Bob@Example.com', ip: '203.0.113.7', app: null },
    ]);
    expect(spikeEntities(['src_net'])).toEqual([{ user: null, ip: '198.51.100.0/24', app: null }]);
  });
});
