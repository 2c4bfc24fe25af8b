import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import {
  DEFAULT_PERMISSIONS,
  DEFAULT_TOKEN,
  PERMISSIONS,
  SENSITIVE_APPLICATIONS,
} from '../../src/simulator/simulator.js';
import { runInProcess } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

interface AlertJson {
  readonly rule_id: string;
  readonly entity: { user: string | null; app: string | null };
  readonly first_event_time: string;
}

describe('zt-first-sensitive-app with the applications listed by name', () => {
  let setup: CollectorEnv;
  const start = Date.parse('2026-11-16T12:00:00.000Z');
  const clock = new ManualClock(start);

  beforeAll(async () => {
    setup = await setUpCollector({
      seed: 13,
      clock,
      // The apps inventory names the applications the Access logs give by domain only. The users' 14 days of
      // learning end well before the attacks, in the last two days.
      tokens: [{ value: DEFAULT_TOKEN, permissions: [...DEFAULT_PERMISSIONS, PERMISSIONS.accessAppsAndPolicies] }],
      traffic: { kind: 'organic', eventsPerDay: 300, historyDays: 24 },
      attacks: { fromMs: start - 2 * DAY_MS, toMs: start },
    });
  });
  afterAll(async () => setup?.cleanup());

  it('reports the first visit to one, as by its domain', async () => {
    const cli = (args: readonly string[]) => runInProcess(args, { env: setup.env, clock });
    // Names as an operator types them: case does not matter.
    const names = SENSITIVE_APPLICATIONS.map((name) => name.toUpperCase());
    const listed = await cli(['rules', 'set', 'zt-first-sensitive-app', ...names.flatMap((name) => ['--value', name])]);
    expect(listed.code, listed.stderr).toBe(0);
    const collected = await cli(['collect', '--once', '--backfill-days', '24']);
    expect(collected.code, collected.stderr).toBe(0);

    const scenario = setup.simulator.attackScenarios().find((candidate) => candidate.kind === 'first_sensitive_app');
    if (scenario === undefined) throw new Error('no first_sensitive_app scenario');
    const raised = await cli(['alerts', 'list', '--rule', 'zt-first-sensitive-app', '--format', 'json']);
    const alerts = JSON.parse(raised.stdout) as AlertJson[];
    const about = alerts.filter(
      (alert) =>
        alert.entity.user?.toLowerCase() === scenario.entity.user?.toLowerCase() &&
        Math.abs(Date.parse(alert.first_event_time) - scenario.fromMs) < HOUR_MS,
    );
    expect(about, JSON.stringify({ scenario: scenario.description, alerts })).toHaveLength(1);
    // Only the listed applications: every alert names one of their domains.
    const domains = new Set(
      setup.simulator
        .inventory()
        .apps.filter((app) => (SENSITIVE_APPLICATIONS as readonly string[]).includes(String(app['name'])))
        .map((app) => String(app['domain'])),
    );
    expect(alerts.filter((alert) => !domains.has(alert.entity.app ?? ''))).toEqual([]);
  }, 120_000);
});
