import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { runInProcess } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const START = Date.parse('2026-11-20T12:00:00.000Z');

const SIGMA_DENIED = `title: Denied Access login
id: 5b0c2f5e-2d4e-4c55-9a0e-8f3a4c1d7e21
status: experimental
description: Cloudflare Access denied a login.
logsource:
  product: cloudflare
  service: access
detection:
  denied:
    outcome: failure
  condition: denied
level: low
`;

// The title carries a terminal colour sequence and a bidi override, which the CLI must show, not obey.
const ENGINE_DENIED = `id: my-denied-login
title: "Denied login\\e[31m, per user\\u202e"
type: event
severity: low
technique: T1110
description: Every denied Access login, one alert per user and hour.
match:
  dataset: access_requests
  outcome: failure
params:
  group_by: [user]
summary: '{user} was denied on {app}'
`;

interface AlertJson {
  readonly rule_id: string;
  readonly summary: string;
}

describe('user rule files', () => {
  let setup: CollectorEnv | undefined;

  afterEach(async () => {
    await setup?.cleanup();
    setup = undefined;
  });

  it('tests a bare Sigma file, adds engine and Sigma rules that the collector runs, and removes them', async () => {
    const clock = new ManualClock(START);
    setup = await setUpCollector({
      seed: 31,
      clock,
      traffic: { kind: 'fixed', fromMs: START - 2 * HOUR_MS, toMs: START + 30 * MINUTE_MS, count: 300 },
    });
    const { env, dataDir } = setup;
    const cli = (args: readonly string[]) => runInProcess(args, { env, clock });
    const sigmaFile = join(dataDir, 'denied.yml');
    const engineFile = join(dataDir, 'mine.yaml');
    writeFileSync(sigmaFile, SIGMA_DENIED);
    writeFileSync(engineFile, ENGINE_DENIED);

    // A collection without the rules, so `rules test` has stored events to replay.
    expect((await cli(['collect', '--once', '--backfill-days', '1'])).code).toBe(0);
    const replay = await cli(['rules', 'test', sigmaFile, '--from', '-2d', '--format', 'json']);
    expect(replay.code, replay.stderr).toBe(0);
    const replayed = JSON.parse(replay.stdout) as AlertJson[];
    expect(replayed.length).toBeGreaterThan(0);
    expect(replayed.every((alert) => alert.rule_id === '5b0c2f5e-2d4e-4c55-9a0e-8f3a4c1d7e21')).toBe(true);
    expect(replayed[0]?.summary).toContain('Denied Access login');

    const addedEngine = await cli(['rules', 'add', engineFile]);
    expect(addedEngine.code, addedEngine.stderr).toBe(0);
    expect(addedEngine.stdout).toContain('Added rule my-denied-login (Denied login\\u001b[31m, per user\\u202e)');
    expect((await cli(['rules', 'add', sigmaFile])).code).toBe(0);
    expect(readdirSync(join(dataDir, 'rules')).sort()).toEqual([
      '5b0c2f5e-2d4e-4c55-9a0e-8f3a4c1d7e21.yaml',
      'my-denied-login.yaml',
    ]);
    const again = await cli(['rules', 'add', engineFile]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('error[RULE_INVALID]');
    expect(again.stderr).toContain('has the id my-denied-login already');

    const listed = await cli(['rules', 'list', '--format', 'json']);
    expect(listed.code, listed.stderr).toBe(0);
    const rules = JSON.parse(listed.stdout) as { id: string; origin: string; enabled: boolean }[];
    expect(rules.find((rule) => rule.id === 'my-denied-login')?.origin).toBe(
      join(dataDir, 'rules', 'my-denied-login.yaml'),
    );
    expect(rules.find((rule) => rule.id === 'zt-brute-force-user')?.origin).toBe('builtin');
    const table = await cli(['rules', 'list']);
    const listedLine = table.stdout.split('\n').find((line) => line.startsWith('my-denied-login '));
    expect(listedLine).toContain(` ${join('rules', 'my-denied-login.yaml')} `);
    expect(listedLine).toMatch(/ Denied login\\u001b\[31m, per user\\u202e$/);
    expect((await cli(['rules', 'disable', '5b0c2f5e-2d4e-4c55-9a0e-8f3a4c1d7e21'])).code).toBe(0);

    // The next collection runs the added rules over the newly stored events.
    clock.advance(20 * MINUTE_MS);
    expect((await cli(['collect', '--once'])).code).toBe(0);
    const alerts = await cli(['alerts', 'list', '--format', 'json', '--limit', '10000']);
    const ruleIds = new Set((JSON.parse(alerts.stdout) as AlertJson[]).map((alert) => alert.rule_id));
    expect(ruleIds.has('my-denied-login')).toBe(true);
    expect(ruleIds.has('5b0c2f5e-2d4e-4c55-9a0e-8f3a4c1d7e21')).toBe(false);

    const removed = await cli(['rules', 'remove', 'my-denied-login']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(existsSync(join(dataDir, 'rules', 'my-denied-login.yaml'))).toBe(false);
    const builtin = await cli(['rules', 'remove', 'zt-brute-force-user']);
    expect(builtin.code).toBe(2);
    expect(builtin.stderr).toContain('is a built-in rule');
    const unknown = await cli(['rules', 'remove', 'my-denied-login']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('error[RULE_NOT_FOUND]');
  }, 180_000);

  it('a broken rule file stops the collector at startup with its RULE_INVALID, and rules add refuses one', async () => {
    const clock = new ManualClock(START);
    setup = await setUpCollector({ seed: 5, clock, traffic: { kind: 'fixed', fromMs: 0, toMs: 1, count: 1 } });
    const { env, dataDir } = setup;
    const cli = (args: readonly string[]) => runInProcess(args, { env, clock });
    const broken = ENGINE_DENIED.replace('id: my-denied-login', 'id: broken-rule')

      .replace('  group_by: [user]', '  group_by: [user]\n  threshold: 3');
    const brokenFile = join(dataDir, 'broken.yaml');
    writeFileSync(brokenFile, broken);
    const refused = await cli(['rules', 'add', brokenFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error[RULE_INVALID]');
    expect(refused.stderr).toContain('params: unsupported field "threshold"');
    expect(existsSync(join(dataDir, 'rules'))).toBe(false);

    // Placed by hand, the same file stops the collector before it collects anything.
    expect((await cli(['collect', '--once'])).code).toBe(0);
    mkdirSync(join(dataDir, 'rules'));
    writeFileSync(join(dataDir, 'rules', 'broken.yml'), broken);
    const stopped = await cli(['collect', '--once']);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain(
      `error[RULE_INVALID]: ${join(dataDir, 'rules', 'broken.yml')}: params: unsupported field "threshold"`,
    );
    const removed = await cli(['rules', 'remove', 'broken']);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await cli(['collect', '--once'])).code).toBe(0);
  }, 60_000);
});
