// The detection part of the store contract (contract.suite.ts runs it); the .suite.ts suffix keeps it out of the build.
import { beforeEach, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../core/event.js';
import { alertIdAfterClosed } from './alert-firing.js';
import type { AlertFiring } from './detection-store.js';
import type { Store } from './store.js';
import { deniedAccess } from '../../test/helpers/events.js';

const T0 = Date.UTC(2024, 4, 6, 8, 0, 0);
const MIN = 60_000;

function event(n: number, overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  const time = T0 + n * MIN;
  return deniedAccess(
    {
      id: `${time.toString(16).padStart(12, '0')}-det-${String(n).padStart(4, '0')}`,
      time,
      sourceName: 'cf-main',
      country: 'RU',
      app: 'Wiki',
      ocsf: { class_uid: 3002, message: `event ${n}` },
      raw: { n },
      ...overrides,
    },
    n,
  );
}

function firing(evidence: readonly number[], overrides: Partial<AlertFiring> = {}): AlertFiring {
  return {
    ruleId: 'zt-brute-force-user',
    title: 'Brute force against a user',
    severity: 'high',
    technique: 'T1110.001',
    entityKey: 'alice@example.com',
    entity: { user: 'alice@example.com', ip: '203.0.113.7', app: 'Wiki' },
    summary: `alice@example.com was denied ${evidence.length} times`,
    evidence: evidence.map((n) => ({ eventId: event(n).id, eventTime: event(n).time })),
    details: { threshold: 3 },
    suppressMs: 60 * MIN,
    ...overrides,
  };
}

export function detectionContract(current: () => Store): void {
  describe('detections', () => {
    let store: Store;
    let offset = 0;
    const commit = async (firings: readonly AlertFiring[], state: { key: string; value: string | null }[] = []) => {
      const result = await store.commitDetections({
        offsetName: 'rules',
        fromOffset: offset,
        toOffset: offset + 1,
        state: state.map((entry) => ({ ruleId: 'zt-brute-force-user', ...entry })),
        firings,
      });
      if (result.committed) offset += 1;
      return result;
    };

    beforeEach(() => {
      store = current();
      offset = 0;
    });

    it('hands out stored events after an offset in insertion order, not event-time order', async () => {
      await store.append([event(5), event(1)], { id: 'cf-main/access_requests', value: { a: 1 } });
      await store.append([event(3), event(1)], { id: 'cf-main/access_requests', value: { a: 2 } });
      const all = await store.eventsAfter(0, 100);
      expect(all.map((row) => row.event.raw)).toEqual([{ n: 5 }, { n: 1 }, { n: 3 }]);
      expect(all[0]?.event).toEqual(event(5));
      const seqs = all.map((row) => row.seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      expect(new Set(seqs).size).toBe(3);
      expect((await store.eventsAfter(seqs[0] ?? 0, 1)).map((row) => row.event.id)).toEqual([event(1).id]);
      expect(await store.eventsAfter(seqs[2] ?? 0, 100)).toEqual([]);
    });

    it('numbers events stored after retention emptied the store beyond the detection offset', async () => {
      await store.append([event(1), event(2)], { id: 'cf-main/access_requests', value: { a: 1 } });
      const evaluated = await store.eventsAfter(0, 100);
      const last = evaluated[evaluated.length - 1]?.seq ?? 0;
      await store.commitDetections({ offsetName: 'rules', fromOffset: 0, toOffset: last, state: [], firings: [] });
      expect(await store.deleteEventsBefore(T0 + 60 * MIN)).toBe(2);
      await store.append([event(70)], { id: 'cf-main/access_requests', value: { a: 2 } });
      // The evaluator reads after its offset; an event numbered at or below it would never be evaluated.
      expect((await store.eventsAfter(last, 100)).map((row) => row.event.id)).toEqual([event(70).id]);
    });

    it('commits state, alerts and the offset together, and refuses a commit from a stale offset', async () => {
      expect(await store.detectionOffset('rules')).toBe(0);
      expect(await commit([firing([1, 2, 3])], [{ key: 'alice', value: '{"n":3}' }])).toEqual({
        committed: true,
        created: 1,
        updated: 0,
      });
      expect(await store.detectionOffset('rules')).toBe(1);
      expect(await store.detectionState('zt-brute-force-user', ['alice', 'bob'])).toEqual(
        new Map([['alice', '{"n":3}']]),
      );
      const stale = await store.commitDetections({
        offsetName: 'rules',
        fromOffset: 0,
        toOffset: 9,
        state: [{ ruleId: 'zt-brute-force-user', key: 'alice', value: null }],
        firings: [firing([7, 8, 9], { entityKey: 'bob@example.com' })],
      });
      expect(stale.committed).toBe(false);
      expect(await store.detectionOffset('rules')).toBe(1);
      expect(await store.listAlerts({ limit: 10 })).toHaveLength(1);
      await commit([], [{ key: 'alice', value: null }]);
      expect(await store.detectionState('zt-brute-force-user', ['alice'])).toEqual(new Map());
    });

    it('keeps state under keys holding NUL, as the organisation-wide baseline of first_seen rules does', async () => {
      await store.append([event(1)], { id: 'cf-main/access_requests', value: { a: 1 } });
      const [first] = await store.eventsAfter(0, 10);
      const keys = ['\u0000organisation', 'carol\uD800'];
      const result = await store.commitDetections({
        offsetName: 'rules',
        fromOffset: 0,
        toOffset: first?.seq ?? 0,
        state: keys.map((key, index) => ({ ruleId: 'zt-unusual-idp', key, value: `{"n":${index}}` })),
        firings: [],
      });
      expect(result.committed).toBe(true);
      expect(await store.detectionState('zt-unusual-idp', keys)).toEqual(
        new Map([
          ['\u0000organisation', '{"n":0}'],
          ['carol\uD800', '{"n":1}'],
        ]),
      );
    });

    it('groups firings of one rule and entity within the suppression window, counting distinct evidence', async () => {
      await commit([firing([1, 2, 3])]);
      await commit([firing([1, 2, 3, 4]), firing([2, 3, 4, 5], { severity: 'critical', summary: 'five' })]);
      await commit([firing([200, 201, 202])]);
      await commit([firing([3, 4, 5], { entityKey: 'bob@example.com' })]);
      const alerts = await store.listAlerts({ ruleId: 'zt-brute-force-user', limit: 10 });
      // Newest last event first; alice's first alert and bob's end at the same time.
      expect(alerts[0]?.lastEventTime).toBe(T0 + 202 * MIN);
      const rows = alerts.map((alert) => [alert.entityKey, alert.count, alert.firstEventTime, alert.lastEventTime]);
      expect(rows.sort()).toEqual([
        ['alice@example.com', 3, T0 + 200 * MIN, T0 + 202 * MIN],
        ['alice@example.com', 5, T0 + MIN, T0 + 5 * MIN],
        ['bob@example.com', 3, T0 + 3 * MIN, T0 + 5 * MIN],
      ]);
      const grown = alerts.find((alert) => alert.count === 5);
      expect(grown).toMatchObject({
        severity: 'critical',
        summary: 'five; 5 events in this alert',
        status: 'open',
        technique: 'T1110.001',
      });
      expect((await store.alertEvidence(grown?.id ?? '')).map((ref) => ref.eventId)).toEqual(
        [1, 2, 3, 4, 5].map((n) => event(n).id),
      );
      // One `grew` entry for the commit, however many of its firings fed the alert.
      expect((await store.alertHistory(grown?.id ?? '')).map((entry) => [entry.actor, entry.action])).toEqual([
        ['zerotrail', 'created'],
        ['zerotrail', 'escalated'],
        ['zerotrail', 'grew'],
      ]);
    });

    it("shows a grouped alert's summary and entity from one finding, its count beside a smaller finding's", async () => {
      await commit([firing([1, 2, 3], { summary: 'three from A', entity: { user: 'alice', ip: 'A', app: 'Wiki' } })]);
      // Another finding about the same key: its summary goes with its own address, never with the first one's.
      await commit([firing([4, 5], { summary: 'two from B', entity: { user: 'alice', ip: 'B', app: null } })]);
      const [alert] = await store.listAlerts({ limit: 10 });
      expect(alert).toMatchObject({
        count: 5,
        summary: 'two from B; 5 events in this alert',
        entity: { user: 'alice', ip: 'B', app: null },
      });
      // A finding that adds no event changes nothing, not even the summary.
      await commit([firing([1, 2], { summary: 'stale', entity: { user: 'alice', ip: 'C', app: null } })]);
      expect(await store.getAlert(alert?.id ?? '')).toEqual(alert);
      const history = await store.alertHistory(alert?.id ?? '');
      expect(history.map((entry) => [entry.action, entry.details])).toEqual([
        ['created', { severity: 'high' }],
        ['grew', { from: 3, to: 5, summary: 'two from B; 5 events in this alert' }],
      ]);
      // A finding whose window holds every event of the alert needs no count beside it.
      await commit([firing([1, 2, 3, 4, 5, 6], { summary: 'six' })]);
      expect((await store.getAlert(alert?.id ?? ''))?.summary).toBe('six');
    });

    it('raises an alert whose rule text and entity hold NUL, grouping its firings as any other', async () => {
      // A rule file may say anything in its title and summary; PostgreSQL text refuses NUL, SQLite keeps it.
      const hostile = {
        title: 'Odd\u0000title',
        summary: 'x\u0000y',
        entityKey: 'eve\u0000',
        entity: { user: 'eve\u0000', ip: null, app: null },
      };
      await commit([firing([1, 2], hostile)]);
      await commit([firing([2, 3], hostile)]);
      const alerts = await store.listAlerts({ ruleId: 'zt-brute-force-user', limit: 10 });
      expect(alerts).toHaveLength(1);
      expect(alerts[0]?.count).toBe(3);
      expect(alerts[0]?.title).toMatch(/^Odd[\u0000\uFFFD]title$/);
      expect(alerts[0]?.summary).toMatch(/^x[\u0000\uFFFD]y; 3 events in this alert$/);
    });

    it('raising the same firing again adds nothing, whatever its offset', async () => {
      await commit([firing([1, 2, 3])]);
      const before = await store.listAlerts({ limit: 10 });
      await commit([firing([1, 2, 3]), firing([2, 3])]);
      const after = await store.listAlerts({ limit: 10 });
      expect(after.map((alert) => [alert.id, alert.count])).toEqual(before.map((alert) => [alert.id, alert.count]));
      expect(await store.alertHistory(after[0]?.id ?? '')).toHaveLength(1);
    });

    it('walks an alert through acknowledged and closed with a reason, recording who and when', async () => {
      await commit([firing([1, 2, 3])]);
      const [alert] = await store.listAlerts({ limit: 1 });
      const id = alert?.id ?? '';
      await store.changeAlert(id, { status: 'acknowledged', assignee: 'bob' }, 'carol');
      expect(await store.listAlerts({ status: 'open', limit: 10 })).toEqual([]);
      await store.changeAlert(id, { comment: 'the user confirmed it was them' }, 'bob');
      await expect(store.changeAlert(id, { status: 'closed' }, 'bob')).rejects.toMatchObject({
        code: 'ALERT_CHANGE_INVALID',
      });
      await expect(store.changeAlert(id, { closeReason: 'benign' }, 'bob')).rejects.toMatchObject({
        code: 'ALERT_CHANGE_INVALID',
      });
      const closed = await store.changeAlert(id, { status: 'closed', closeReason: 'benign' }, 'bob');
      expect(closed).toMatchObject({ status: 'closed', closeReason: 'benign', assignee: 'bob' });
      expect(await store.getAlert(id)).toEqual(closed);
      const history = await store.alertHistory(id);
      expect(history.map((entry) => [entry.actor, entry.action, entry.details])).toEqual([
        ['zerotrail', 'created', { severity: 'high' }],
        ['carol', 'acknowledged', { from: 'open' }],
        ['carol', 'assigned', { from: null, to: 'bob' }],
        ['bob', 'commented', { text: 'the user confirmed it was them' }],
        ['bob', 'closed', { from: 'acknowledged', reason: 'benign' }],
      ]);
      expect(history.every((entry) => typeof entry.at === 'number')).toBe(true);
      // Acknowledging a closed alert would undo the close and drop its reason.
      await expect(store.changeAlert(id, { status: 'acknowledged' }, 'carol')).rejects.toMatchObject({
        code: 'ALERT_CHANGE_INVALID',
        message: `Alert ${id} is closed (benign); only an open alert can be acknowledged.`,
        hint: expect.stringContaining(`zerotrail alerts reopen ${id}`) as unknown,
      });
      expect(await store.getAlert(id)).toEqual(closed);
      expect(await store.alertHistory(id)).toHaveLength(history.length);
      await expect(store.changeAlert('al_missing', { status: 'acknowledged' }, 'bob')).rejects.toMatchObject({
        code: 'ALERT_NOT_FOUND',
      });
      // A closed alert takes no more firings: a new one within the window opens a new alert.
      await commit([firing([2, 3, 4])]);
      expect((await store.listAlerts({ status: 'open', limit: 10 })).map((a) => a.count)).toEqual([3]);
    });

    it('opens a new alert for a finding that names a closed one, once, and takes nothing more into the closed one', async () => {
      await commit([firing([1])]);
      const [closed] = await store.listAlerts({ limit: 1 });
      const closedId = closed?.id ?? '';
      await store.changeAlert(closedId, { status: 'closed', closeReason: 'benign' }, 'bob');
      const closedHistory = await store.alertHistory(closedId);
      // The same earliest event names the same alert: a window rule's next finding over a continuing attack.
      expect(await commit([firing([1, 2, 3])])).toEqual({ committed: true, created: 1, updated: 0 });
      await commit([firing([1, 2, 3, 4, 5])]);
      expect(await store.getAlert(closedId)).toMatchObject({ status: 'closed', count: 1 });
      expect(await store.alertHistory(closedId)).toEqual(closedHistory);
      const open = await store.listAlerts({ status: 'open', limit: 10 });
      expect(open.map((alert) => alert.count)).toEqual([5]);
      const nextId = open[0]?.id ?? '';
      // Derived, so both stores (and `store migrate` between them) name it alike.
      expect(nextId).toBe(alertIdAfterClosed(closedId));
      expect((await store.alertHistory(nextId)).map((entry) => [entry.action, entry.details])).toEqual([
        ['created', { severity: 'high' }],
        ['grew', { from: 3, to: 5, summary: 'alice@example.com was denied 5 times' }],
      ]);
      // Raising the same findings again, or one the closed alert holds whole, adds nothing.
      expect(await commit([firing([1, 2, 3]), firing([1, 2, 3, 4, 5]), firing([1])])).toMatchObject({
        created: 0,
      });
      expect((await store.listAlerts({ limit: 10 })).map((alert) => [alert.id, alert.count])).toEqual([
        [nextId, 5],
        [closedId, 1],
      ]);
      // Once that one is closed too, the next finding opens a third.
      await store.changeAlert(nextId, { status: 'closed', closeReason: 'true_positive' }, 'bob');
      await commit([firing([1, 2, 3, 4, 5, 6])]);
      const [third] = await store.listAlerts({ status: 'open', limit: 10 });
      expect(third).toMatchObject({ id: alertIdAfterClosed(nextId), count: 6 });
    });

    it('reopens a closed alert without its close reason, recording it, and the alert takes findings again', async () => {
      await commit([firing([1, 2, 3])]);
      const [alert] = await store.listAlerts({ limit: 1 });
      const id = alert?.id ?? '';
      await store.changeAlert(id, { status: 'closed', closeReason: 'benign' }, 'bob');
      const reopened = await store.changeAlert(
        id,
        { status: 'open', comment: 'seen again from a new address' },
        'carol',
      );
      expect(reopened).toMatchObject({ status: 'open', closeReason: null });
      expect(
        (await store.alertHistory(id)).slice(-2).map((entry) => [entry.actor, entry.action, entry.details]),
      ).toEqual([
        ['carol', 'reopened', { from: 'closed' }],
        ['carol', 'commented', { text: 'seen again from a new address' }],
      ]);
      await commit([firing([3, 4])]);
      expect((await store.listAlerts({ limit: 10 })).map((a) => [a.id, a.count])).toEqual([[id, 4]]);
    });

    it('keeps rule settings', async () => {
      expect(await store.ruleSettings()).toEqual([]);
      const setting = {
        ruleId: 'zt-brute-force-user',
        enabled: false,
        overrides: { threshold: 20 },
        allow: { users: ['svc@example.com'], ips: ['192.0.2.0/24'], apps: [], countries: ['DE'] },
        updatedAt: T0,
        updatedBy: 'carol',
      };
      await store.saveRuleSetting(setting);
      await store.saveRuleSetting({ ...setting, ruleId: 'zt-password-spraying', enabled: null });
      await store.saveRuleSetting({ ...setting, enabled: true, updatedBy: 'dave' });
      expect(await store.ruleSettings()).toEqual([
        { ...setting, enabled: true, updatedBy: 'dave' },
        { ...setting, ruleId: 'zt-password-spraying', enabled: null },
      ]);
    });
  });
}
