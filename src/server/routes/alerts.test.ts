import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../store/auth-store.js';
import { login, startServerFixture, type ServerFixture } from '../server-fixture.suite.js';
import { deniedWithRay as denied } from '../../../test/helpers/events.js';

const MINUTE = 60_000;

interface AlertJson {
  readonly id: string;
  readonly ruleId: string;
  readonly severity: string;
  readonly status: string;
  readonly closeReason: string | null;
  readonly assignee: string | null;
  readonly count: number;
  readonly summary: string;
}

interface HistoryJson {
  readonly actor: string;
  readonly action: string;
  readonly details: Record<string, unknown>;
}

interface RuleJson {
  readonly id: string;
  readonly origin: string;
  readonly enabled: boolean;
  readonly overrides: Record<string, unknown>;
  readonly allow: Record<string, string[]>;
}

describe('alerts and rules over HTTP', () => {
  let fixture: ServerFixture;

  beforeAll(async () => {
    fixture = await startServerFixture();
    const now = fixture.clock.now();
    // Twelve denials for alice within six minutes fire the built-in brute-force rule; three for bob do not.
    const events = [
      ...Array.from({ length: 12 }, (_, n) => denied(n, now - 60 * MINUTE + n * 30_000, 'alice@example.com')),
      ...Array.from({ length: 3 }, (_, n) => denied(100 + n, now - 50 * MINUTE + n * 30_000, 'bob@example.com')),
    ];
    await fixture.app.store.append(events, { id: 'cf/access_requests', value: {} });
    await fixture.app.detector.catchUp();
  });
  afterAll(async () => fixture.close());

  async function call(
    role: Role,
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    payload?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const session = await login(fixture.server, role);
    const res = await fixture.server.inject({
      method,
      url,
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
      ...(method === 'POST' ? { payload: (payload ?? {}) as Record<string, unknown> } : {}),
    });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  }

  async function bruteForceAlert(): Promise<AlertJson> {
    const list = await call('viewer', 'GET', '/api/alerts?rule=zt-brute-force-user');
    const alerts = list.body['alerts'] as AlertJson[];
    expect(alerts).toHaveLength(1);
    return alerts[0] as AlertJson;
  }

  it('lists the alert a rule raised for a viewer, filtered by status, severity and rule, with paging', async () => {
    const alert = await bruteForceAlert();
    expect(alert).toMatchObject({ ruleId: 'zt-brute-force-user', severity: 'high', status: 'open', count: 12 });
    expect(alert.summary).toContain('alice@example.com was denied');

    const high = await call('viewer', 'GET', '/api/alerts?severity=high&status=open');
    expect((high.body['alerts'] as AlertJson[]).map((a) => a.id)).toContain(alert.id);
    const low = await call('viewer', 'GET', '/api/alerts?severity=low&rule=zt-brute-force-user');
    expect(low.body).toMatchObject({ alerts: [], total: 0 });
    const secondPage = await call('viewer', 'GET', '/api/alerts?rule=zt-brute-force-user&limit=1&page=2');
    expect(secondPage.body).toMatchObject({ alerts: [], total: 1, page: 2 });

    const bad = await call('viewer', 'GET', '/api/alerts?severity=urgent');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('query.severity');
  });

  it('shows one alert with its evidence events and history, and 404 for an unknown one', async () => {
    const { id } = await bruteForceAlert();
    const shown = await call('viewer', 'GET', `/api/alerts/${id}`);
    expect(shown.status).toBe(200);
    const evidence = shown.body['evidence'] as { eventId: string }[];
    expect(evidence).toHaveLength(12);
    const event = await call('viewer', 'GET', `/api/events/${evidence[0]?.eventId ?? ''}`);
    expect(event.status).toBe(200);
    expect((shown.body['history'] as HistoryJson[]).map((entry) => entry.action)).toEqual(['created']);

    const missing = await call('viewer', 'GET', `/api/alerts/al_${'0'.repeat(24)}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'ALERT_NOT_FOUND' } });
  });

  it('lets an analyst ack, assign, comment and close with a reason; each change is in the history and the audit trail', async () => {
    const { id } = await bruteForceAlert();
    const viewerAck = await call('viewer', 'POST', `/api/alerts/${id}/ack`);
    expect(viewerAck.status).toBe(403);

    expect((await call('analyst', 'POST', `/api/alerts/${id}/ack`)).body).toMatchObject({
      alert: { status: 'acknowledged' },
    });
    expect((await call('analyst', 'POST', `/api/alerts/${id}/assign`, { user: 'analyst' })).body).toMatchObject({
      alert: { assignee: 'analyst' },
    });
    // Only a zerotrail user takes an alert; a misspelt name leaves the assignee as it was.
    const ghost = await call('analyst', 'POST', `/api/alerts/${id}/assign`, { user: 'ghost-user' });
    expect(ghost.status).toBe(404);
    expect(ghost.body).toMatchObject({ error: { code: 'AUTH_USER_UNKNOWN' } });
    await call('analyst', 'POST', `/api/alerts/${id}/comment`, { text: 'Same address as last week.' });
    const noReason = await call('analyst', 'POST', `/api/alerts/${id}/close`, {});
    expect(noReason.status).toBe(400);
    expect(JSON.stringify(noReason.body)).toContain('body.reason');
    const closed = await call('analyst', 'POST', `/api/alerts/${id}/close`, { reason: 'true_positive' });
    expect(closed.body).toMatchObject({ alert: { status: 'closed', closeReason: 'true_positive' } });
    // The refusal speaks to whoever called the API, not of a CLI command.
    const ackClosed = await call('analyst', 'POST', `/api/alerts/${id}/ack`);
    expect(ackClosed.status).toBe(400);
    const refusal = ackClosed.body['error'] as { code: string; hint: string };
    expect(refusal.code).toBe('ALERT_CHANGE_INVALID');
    expect(refusal.hint).toContain(`POST /api/alerts/${id}/reopen`);
    expect(refusal.hint).not.toContain('zerotrail alerts');
    expect((await call('viewer', 'POST', `/api/alerts/${id}/reopen`)).status).toBe(403);
    const reopened = await call('analyst', 'POST', `/api/alerts/${id}/reopen`, { comment: 'It came back.' });
    expect(reopened.status, JSON.stringify(reopened.body)).toBe(200);
    expect(reopened.body).toMatchObject({ alert: { status: 'open', closeReason: null } });
    const closedAgain = await call('analyst', 'POST', `/api/alerts/${id}/close`, { reason: 'true_positive' });
    expect(closedAgain.body).toMatchObject({ alert: { status: 'closed', closeReason: 'true_positive' } });

    const history = (await call('viewer', 'GET', `/api/alerts/${id}`)).body['history'] as HistoryJson[];
    expect(history.map((entry) => [entry.action, entry.actor])).toEqual([
      ['created', expect.any(String) as string],
      ['acknowledged', 'analyst'],
      ['assigned', 'analyst'],
      ['commented', 'analyst'],
      ['closed', 'analyst'],
      ['reopened', 'analyst'],
      ['commented', 'analyst'],
      ['closed', 'analyst'],
    ]);
    expect(JSON.stringify(history)).toContain('Same address as last week.');

    const audit = (await call('admin', 'GET', '/api/audit')).body['entries'] as { action: string; target: string }[];
    expect(audit.filter((entry) => entry.target === id).map((entry) => entry.action)).toEqual([
      'alert_closed',
      'alert_reopened',
      'alert_closed',
      'alert_commented',
      'alert_assigned',
      'alert_acknowledged',
    ]);
  });

  it('lists the built-in rules for every role; only an admin disables, tunes and re-enables one, audited', async () => {
    const list = (await call('viewer', 'GET', '/api/rules')).body['rules'] as RuleJson[];
    expect(list.find((rule) => rule.id === 'zt-brute-force-user')).toMatchObject({ origin: 'builtin', enabled: true });

    expect((await call('analyst', 'POST', '/api/rules/zt-brute-force-user/disable')).status).toBe(403);
    const disabled = await call('admin', 'POST', '/api/rules/zt-brute-force-user/disable');
    expect(disabled.body).toMatchObject({ rule: { enabled: false } });
    expect((await fixture.app.store.ruleSettings()).find((s) => s.ruleId === 'zt-brute-force-user')?.enabled).toBe(
      false,
    );

    const tuned = await call('admin', 'POST', '/api/rules/zt-brute-force-user/settings', {
      overrides: { threshold: 20 },
      allow: { ips: ['192.0.2.0/24'], users: ['svc@example.com'] },
    });
    expect(tuned.status, JSON.stringify(tuned.body)).toBe(200);
    expect(tuned.body).toMatchObject({
      rule: {
        enabled: false,
        overrides: { threshold: 20 },
        allow: { ips: ['192.0.2.0/24'], users: ['svc@example.com'] },
      },
    });
    const badThreshold = await call('admin', 'POST', '/api/rules/zt-brute-force-user/settings', {
      overrides: { threshold: 'many' },
    });
    expect(badThreshold.status).toBe(400);
    expect(badThreshold.body).toMatchObject({ error: { code: 'RULE_INVALID' } });
    expect(JSON.stringify(badThreshold.body)).toContain('params.threshold');
    const badIp = await call('admin', 'POST', '/api/rules/zt-brute-force-user/settings', {
      allow: { ips: ['not-an-ip'] },
    });
    expect(badIp.status).toBe(400);
    expect((badIp.body['error'] as { message: string }).message).toContain(
      'body.allow.ips.0: "not-an-ip" is not an address or CIDR range',
    );
    // A country that is not a code would never match any event, so the exception would not be there.
    const badCountry = await call('admin', 'POST', '/api/rules/zt-impossible-travel/settings', {
      allow: { countries: ['de', 'Germany'] },
    });
    expect(badCountry.status).toBe(400);
    expect((badCountry.body['error'] as { message: string }).message).toContain(
      'body.allow.countries.1: "Germany" is not a two-letter country code such as DE',
    );

    expect((await call('admin', 'POST', '/api/rules/zt-brute-force-user/enable')).body).toMatchObject({
      rule: { enabled: true, overrides: { threshold: 20 } },
    });

    // The sensitive applications of the first-visit rule are a list override.
    const sensitive = await call('admin', 'POST', '/api/rules/zt-first-sensitive-app/settings', {
      overrides: { values: ['finance.example.com', ' Admin console '], learning_events: 20 },
    });
    expect(sensitive.status, JSON.stringify(sensitive.body)).toBe(200);
    expect(sensitive.body).toMatchObject({
      rule: {
        params: { values: [] },
        overrides: { values: ['finance.example.com', 'Admin console'], learning_events: 20 },
      },
    });
    expect(
      (await fixture.app.store.ruleSettings()).find((s) => s.ruleId === 'zt-first-sensitive-app')?.overrides,
    ).toEqual({ values: ['finance.example.com', 'Admin console'], learning_events: 20 });
    const listOnThreshold = await call('admin', 'POST', '/api/rules/zt-brute-force-user/settings', {
      overrides: { values: ['finance.example.com'] },
    });
    expect(listOnThreshold.status).toBe(400);
    expect(listOnThreshold.body).toMatchObject({ error: { code: 'RULE_INVALID' } });
    const emptyEntry = await call('admin', 'POST', '/api/rules/zt-first-sensitive-app/settings', {
      overrides: { values: ['finance.example.com', ''] },
    });
    expect(emptyEntry.status).toBe(400);
    expect((emptyEntry.body['error'] as { message: string }).message).toContain('an empty entry');
    expect((await call('admin', 'POST', '/api/rules/no-such-rule/enable')).status).toBe(404);

    const audit = (await call('admin', 'GET', '/api/audit')).body['entries'] as { action: string; target: string }[];
    expect(audit.filter((entry) => entry.target === 'zt-brute-force-user').map((entry) => entry.action)).toEqual([
      'rule_enabled',
      'rule_settings_changed',
      'rule_disabled',
    ]);
  });

  it('adds a rule from YAML text, refuses a broken one with the loader message and a taken id', async () => {
    const yaml = [
      'id: acme-vault-denied',
      'title: Denied login to the vault',
      'type: event',
      'severity: medium',
      'technique: T1078',
      'description: Someone was refused at the vault.',
      'match:',
      '  dataset: access_requests',
      '  outcome: failure',
      '  app: Vault',
      "summary: '{user} was denied at {app}'",
    ].join('\n');
    expect((await call('analyst', 'POST', '/api/rules', { yaml })).status).toBe(403);
    const added = await call('admin', 'POST', '/api/rules', { yaml });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body).toMatchObject({ rule: { id: 'acme-vault-denied', origin: 'custom', severity: 'medium' } });
    const list = (await call('viewer', 'GET', '/api/rules')).body['rules'] as RuleJson[];
    expect(list.find((rule) => rule.id === 'acme-vault-denied')).toMatchObject({ origin: 'custom', enabled: true });

    const again = await call('admin', 'POST', '/api/rules', { yaml });
    expect(again.status).toBe(400);
    expect(JSON.stringify(again.body)).toContain('a rule with the id acme-vault-denied exists already');

    const broken = await call('admin', 'POST', '/api/rules', {
      yaml: yaml.replace('severity: medium', 'severity: urgent').replace('title:', 'colour: red\ntitle:'),
    });
    expect(broken.status).toBe(400);
    const message = (broken.body['error'] as { code: string; message: string }).message;
    expect((broken.body['error'] as { code: string }).code).toBe('RULE_INVALID');
    expect(message).toContain('unsupported field "colour"');
    expect(message).toContain('severity');

    // Aliases that expand into a billion values are the loader's refusal too, not a server error.
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefghi'
        .split('')
        .map((name, i) => `${name}: &${name} [${Array(10).fill(`*${'abcdefghi'[i]}`).join(', ')}]`),
    ].join('\n');
    const exploded = await call('admin', 'POST', '/api/rules', { yaml: `${bomb}\n${yaml}` });
    expect(exploded.status).toBe(400);
    expect(exploded.body).toMatchObject({ error: { code: 'RULE_INVALID' } });

    const disabled = await call('admin', 'POST', '/api/rules/acme-vault-denied/disable');
    expect(disabled.body).toMatchObject({ rule: { enabled: false, origin: 'custom' } });
  });

  it('runs a rule added through the API on the next stored events, and stops once it is removed', async () => {
    const sigma = [
      'title: Denied login to the payroll app',
      'id: 5d0c1a52-8c1e-4f43-9a57-2f7b0e2d1c11',
      'status: experimental',
      'level: high',
      'tags: [attack.initial_access, attack.t1078]',
      'logsource: { product: cloudflare, service: access }',
      'detection:',
      '  selection: { app: Payroll, outcome: failure }',
      '  condition: selection',
    ].join('\n');
    const added = await call('admin', 'POST', '/api/rules', { yaml: sigma });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    const ruleId = (added.body['rule'] as { id: string }).id;

    const now = fixture.clock.now();
    const payroll = { ...denied(500, now - 5 * MINUTE, 'carol@example.com'), app: 'Payroll', rayId: 'ray-payroll-1' };
    await fixture.app.store.append([payroll], { id: 'cf/access_requests', value: {} });
    await fixture.app.detector.catchUp();
    const raised = (await call('viewer', 'GET', `/api/alerts?rule=${ruleId}`)).body['alerts'] as AlertJson[];
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ ruleId, severity: 'high' });

    expect((await call('admin', 'DELETE', `/api/rules/zt-brute-force-user`)).status).toBe(400);
    // A client that labels every request JSON sends a DELETE with that type and no body.
    const session = await login(fixture.server, 'admin');
    const removed = await fixture.server.inject({
      method: 'DELETE',
      url: `/api/rules/${ruleId}`,
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken, 'content-type': 'application/json' },
    });
    expect(removed.statusCode, removed.body).toBe(200);
    const list = (await call('viewer', 'GET', '/api/rules')).body['rules'] as RuleJson[];
    expect(list.some((rule) => rule.id === ruleId)).toBe(false);

    const later = { ...denied(501, now - 4 * MINUTE, 'dave@example.com'), app: 'Payroll', rayId: 'ray-payroll-2' };
    await fixture.app.store.append([later], { id: 'cf/access_requests', value: {} });
    await fixture.app.detector.catchUp();
    const after = (await call('viewer', 'GET', `/api/alerts?rule=${ruleId}`)).body['alerts'] as AlertJson[];
    expect(after).toHaveLength(1);
    expect(after[0]?.count).toBe(1);
  });
});
