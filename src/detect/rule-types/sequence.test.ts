import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import type { NormalizedEvent } from '../../core/event.js';
import { silentLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { SqliteStore } from '../../store/sqlite/store.js';
import { loadBuiltinRules } from '../builtin-rules.js';
import { Detector } from '../detector.js';

const dir = mkdtempSync(join(tmpdir(), 'zerotrail-sequence-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 2, 9, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const RULE = 'zt-denied-then-allowed';

let seq = 0;
function login(
  time: number,
  outcome: 'success' | 'failure',
  overrides: Partial<NormalizedEvent> = {},
): NormalizedEvent {
  seq += 1;
  return {
    id: `${String(time).padStart(14, '0')}-${String(seq).padStart(6, '0')}`,
    time,
    sourceName: 'cf',
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome,
    user: 'alice@example.com',
    srcIp: '203.0.113.7',
    country: 'RU',
    app: 'wiki.example.com',
    appUid: 'app-1',
    idp: 'okta',
    rayId: null,
    ocsf: { message: `Cloudflare Access logon ${outcome === 'success' ? 'allowed' : 'denied'}` },
    raw: {},
    ...overrides,
  };
}

function denials(count: number, from: number, stepMs: number, overrides: Partial<NormalizedEvent> = {}) {
  return Array.from({ length: count }, (_, i) => login(from + i * stepMs, 'failure', overrides));
}

describe('denied, then allowed, whatever order the events arrive in', () => {
  let store: SqliteStore;
  let counter = 0;
  const clock = new ManualClock(T0 + 2 * 24 * HOUR);
  const deps = () => ({ store, clock, logger: silentLogger(), metrics: new Metrics() });
  // Each call is one collection step: the events are stored, then evaluated, before the next step's arrive.
  const step = async (events: readonly NormalizedEvent[]) => {
    await store.append(events, { id: 'cf/access_requests', value: { n: seq } });
    await new Detector(deps(), loadBuiltinRules()).catchUp();
    return await store.listAlerts({ ruleId: RULE, limit: 100 });
  };

  beforeEach(async () => {
    store = await SqliteStore.open({ path: join(dir, `sequence-${counter++}.db`), clock });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
  });

  it('pairs denials that arrive after the success they came before', async () => {
    const success = login(T0 + 10 * MIN, 'success');
    expect(await step([success])).toEqual([]);
    const late = denials(6, T0, MIN);
    const [alert, ...rest] = await step(late);
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({
      severity: 'medium',
      firstEventTime: T0,
      lastEventTime: T0 + 10 * MIN,
      count: 7,
      summary:
        'alice@example.com was denied 6 times on wiki.example.com, then allowed from 203.0.113.7 (RU) within 10 minutes',
    });
    const evidence = await store.alertEvidence(alert?.id ?? '');
    expect(evidence.map((e) => e.eventId).sort()).toEqual([...late, success].map((e) => e.id).sort());
  });

  it('pairs a success with denials split between steps, on time and late', async () => {
    expect(await step([...denials(3, T0 + 2 * MIN, MIN), login(T0 + 20 * MIN, 'success')])).toEqual([]);
    const alerts = await step(denials(2, T0, MIN));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.firstEventTime).toBe(T0);
    expect(alerts[0]?.count).toBe(6);
  });

  it('is the same alert as when the events arrive in order', async () => {
    const events = [...denials(5, T0, MIN), login(T0 + 8 * MIN, 'success')];
    const inOrder = await step(events);
    await store.close();
    store = await SqliteStore.open({ path: join(dir, `sequence-${counter++}.db`), clock });
    await store.migrate();
    const success = events[events.length - 1];
    await step(success === undefined ? [] : [success]);
    for (const denial of events.slice(0, -1).reverse()) await step([denial]);
    const reversed = await store.listAlerts({ ruleId: RULE, limit: 100 });
    expect(reversed.map((a) => [a.id, a.firstEventTime, a.lastEventTime, a.count, a.summary])).toEqual(
      inOrder.map((a) => [a.id, a.firstEventTime, a.lastEventTime, a.count, a.summary]),
    );
  });

  it('does not pair late denials that come after the success, too long before it, or on another app', async () => {
    await step([login(T0 + 10 * MIN, 'success')]);
    expect(await step(denials(5, T0 + 11 * MIN, MIN))).toEqual([]);
    expect(await step(denials(5, T0 - 40 * MIN, MIN))).toEqual([]);
    expect(await step(denials(5, T0, MIN, { app: 'mail.example.com' }))).toEqual([]);
    expect(await step(denials(4, T0 + 5 * MIN, 10_000, { user: 'bob@example.com' }))).toEqual([]);
  });

  it('judges a denial later than the lateness horizon without the successes pruned by then', async () => {
    await step([login(T0, 'success')]);
    // Seven hours of newer events for the same user and application move the horizon past the first success.
    await step([login(T0 + 7 * HOUR, 'success')]);
    expect(await step(denials(6, T0 - 10 * MIN, MIN))).toEqual([]);
  });

  it('pairs late denials with a success that arrived after later ones, and with it alone', async () => {
    await step([login(T0 + 2 * HOUR, 'success'), login(T0 + 3 * HOUR, 'success')]);
    const success = login(T0 + 10 * MIN, 'success');
    expect(await step([success])).toEqual([]);
    const late = denials(5, T0, MIN);
    const alerts = await step(late);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ firstEventTime: T0, lastEventTime: T0 + 10 * MIN, count: 6 });
    const evidence = await store.alertEvidence(alerts[0]?.id ?? '');
    expect(evidence.map((e) => e.eventId).sort()).toEqual([...late, success].map((e) => e.id).sort());
  });
});
