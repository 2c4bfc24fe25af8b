import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { runInProcess, REPO_ROOT } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

interface AlertJson {
  readonly id: string;
  readonly rule_id: string;
  readonly severity: string;
  readonly technique: string;
  readonly entity: { user: string | null; ip: string | null; app: string | null };
  readonly count: number;
  readonly summary: string;
  readonly status: string;
  readonly first_event_time: string;
  readonly evidence_event_ids: readonly string[];
}

describe('alerts end to end, collecting from the simulator', () => {
  let setup: CollectorEnv | undefined;

  afterEach(async () => {
    await setup?.cleanup();
    setup = undefined;
  });

  it('raises alerts while collecting, never twice on a later run, and a replay creates nothing', async () => {
    const start = Date.parse('2026-11-20T12:00:00.000Z');
    const clock = new ManualClock(start);
    setup = await setUpCollector({
      seed: 31,
      clock,
      traffic: { kind: 'fixed', fromMs: start - 2 * HOUR_MS, toMs: start + 30 * MINUTE_MS, count: 300 },
    });
    const env = setup.env;
    const cli = async (args: readonly string[]) => {
      const result = await runInProcess(args, { env, clock });
      return result;
    };
    const listAlerts = async (): Promise<AlertJson[]> => {
      const result = await cli(['alerts', 'list', '--format', 'json', '--limit', '10000']);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as AlertJson[];
    };

    const first = await cli(['collect', '--once', '--backfill-days', '1']);
    expect(first.code, first.stderr).toBe(0);
    // The simulated organisation adds an identity provider five minutes after the start.
    clock.advance(10 * MINUTE_MS);
    const second = await cli(['collect', '--once']);
    expect(second.code, second.stderr).toBe(0);

    const alerts = await listAlerts();
    const tampering = alerts.filter((alert) => alert.rule_id === 'zt-config-tampering');
    expect(tampering.length, JSON.stringify(alerts, null, 2)).toBeGreaterThan(0);
    const idpAdded = tampering.find((alert) => alert.summary.includes('Identity provider'));
    expect(idpAdded).toMatchObject({ severity: 'high', technique: 'T1556', status: 'open' });
    expect(idpAdded?.summary).toMatch(/created/);
    // Alerts carry the event's time, not when zerotrail evaluated it.
    expect(Date.parse(idpAdded?.first_event_time ?? '')).toBeLessThanOrEqual(start + 10 * MINUTE_MS);
    for (const id of idpAdded?.evidence_event_ids ?? []) {
      const found = await cli(['search', `id:${id}`, '--format', 'json']);
      expect(found.code, found.stderr).toBe(0);
      expect((JSON.parse(found.stdout) as unknown[]).length).toBe(1);
    }

    // A later run over the same Cloudflare data, after a restart, raises nothing again.
    clock.advance(MINUTE_MS);
    const third = await cli(['collect', '--once']);
    expect(third.code, third.stderr).toBe(0);
    const again = await listAlerts();
    expect(again.map((alert) => [alert.id, alert.count])).toEqual(alerts.map((alert) => [alert.id, alert.count]));

    // Replaying the rule file over the stored events shows the same alert and stores nothing.
    const ruleFile = join(setup.dataDir, 'tampering.yaml');
    copyFileSync(join(REPO_ROOT, 'src/detect/rules/config-tampering.yaml'), ruleFile);
    const replay = await cli(['rules', 'test', ruleFile, '--from', '-2d', '--to', 'now', '--format', 'json']);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stderr).toMatch(/alerts? would have been raised; nothing was stored/);
    const replayed = JSON.parse(replay.stdout) as AlertJson[];
    expect(replayed.map((alert) => alert.id)).toContain(idpAdded?.id);
    const table = await cli(['rules', 'test', ruleFile, '--from', '-2d']);
    expect(table.stdout).toContain('Identity provider');
    expect(await listAlerts()).toEqual(again);

    // The lifecycle, as an analyst drives it.
    const id = idpAdded?.id ?? '';
    expect((await cli(['alerts', 'ack', id])).stdout).toContain('acknowledged');
    expect((await cli(['alerts', 'list', '--status', 'open', '--format', 'json'])).stdout).not.toContain(id);
    const noReason = await cli(['alerts', 'close', id]);
    expect(noReason.code).toBe(2);
    const badReason = await cli(['alerts', 'close', id, '--reason', 'fine']);
    expect(badReason.code).toBe(2);
    expect(badReason.stderr).toContain('--reason');
    const closed = await cli(['alerts', 'close', id, '--reason', 'benign', '--comment', 'planned SSO migration']);
    expect(closed.code, closed.stderr).toBe(0);
    // An alert goes only to a zerotrail user, as in the API; a misspelt name leaves the assignee as it was.
    const ghost = await cli(['alerts', 'assign', id, 'ghost user']);
    expect(ghost.code).toBe(4);
    expect(ghost.stderr).toContain('error[AUTH_USER_UNKNOWN]: No zerotrail user is named "ghost user"');
    const dana = await runInProcess(['user', 'add', 'dana', '--role', 'analyst'], {
      env,
      clock,
      input: 'a long enough password 1\n',
    });
    expect(dana.code, dana.stderr).toBe(0);
    expect((await cli(['alerts', 'assign', id, 'dana'])).stdout).toContain('assigned to dana');
    expect((await cli(['alerts', 'comment', id, 'checked with the IT team'])).code).toBe(0);
    const shown = await cli(['alerts', 'show', id]);
    expect(shown.stdout).toMatch(/assignee\s+dana/);
    expect(shown.stdout).toContain('checked with the IT team');
    expect(shown.stdout).toContain('closed (benign)');
    expect(shown.stdout).toMatch(/cli:\S*\s+acknowledged/);
    expect(shown.stdout).toContain('planned SSO migration');
    // A closed alert can be taken up again; its close reason goes and the history says who reopened it.
    const reopened = await cli(['alerts', 'reopen', id, '--comment', 'the token was used again']);
    expect(reopened.code, reopened.stderr).toBe(0);
    expect(reopened.stdout).toContain(`Alert ${id} reopened.`);
    expect((await cli(['alerts', 'reopen', id])).stdout).toContain(`Alert ${id} is open already.`);
    const reshown = await cli(['alerts', 'show', id]);
    expect(reshown.stdout).toMatch(/^\S+ {2}HIGH {2}open$/m);
    expect(reshown.stdout).toMatch(/cli:\S*\s+reopened\s+\{"from":"closed"\}/);
    expect((await cli(['alerts', 'list', '--status', 'open', '--format', 'json'])).stdout).toContain(id);
    const missing = await cli(['alerts', 'show', 'al_000000000000000000000000']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('error[ALERT_NOT_FOUND]');
  }, 180_000);

  it('lists, disables and enables rules, and refuses a rule file with an unsupported feature', async () => {
    const clock = new ManualClock(Date.parse('2026-11-20T12:00:00.000Z'));
    setup = await setUpCollector({ seed: 5, clock, traffic: { kind: 'fixed', fromMs: 0, toMs: 1, count: 1 } }, false);
    const env = setup.env;
    const list = async () => {
      const result = await runInProcess(['rules', 'list', '--format', 'json'], { env, clock });
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as { id: string; enabled: boolean; severity: string; technique: string }[];
    };
    const rules = await list();
    expect(rules.map((rule) => rule.id)).toEqual(
      expect.arrayContaining([
        'zt-brute-force-user',
        'zt-password-spraying',
        'zt-denied-then-allowed',
        'zt-denied-burst',
        'zt-deprovisioned-login',
        'zt-config-tampering',
      ]),
    );
    expect(rules.every((rule) => rule.enabled && /^T\d{4}/.test(rule.technique))).toBe(true);
    expect((await runInProcess(['rules', 'disable', 'zt-password-spraying'], { env, clock })).code).toBe(0);
    expect((await list()).find((rule) => rule.id === 'zt-password-spraying')?.enabled).toBe(false);
    expect((await runInProcess(['rules', 'enable', 'zt-password-spraying'], { env, clock })).code).toBe(0);
    expect((await list()).find((rule) => rule.id === 'zt-password-spraying')?.enabled).toBe(true);
    const unknown = await runInProcess(['rules', 'disable', 'zt-nope'], { env, clock });
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('error[RULE_NOT_FOUND]');

    const bad = join(setup.dataDir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'id: my-rule',
        'title: Mine',
        'type: threshold',
        'severity: high',
        'technique: T1110',
        'description: test',
        "summary: '{user}'",
        'match:',
        "  'user|fuzzy': alice",
        'params: { group_by: [user], window: 10m, threshold: 3 }',
      ].join('\n'),
    );
    const refused = await runInProcess(['rules', 'test', bad], { env, clock });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error[RULE_INVALID]');
    expect(refused.stderr).toContain('match.user|fuzzy: unsupported modifier "fuzzy"');
  }, 60_000);
});
