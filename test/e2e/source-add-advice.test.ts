import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess, type CliResult } from '../helpers/cli.js';
import { addTestSource, setUpCollector, TEST_SOURCE, type CollectorEnv } from '../helpers/collector-env.js';

const GOOD = 'zt-sim-advice-good-token-00000000000000001';
const REVOKED = 'zt-sim-advice-revoked-token-0000000000002';
const OTHER_ACCOUNT = 'zt-sim-advice-other-account-000000000003';
// Everything but the Access audit log permission, which the base datasets need.
const LIMITED = 'zt-sim-advice-limited-token-0000000000005';

describe('source add and source test: what they say', () => {
  let setup: CollectorEnv;
  const add = (name: string, token: string, extra: readonly string[] = []): Promise<CliResult> =>
    runInProcess(
      ['source', 'add', '--name', name, '--account-id', setup.simulator.accountId, '--token-env', 'TOKEN', ...extra],
      { env: { ...setup.env, TOKEN: token } },
    );
  const sourceNames = async (): Promise<string[]> => {
    const listed = await runInProcess(['source', 'list', '--format', 'json'], { env: setup.env });
    return (JSON.parse(listed.stdout) as { name: string }[]).map((source) => source.name).sort();
  };

  beforeAll(async () => {
    setup = await setUpCollector(
      {
        seed: 71,
        tokens: [
          { value: GOOD },
          { value: REVOKED, status: 'disabled' },
          { value: OTHER_ACCOUNT, accountIds: ['00000000000000000000000000000000'] },
          {
            value: LIMITED,
            permissions: ['Zero Trust Read', 'Access: Organizations, Identity Providers, and Groups Read'],
          },
        ],
      },
      false,
    );
    await addTestSource(setup, GOOD);
  });
  afterAll(async () => setup.cleanup());

  it('source test --format json gives every dataset the fields README names, unchecked, when the token is refused', async () => {
    const added = await add('Refused', REVOKED, ['--no-verify']);
    expect(added.code, added.stderr).toBe(0);
    try {
      const tested = await runInProcess(['source', 'test', 'Refused', '--format', 'json'], { env: setup.env });
      expect(tested.code, tested.stderr).toBe(3);
      expect(tested.stderr).toContain('error[SOURCE_AUTH_FAILED]');
      const rows = JSON.parse(tested.stdout) as Record<string, unknown>[];
      expect(rows).toHaveLength(11);
      for (const row of rows) {
        expect(Object.keys(row)).toEqual(['dataset', 'ok', 'state', 'permission', 'message']);
        expect(row).toMatchObject({ ok: false, state: 'unchecked' });
        expect(row['message']).toMatch(/^Not checked: The API token is disabled\. Create a new token/);
      }
    } finally {
      expect((await runInProcess(['source', 'remove', 'Refused'], { env: setup.env })).code).toBe(0);
    }
  });

  it('warns of a second source of the same account only once it is added, with the set-token command that keeps cursors', async () => {
    for (const token of [REVOKED, OTHER_ACCOUNT, 'zt-sim-advice-unknown-token-0000000000004']) {
      const refused = await add('Second', token);
      expect(refused.code, refused.stderr).toBe(3);
      expect(refused.stderr).not.toContain('warning: the source');
    }
    expect(await sourceNames()).toEqual([TEST_SOURCE]);

    const added = await add('Second', GOOD);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toContain(
      `warning: the source "${TEST_SOURCE}" already collects account ${setup.simulator.accountId}. Events both fetch are stored once, under whichever fetches them first. To give "${TEST_SOURCE}" this token instead, keeping its cursors, remove the source just added (zerotrail source remove Second) and run: printf %s "$TOKEN" | zerotrail source set-token '${TEST_SOURCE}' --token-stdin`,
    );
    expect(added.stderr).not.toContain(`zerotrail source remove '${TEST_SOURCE}'`);
    // The advice, followed: the older source keeps its name and takes the token.
    expect((await runInProcess(['source', 'remove', 'Second'], { env: setup.env })).code).toBe(0);
    const replaced = await runInProcess(['source', 'set-token', TEST_SOURCE, '--token-stdin'], {
      env: setup.env,
      input: GOOD,
    });
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(await sourceNames()).toEqual([TEST_SOURCE]);
  });

  it('says how to try again after refusing a token that lacks a base permission, in the words of the command refused', async () => {
    const permissionHint = (stderr: string): string | undefined =>
      /^error\[SOURCE_PERMISSION_DENIED\]: .*\nhint: (.*)$/m.exec(stderr)?.[1];

    // Nothing is stored: `source test` would not find the source, so the advice is to add it again.
    const added = await add('Limited', LIMITED);
    expect(added.code, added.stderr).toBe(3);
    expect(permissionHint(added.stderr)).toMatch(
      /add "Access: Audit Logs Read" for this account, then run the same zerotrail source add again\.$/,
    );
    expect(await sourceNames()).toEqual([TEST_SOURCE]);

    // The stored token stays: testing the source would test it, not the refused one.
    const replaced = await runInProcess(['source', 'set-token', TEST_SOURCE, '--token-env', 'TOKEN'], {
      env: { ...setup.env, TOKEN: LIMITED },
    });
    expect(replaced.code, replaced.stderr).toBe(3);
    expect(permissionHint(replaced.stderr)).toMatch(/, then run the same zerotrail source set-token again\.$/);

    const unverified = await add('Limited', LIMITED, ['--no-verify']);
    expect(unverified.code, unverified.stderr).toBe(0);
    try {
      const tested = await runInProcess(['source', 'test', 'Limited'], { env: setup.env });
      expect(tested.code, tested.stderr).toBe(3);
      expect(permissionHint(tested.stderr)).toMatch(/, then run zerotrail source test Limited again\.$/);
    } finally {
      expect((await runInProcess(['source', 'remove', 'Limited'], { env: setup.env })).code).toBe(0);
    }
  });

  it('names the variable of --token-env that is set but empty, for source add and source set-token alike', async () => {
    for (const value of ['', '  \n']) {
      const added = await runInProcess(
        ['source', 'add', '--name', 'Empty', '--account-id', setup.simulator.accountId, '--token-env', 'CF_ZT_TOKEN'],
        { env: { ...setup.env, CF_ZT_TOKEN: value } },
      );
      const replaced = await runInProcess(['source', 'set-token', TEST_SOURCE, '--token-env', 'CF_ZT_TOKEN'], {
        env: { ...setup.env, CF_ZT_TOKEN: value },
      });
      for (const result of [added, replaced]) {
        expect(result.code, result.stderr).toBe(3);
        expect(result.stderr).toBe(
          'error[SOURCE_TOKEN_INVALID]: The environment variable CF_ZT_TOKEN named by --token-env is empty: it holds no API token.\n' +
            'hint: Put the token in it first (read -rs CF_ZT_TOKEN && export CF_ZT_TOKEN), or pipe the token in with --token-stdin.\n',
        );
      }
    }
    expect(await sourceNames()).toEqual([TEST_SOURCE]);
  });
});
