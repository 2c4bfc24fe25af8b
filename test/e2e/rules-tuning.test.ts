import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { runInProcess } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const START = Date.parse('2026-11-20T12:00:00.000Z');

interface AlertJson {
  readonly rule_id: string;
  readonly entity: { user: string | null };
  readonly summary: string;
}

interface RuleJson {
  readonly id: string;
  readonly overrides: Record<string, unknown>;
}

describe('tuning rules from the command line', () => {
  const setups: CollectorEnv[] = [];

  afterEach(async () => {
    for (const setup of setups.splice(0)) await setup.cleanup();
  });

  /** Collects the simulated organisation (seed 31) with `before` run first; the alerts raised. */
  async function collectedAlerts(before: readonly (readonly string[])[]): Promise<AlertJson[]> {
    const clock = new ManualClock(START);
    const setup = await setUpCollector({
      seed: 31,
      clock,
      traffic: { kind: 'fixed', fromMs: START - 2 * HOUR_MS, toMs: START + 30 * MINUTE_MS, count: 300 },
    });
    setups.push(setup);
    const cli = (args: readonly string[]) => runInProcess(args, { env: setup.env, clock });
    for (const args of before) {
      const result = await cli(args);
      expect(result.code, result.stderr).toBe(0);
    }
    expect((await cli(['collect', '--once', '--backfill-days', '1'])).code).toBe(0);
    // The simulated organisation adds an identity provider five minutes after the start.
    clock.advance(10 * MINUTE_MS);
    expect((await cli(['collect', '--once'])).code).toBe(0);
    const listed = await cli(['alerts', 'list', '--format', 'json', '--limit', '10000']);
    expect(listed.code, listed.stderr).toBe(0);
    return JSON.parse(listed.stdout) as AlertJson[];
  }

  it('an allow-listed user no longer raises the alert, and unallow takes the entry off again', async () => {
    // With a threshold of one, every user denied once raises a brute-force alert.
    const lowered = ['rules', 'set', 'zt-brute-force-user', '--threshold', '1'];
    const rule = 'zt-brute-force-user';
    const usersOf = (list: readonly AlertJson[]) =>
      list.filter((alert) => alert.rule_id === rule).map((alert) => alert.entity.user);
    const alerts = await collectedAlerts([lowered]);
    const actor = usersOf(alerts).find((user) => user !== null) ?? '';
    expect(actor, JSON.stringify(alerts, null, 2)).toContain('@');
    // The same organisation again, with that user on the rule's allow-list before collecting.
    const allowed = await collectedAlerts([
      lowered,
      ['rules', 'allow', rule, '--user', actor.toUpperCase(), '--country', 'zz'],
      ['rules', 'allow', rule, '--ip', '192.0.2.0/24'],
    ]);
    expect(usersOf(allowed).length).toBeGreaterThan(0);
    expect(usersOf(allowed)).not.toContain(actor);
    expect(usersOf(allowed).length).toBeLessThan(usersOf(alerts).length);

    const setup = setups[1];
    if (setup === undefined) throw new Error('no second installation');
    const cli = (args: readonly string[]) => runInProcess(args, { env: setup.env });
    const removed = await cli(['rules', 'unallow', rule, '--user', actor, '--country', 'ZZ']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('ignores ips 192.0.2.0/24');
    expect(removed.stdout).not.toContain(actor);
    const settings = await cli(['rules', 'list', '--format', 'json']);
    expect(settings.code, settings.stderr).toBe(0);
    const listed = (JSON.parse(settings.stdout) as RuleJson[]).find((entry) => entry.id === rule);
    expect(listed).toMatchObject({ origin: 'builtin', allow: { users: [], ips: ['192.0.2.0/24'], countries: [] } });
    // The table says where each rule comes from and what was added to its allow-list.
    const table = await cli(['rules', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^ID +ENABLED +SEVERITY +TECHNIQUE +TYPE +ORIGIN +IGNORES \(ADDED\) +TITLE$/,
    );
    expect(table.stdout.split('\n').find((line) => line.startsWith(`${rule} `))).toMatch(
      / builtin +ips 192\.0\.2\.0\/24 +\S/,
    );
    const badIp = await cli(['rules', 'allow', 'zt-config-tampering', '--ip', '300.1.2.3']);
    expect(badIp.code).toBe(2);
    expect(badIp.stderr).toContain('"300.1.2.3" is not an address or CIDR range');
    // The same longest entry as the HTTP API and rule files take, not a longer one only the CLI stores.
    const tooLong = await cli(['rules', 'allow', 'zt-config-tampering', '--user', `${'a'.repeat(315)}@x.com`]);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain('at most 320 characters');
    const nothing = await cli(['rules', 'allow', 'zt-config-tampering']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('give at least one of --user, --ip, --app or --country');
  }, 180_000);

  it('overrides a threshold and a window, refuses a parameter the rule has not, and resets', async () => {
    const clock = new ManualClock(START);
    const setup = await setUpCollector(
      { seed: 5, clock, traffic: { kind: 'fixed', fromMs: 0, toMs: 1, count: 1 } },
      false,
    );
    setups.push(setup);
    const cli = (args: readonly string[]) => runInProcess(args, { env: setup.env, clock });
    const overridesOf = async (id: string) => {
      const listed = await cli(['rules', 'list', '--format', 'json']);
      expect(listed.code, listed.stderr).toBe(0);
      return (JSON.parse(listed.stdout) as RuleJson[]).find((rule) => rule.id === id)?.overrides;
    };

    const set = await cli(['rules', 'set', 'zt-brute-force-user', '--threshold', '20', '--window', '15m']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('overrides threshold=20, window=15m');
    expect(await overridesOf('zt-brute-force-user')).toEqual({ threshold: 20, window: '15m' });
    expect((await cli(['rules', 'set', 'zt-brute-force-user', '--threshold', '12'])).code).toBe(0);
    expect(await overridesOf('zt-brute-force-user')).toEqual({ threshold: 12, window: '15m' });

    const noThreshold = await cli(['rules', 'set', 'zt-config-tampering', '--threshold', '3']);
    expect(noThreshold.code).toBe(1);
    expect(noThreshold.stderr).toContain('error[RULE_INVALID]');
    expect(noThreshold.stderr).toContain('threshold');
    expect(await overridesOf('zt-config-tampering')).toEqual({});
    const badWindow = await cli(['rules', 'set', 'zt-brute-force-user', '--window', '10x']);
    expect(badWindow.code).toBe(2);
    expect(badWindow.stderr).toContain('--window must be a number and s, m, h or d');
    const zeroLearning = await cli(['rules', 'set', 'zt-new-country', '--learning', '0s']);
    expect(zeroLearning.code).toBe(2);
    expect(zeroLearning.stderr).toContain('--learning must be more than zero (1s at least)');
    expect(zeroLearning.stderr).not.toContain('must be a number');
    const unknown = await cli(['rules', 'set', 'zt-nope', '--threshold', '3']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('error[RULE_NOT_FOUND]');

    expect((await cli(['rules', 'set', 'zt-brute-force-user', '--reset'])).stdout).toContain(
      'uses the parameters of its file',
    );
    expect(await overridesOf('zt-brute-force-user')).toEqual({});
  }, 60_000);

  it('lists the sensitive applications and tunes a learning period, refusing them where the rule has none', async () => {
    const clock = new ManualClock(START);
    const setup = await setUpCollector(
      { seed: 5, clock, traffic: { kind: 'fixed', fromMs: 0, toMs: 1, count: 1 } },
      false,
    );
    setups.push(setup);
    const cli = (args: readonly string[]) => runInProcess(args, { env: setup.env, clock });
    const overridesOf = async (id: string) => {
      const listed = await cli(['rules', 'list', '--format', 'json']);
      expect(listed.code, listed.stderr).toBe(0);
      return (JSON.parse(listed.stdout) as RuleJson[]).find((rule) => rule.id === id)?.overrides;
    };
    const rule = 'zt-first-sensitive-app';

    const listed = await cli([
      'rules',
      'set',
      rule,
      '--value',
      'finance.example.com',
      '--value',
      'Admin console',
      '--value',
      'finance.example.com',
    ]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('overrides values=[finance.example.com, Admin console]');
    expect(await overridesOf(rule)).toEqual({ values: ['finance.example.com', 'Admin console'] });
    // Another --value list replaces the whole list; other flags keep it.
    expect((await cli(['rules', 'set', rule, '--value', 'db.example.com/admin'])).code).toBe(0);
    expect((await cli(['rules', 'set', rule, '--learning', '7d', '--learning-events', '20'])).code).toBe(0);
    expect(await overridesOf(rule)).toEqual({ values: ['db.example.com/admin'], learning: '7d', learning_events: 20 });
    expect((await cli(['rules', 'set', rule, '--no-values'])).code).toBe(0);
    expect(await overridesOf(rule)).toEqual({ values: [], learning: '7d', learning_events: 20 });

    const noValues = await cli(['rules', 'set', 'zt-brute-force-user', '--value', 'finance.example.com']);
    expect(noValues.code).toBe(1);
    expect(noValues.stderr).toContain('error[RULE_INVALID]');
    expect(noValues.stderr).toContain('values');
    const both = await cli(['rules', 'set', rule, '--value', 'a', '--no-values']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give either --value or --no-values, not both');
    const badCount = await cli(['rules', 'set', rule, '--learning-events', 'many']);
    expect(badCount.code).toBe(2);
    expect(badCount.stderr).toContain('--learning-events');
    expect(await overridesOf('zt-brute-force-user')).toEqual({});
  }, 60_000);
});
