import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeStoredRules } from '../../src/detect/stored-rules.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { ADD_UNVERIFIED, runInProcess } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const API_RULE = `id: api-denied
title: Denied login, added through the API
type: event
severity: low
technique: T1110
description: Every denied Access login.
match: { dataset: access_requests, outcome: failure }
summary: '{user} was denied'
`;

describe('the rules commands and a rule added through the API', () => {
  let dataDir: ReturnType<typeof makeTempDir>;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = makeTempDir('rules-api');
    env = { ZEROTRAIL_DATA_DIR: dataDir.path, CF_TOKEN: 'a'.repeat(40) };
    const added = await runInProcess(ADD_UNVERIFIED, { env });
    expect(added.code, added.stderr).toBe(0);
    // What POST /api/rules stores.
    const store = await SqliteStore.open({ path: join(dataDir.path, 'zerotrail.db') });
    await writeStoredRules(store, [{ yaml: API_RULE, addedBy: 'ada@example.com', addedAt: Date.UTC(2026, 10, 28) }]);
    await store.close();
  });
  afterAll(() => dataDir.remove());

  it('lists it with the others', async () => {
    const listed = await runInProcess(['rules', 'list', '--format', 'json'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    const rules = JSON.parse(listed.stdout) as { id: string; origin: string; enabled: boolean }[];
    expect(rules.find((rule) => rule.id === 'api-denied')).toMatchObject({
      origin: 'rule added by ada@example.com at 2026-11-28T00:00:00.000Z',
      enabled: true,
    });
    expect(rules.some((rule) => rule.id === 'zt-brute-force-user')).toBe(true);
  });

  it('disables, tunes and enables it', async () => {
    const disabled = await runInProcess(['rules', 'disable', 'api-denied'], { env });
    expect(disabled.code, disabled.stderr).toBe(0);
    const allowed = await runInProcess(['rules', 'allow', 'api-denied', '--user', 'svc@example.com'], { env });
    expect(allowed.code, allowed.stderr).toBe(0);
    const listed = await runInProcess(['rules', 'list', '--format', 'json'], { env });
    const rule = (JSON.parse(listed.stdout) as { id: string; enabled: boolean; allow: { users: string[] } }[]).find(
      (candidate) => candidate.id === 'api-denied',
    );
    expect(rule).toMatchObject({ enabled: false, allow: { users: ['svc@example.com'] } });
    expect((await runInProcess(['rules', 'enable', 'api-denied'], { env })).code).toBe(0);
  });

  it('refuses a rule file with its id, which would stop it running', async () => {
    const file = join(dataDir.path, 'clash.yaml');
    writeFileSync(file, API_RULE.replace('Denied login, added through the API', 'Another rule'));
    const added = await runInProcess(['rules', 'add', file], { env });
    expect(added.code).not.toBe(0);
    expect(added.stderr).toContain('error[RULE_INVALID]');
    expect(added.stderr).toContain('rule added by ada@example.com');
    expect(added.stderr).toContain('has the id api-denied already');
  });

  it('still says RULE_NOT_FOUND for an id no rule has, naming the rules there are', async () => {
    const missing = await runInProcess(['rules', 'disable', 'no-such-rule'], { env });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('error[RULE_NOT_FOUND]');
    expect(missing.stderr).toContain('api-denied');
  });
});
