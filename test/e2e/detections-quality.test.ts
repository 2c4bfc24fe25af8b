import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import {
  DEFAULT_PERMISSIONS,
  DEFAULT_TOKEN,
  PERMISSIONS,
  SENSITIVE_APPLICATIONS,
  type AttackScenario,
} from '../../src/simulator/simulator.js';
import { runInProcess } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

interface AlertJson {
  readonly rule_id: string;
  readonly entity: { user: string | null; ip: string | null; app: string | null };
  readonly first_event_time: string;
  readonly last_event_time: string;
  readonly summary: string;
}

// Rules that place a login by its address: the staff sign in only from their home countries, so every alert of
// these must be about an attack.
const NO_FALSE_ALERTS = ['zt-new-country', 'zt-impossible-travel', 'zt-warp-new-origin'];

function names(alert: AlertJson, scenario: AttackScenario): boolean {
  const { user, ip } = scenario.entity;
  if (user !== null) return alert.entity.user?.toLowerCase() === user.toLowerCase();
  if (scenario.kind === 'password_spraying') return alert.entity.ip === ip;
  return true;
}

/** Whether an alert is about the attack: it names the attack's entity and its events lie around the attack's. */
function about(alert: AlertJson, scenario: AttackScenario): boolean {
  return (
    names(alert, scenario) &&
    // A device enrolment surfaces at the next inventory snapshot, here up to four hours later.
    Date.parse(alert.first_event_time) <= scenario.toMs + 5 * HOUR_MS &&
    Date.parse(alert.last_event_time) >= scenario.fromMs - HOUR_MS
  );
}

describe('built-in rules against the simulated organisation with one attack of each kind', () => {
  let setup: CollectorEnv | undefined;

  afterEach(async () => {
    await setup?.cleanup();
    setup = undefined;
  });

  it('collects the days of the attacks with the real CLI; every rule fires on its attack, and those placing addresses on nothing else', async () => {
    const start = Date.parse('2026-11-16T12:00:00.000Z');
    const clock = new ManualClock(start);
    // The user-history rules learn for 14 days, so the organisation has 17 days of history and the attacks fall
    // in the last two days before the start; the device enrolment needs a live snapshot after it.
    setup = await setUpCollector({
      seed: 11,
      clock,
      // Every dataset: SCIM deactivations and audit entries are part of the attacks.
      tokens: [
        {
          value: DEFAULT_TOKEN,
          permissions: [
            ...DEFAULT_PERMISSIONS,
            PERMISSIONS.accessAppsAndPolicies,
            PERMISSIONS.accessScimLogs,
            PERMISSIONS.accountSettings,
          ],
        },
      ],
      traffic: { kind: 'organic', eventsPerDay: 1500, historyDays: 17 },
      adminTraffic: { historyDays: 17 },
      attacks: { fromMs: start - 2 * DAY_MS, toMs: start + 3 * HOUR_MS },
    });
    const env = setup.env;
    const cli = (args: readonly string[]) => runInProcess(args, { env, clock });

    // The operator lists the sensitive applications, by name and by the domain Access logs name them with.
    const sensitive = setup.simulator
      .inventory()
      .apps.filter((app) => (SENSITIVE_APPLICATIONS as readonly string[]).includes(String(app['name'])))
      .flatMap((app) => [String(app['name']), String(app['domain'])]);
    expect(sensitive).toHaveLength(2 * SENSITIVE_APPLICATIONS.length);
    const listed = await cli(['rules', 'set', 'zt-first-sensitive-app', ...sensitive.flatMap((v) => ['--value', v])]);
    expect(listed.code, listed.stderr).toBe(0);

    const first = await cli(['collect', '--once', '--backfill-days', '17']);
    expect(first.code, first.stderr).toBe(0);
    clock.advance(4 * HOUR_MS);
    const second = await cli(['collect', '--once']);
    expect(second.code, second.stderr).toBe(0);

    const raised = await cli(['alerts', 'list', '--format', 'json', '--limit', '10000']);
    expect(raised.code, raised.stderr).toBe(0);
    const alerts = JSON.parse(raised.stdout) as AlertJson[];
    const scenarios = setup.simulator.attackScenarios();
    expect(scenarios).toHaveLength(11);
    const missed = scenarios
      .filter((scenario) => !alerts.some((alert) => alert.rule_id === scenario.ruleId && about(alert, scenario)))
      .map((scenario) => `${scenario.ruleId}: ${scenario.description}`);
    expect(
      missed,
      JSON.stringify(
        alerts.map((a) => [a.rule_id, a.summary]),
        null,
        1,
      ),
    ).toEqual([]);
    const falseAlerts = alerts
      .filter((alert) => NO_FALSE_ALERTS.includes(alert.rule_id))
      .filter((alert) => !scenarios.some((scenario) => about(alert, scenario)))
      .map((alert) => `${alert.rule_id}: ${alert.summary}`);
    expect(falseAlerts).toEqual([]);
    // The attacks from abroad are placed in the countries the simulator meant.
    for (const kind of ['impossible_travel', 'new_country'] as const) {
      const scenario = scenarios.find((candidate) => candidate.kind === kind);
      if (scenario === undefined) throw new Error(`no ${kind} scenario`);
      const found = alerts.filter((alert) => alert.rule_id === scenario.ruleId && about(alert, scenario));
      expect(
        found.some((alert) =>
          kind === 'impossible_travel'
            ? alert.summary.includes(`, ${scenario.country ?? ''} (${scenario.entity.ip ?? ''}, located by IP dataset`)
            : alert.summary.includes(`from ${scenario.country ?? ''} for the first time`),
        ),
        JSON.stringify([scenario.description, found.map((alert) => alert.summary)]),
      ).toBe(true);
    }
    const brute = scenarios.find((scenario) => scenario.kind === 'brute_force');
    expect(alerts.find((alert) => alert.rule_id === 'zt-brute-force-user')?.summary).toContain(brute?.entity.user);
  }, 240_000);
});
