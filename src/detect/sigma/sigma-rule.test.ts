import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import type { NormalizedEvent } from '../../core/event.js';
import { silentLogger } from '../../core/logger.js';
import { Metrics } from '../../core/metrics.js';
import { SqliteStore } from '../../store/sqlite/store.js';
import { Detector } from '../detector.js';
import { replayRules } from '../replay.js';
import { compileRule, parseRuleFile } from '../rule-file.js';
import { accessEvent, inventoryEvents, scimEvent } from './sigma-events.suite.js';
import { loadSigmaRuleDefinition, sigmaRuleDefinition } from './sigma-rule.js';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), 'examples');
const dir = mkdtempSync(join(tmpdir(), 'zerotrail-sigma-'));
let counter = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const MIN = 60_000;
const BY_IP = join(EXAMPLES, 'cloudflare_access_denied_logins_by_ip.yml');
const ADMIN = join(EXAMPLES, 'cloudflare_access_denied_admin_login.yml');
const SPRAY = join(EXAMPLES, 'cloudflare_access_password_spray.yml');

let seq = 0;
/** Denied logins through the Access normalizer, `stepMs` apart from `from`, each with its own Ray ID. */
function denials(count: number, from: number, stepMs: number, fields: Record<string, unknown> = {}): NormalizedEvent[] {
  return Array.from({ length: count }, (_, i) => {
    seq += 1;
    return accessEvent({
      created_at: new Date(from + i * stepMs).toISOString(),
      ray_id: `ray${String(seq).padStart(10, '0')}`,
      ...fields,
    });
  });
}

function ruleText(condition: string, extra = '', level = 'high'): string {
  return [
    'title: Test aggregation',
    'id: 0d6c4d7e-7f3b-4a8e-9c1d-2e3f4a5b6c7d',
    'logsource:',
    '  product: cloudflare',
    '  service: access',
    'detection:',
    '  selection:',
    '    outcome: failure',
    `  condition: '${condition}'`,
    ...(extra === '' ? [] : [`  ${extra}`]),
    `level: ${level}`,
  ].join('\n');
}

describe('Sigma rules in the detection engine', () => {
  let store: SqliteStore;
  const clock = new ManualClock(T0 + 86_400_000);
  const deps = () => ({ store, clock, logger: silentLogger(), metrics: new Metrics() });
  const append = (events: readonly NormalizedEvent[]) =>
    store.append(events, { id: 'cf-main/access_requests', value: { n: seq } });
  const alertsOf = async (ruleId: string) => await store.listAlerts({ ruleId, limit: 100 });

  beforeEach(async () => {
    store = await SqliteStore.open({ path: join(dir, `sigma-${counter++}.db`), clock });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
  });

  it('fires a count-by rule loaded from a file on stored events, with event times and evidence', async () => {
    const rule = await loadSigmaRuleDefinition(BY_IP);
    expect(rule.header).toMatchObject({
      id: '3b48b93c-12b9-4c2e-b2ed-e2cb2a48344a',
      type: 'sigma',
      severity: 'medium',
      technique: 'T1110',
    });
    const attack = denials(21, T0, 20_000);
    await append(attack);
    await append(denials(30, T0, 20_000, { ip_address: '198.51.100.4', allowed: true }));
    await new Detector(deps(), [rule]).catchUp();
    const alerts = await alertsOf(rule.header.id);
    expect(alerts).toHaveLength(1);
    const [alert] = alerts;
    expect(alert?.entity.ip).toBe('203.0.113.7');
    expect(alert?.count).toBe(21);
    expect(alert?.firstEventTime).toBe(T0);
    expect(alert?.lastEventTime).toBe(T0 + 20 * 20_000);
    expect(alert?.severity).toBe('medium');
    expect(alert?.summary).toBe(
      'Many denied Cloudflare Access logins from one IP address: 21 matching events by 203.0.113.7 in 7 minutes',
    );
    const evidence = await store.alertEvidence(alert?.id ?? '');
    expect(evidence.map((item) => item.eventId).sort()).toEqual(attack.map((event) => event.id).sort());
  });

  it('does not fire at the threshold itself, nor when the events are spread wider than the timeframe', async () => {
    const rule = await loadSigmaRuleDefinition(BY_IP);
    await append(denials(20, T0, 20_000));
    await append(denials(25, T0, 30 * MIN, { ip_address: '198.51.100.9' }));
    await new Detector(deps(), [rule]).catchUp();
    expect(await alertsOf(rule.header.id)).toEqual([]);
  });

  it('keeps its window across a restart: 11 denials before and 10 after make one alert', async () => {
    const rule = await loadSigmaRuleDefinition(BY_IP);
    await append(denials(11, T0, 10_000));
    await new Detector(deps(), [rule]).catchUp();
    expect(await alertsOf(rule.header.id)).toEqual([]);
    await append(denials(10, T0 + 2 * MIN, 10_000));
    await new Detector(deps(), [rule]).catchUp();
    await new Detector(deps(), [rule]).catchUp();
    expect(await alertsOf(rule.header.id)).toHaveLength(1);
  });

  it('counts distinct users for count(user)', async () => {
    const rule = await loadSigmaRuleDefinition(SPRAY);
    const sprayed = Array.from({ length: 11 }, (_, i) =>
      denials(1, T0 + i * MIN, 0, { user_email: `user${i}@example.com` }),
    ).flat();
    await append(sprayed);
    await append(denials(40, T0, 10_000, { ip_address: '198.51.100.4' }));
    await new Detector(deps(), [rule]).catchUp();
    const alerts = await alertsOf(rule.header.id);
    expect(alerts.map((alert) => alert.entity.ip)).toEqual(['203.0.113.7']);
    expect(alerts[0]?.summary).toContain('11 matching events for 11 distinct user by 203.0.113.7');
  });

  it('fires a rule without aggregation once per matching event, grouped per user', async () => {
    const rule = await loadSigmaRuleDefinition(ADMIN);
    await append([
      ...denials(2, T0, MIN, { user_email: 'admin@example.com' }),
      ...denials(1, T0, MIN, { user_email: 'root@example.com' }),
      ...denials(3, T0, MIN, { user_email: 'admin@example.com', allowed: true }),
      ...denials(3, T0, MIN, { user_email: 'alice@example.com' }),
    ]);
    await new Detector(deps(), [rule]).catchUp();
    const alerts = await alertsOf(rule.header.id);
    expect(alerts.map((alert) => [alert.entity.user, alert.count]).sort()).toEqual([
      ['admin@example.com', 2],
      ['root@example.com', 1],
    ]);
    expect(alerts[0]?.technique).toBe('T1078.004');
    // The alert groups both of admin's denials; the summary is one event's, so it names the alert's count.
    expect(alerts[0]?.summary).toBe(
      'Cloudflare Access denied a login to an administrator account: Cloudflare Access logon denied; 2 events in this alert',
    );
  });

  it('fires on SCIM and inventory change events through the engine', async () => {
    const scim = sigmaRuleDefinition(
      [
        'title: SCIM deactivation',
        'id: scim-deactivation',
        'logsource: {product: cloudflare, service: scim}',
        'detection:',
        '  s: {activity: disable}',
        '  condition: s',
        'level: low',
      ].join('\n'),
      'inline',
    );
    const idp = sigmaRuleDefinition(
      [
        'title: Identity provider added',
        'id: idp-added',
        'logsource: {product: cloudflare, service: inventory}',
        'detection:',
        '  s: {dataset: identity_providers, activity: create}',
        '  condition: s',
        'level: high',
      ].join('\n'),
      'inline',
    );
    const okta = { kind: 'identity_provider' as const, id: 'idp-1', name: 'Okta', attributes: { type: 'okta' } };
    const pin = { kind: 'identity_provider' as const, id: 'idp-2', name: 'PIN', attributes: { type: 'onetimepin' } };
    await store.append([scimEvent()], { id: 'cf-main/scim_updates', value: { n: 1 } });
    await store.append(inventoryEvents('identity_providers', [okta], [okta, pin]), {
      id: 'cf-main/identity_providers',
      value: { n: 1 },
    });
    await new Detector(deps(), [scim, idp]).catchUp();
    expect((await alertsOf('scim-deactivation')).map((alert) => alert.entity.user)).toEqual(['bob@example.com']);
    expect((await alertsOf('idp-added')).map((alert) => alert.severity)).toEqual(['high']);
  });

  it('replays stored events through a Sigma rule without creating alerts', async () => {
    const rule = await loadSigmaRuleDefinition(BY_IP);
    await append(denials(25, T0, 10_000));
    const replayed = await replayRules(store, [compileRule(rule, undefined)], { fromMs: T0, toMs: T0 + 3_600_000 });
    expect(replayed).toHaveLength(1);
    expect(replayed[0]?.count).toBe(25);
    expect(await alertsOf(rule.header.id)).toEqual([]);
  });

  it('honours a threshold and window override from the rule settings', async () => {
    const rule = await loadSigmaRuleDefinition(BY_IP);
    await store.saveRuleSetting({
      ruleId: rule.header.id,
      enabled: null,
      overrides: { threshold: 4, window: '2m' },
      allow: { users: [], ips: [], apps: [], countries: [] },
      updatedAt: T0,
      updatedBy: 'admin',
    });
    await append(denials(5, T0, 20_000));
    await append(denials(5, T0, 40_000, { ip_address: '198.51.100.9' }));
    await new Detector(deps(), [rule]).catchUp();
    expect((await alertsOf(rule.header.id)).map((alert) => alert.entity.ip)).toEqual(['203.0.113.7']);
  });
});

describe('sigmaRuleDefinition', () => {
  it('fires on >= at the threshold and on > only past it', () => {
    const atLeast = compileRule(
      sigmaRuleDefinition(ruleText('selection | count() >= 3', 'timeframe: 5m'), 'x'),
      undefined,
    );
    const more = compileRule(sigmaRuleDefinition(ruleText('selection | count() > 3', 'timeframe: 5m'), 'x'), undefined);
    const events = denials(3, T0, 1000);
    const run = (rule: typeof atLeast): number => {
      const memory = new Map<string, unknown>();
      const state = {
        get: (key: string) => memory.get(key),
        set: (key: string, value: unknown) => memory.set(key, value),
      };
      const context = { inventory: { inactiveUser: () => null } };
      return events.flatMap((event) => (rule.match(event) ? rule.logic.evaluate(event, state, context) : [])).length;
    };
    expect(run(atLeast)).toBe(1);
    expect(run(more)).toBe(0);
  });

  it('refuses what the engine cannot evaluate, naming the rule and the feature', () => {
    expect(() => sigmaRuleDefinition(ruleText('selection | count() < 3', 'timeframe: 5m'), 'lt.yml')).toThrow(
      'Sigma rule "Test aggregation" (lt.yml): detection.condition: the aggregation compares the count with "<"; zerotrail raises an alert when a count reaches a threshold, so only > and >= are evaluated',
    );
    expect(() => sigmaRuleDefinition(ruleText('selection | count() == 3', 'timeframe: 5m'), 'eq.yml')).toThrow(
      'only > and >= are evaluated',
    );
    expect(() =>
      sigmaRuleDefinition(
        ruleText('selection | count() by src_endpoint.location.country > 3', 'timeframe: 5m'),
        'f.yml',
      ),
    ).toThrow(
      'the aggregation counts by "src_endpoint.location.country"; zerotrail counts Sigma aggregations by the flat fields',
    );
    expect(() => sigmaRuleDefinition(ruleText('selection', '', 'informational'), 'i.yml')).toThrow(
      '(i.yml): level: level informational marks a rule for tagging events',
    );
    expect(() => sigmaRuleDefinition(ruleText('selection').replace(/^id: .*$/m, 'id: Not An Id!'), 'id.yml')).toThrow(
      'a zerotrail rule id is at most 64 letters',
    );
    expect(() =>
      sigmaRuleDefinition(ruleText('selection | count() by user > 3', 'timeframe: 5m'), 'ok.yml'),
    ).not.toThrow();
  });

  it('refuses a threshold or window override on a rule without aggregation', () => {
    const definition = sigmaRuleDefinition(ruleText('selection'), 'plain.yml');
    expect(() =>
      compileRule(definition, {
        ruleId: definition.header.id,
        enabled: null,
        overrides: { threshold: 3 },
        allow: { users: [], ips: [], apps: [], countries: [] },
        updatedAt: 0,
        updatedBy: '',
      }),
    ).toThrow('params.threshold: the Sigma rule has no aggregation');
  });

  it('is a rule type the engine rule files can name', () => {
    const file = [
      'id: sigma-inline',
      'title: Sigma rule inside a rule file',
      'type: sigma',
      'severity: low',
      'technique: T1110',
      'description: A Sigma rule carried inline.',
      "summary: '{user} was denied'",
      'params:',
      '  source: |',
      ...ruleText('selection')
        .split('\n')
        .map((line) => `    ${line}`),
    ].join('\n');
    const definition = parseRuleFile(file, 'inline rule');
    expect(definition.header.type).toBe('sigma');
    const broken = file.replace('outcome: failure', 'outcome|base64: failure');
    expect(() => parseRuleFile(broken, 'inline rule')).toThrow('the modifier "base64" is not supported');
  });

  it('accepts the rule file docs/sigma.md shows', () => {
    const docs = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../../docs/sigma.md'), 'utf8');
    const block = /```yaml\n(id: [\s\S]*?)```/.exec(docs)?.[1] ?? '';
    const definition = parseRuleFile(block, 'docs/sigma.md');
    const rule = compileRule(definition, undefined);
    expect(rule.header.id).toBe('sigma-denied-admins');
    const context = { inventory: { inactiveUser: () => null } };
    const state = { get: () => undefined, set: () => undefined };
    const fire = (event: NormalizedEvent): number =>
      rule.match(event) ? rule.logic.evaluate(event, state, context).length : 0;
    expect(fire(accessEvent({ user_email: 'admin@example.com' }))).toBe(1);
    expect(fire(accessEvent({ user_email: 'admin@example.com', allowed: true }))).toBe(0);
  });

  it('makes every example an engine rule', async () => {
    const names = readdirSync(EXAMPLES).filter((name) => name.endsWith('.yml'));
    const definitions = await Promise.all(names.map((name) => loadSigmaRuleDefinition(join(EXAMPLES, name))));
    for (const definition of definitions) {
      expect(definition.header.type).toBe('sigma');
      expect(definition.header.technique).toMatch(/^T\d{4}(\.\d{3})?$/);
      expect(() => compileRule(definition, undefined)).not.toThrow();
    }
  });

  it('names a missing file', async () => {
    await expect(loadSigmaRuleDefinition(join(EXAMPLES, 'missing.yml'))).rejects.toThrow('the file does not exist');
  });
});
