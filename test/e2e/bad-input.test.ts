import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess, type CliResult } from '../helpers/cli.js';
import { setUpCollector, TEST_SOURCE, type CollectorEnv } from '../helpers/collector-env.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const HOUR_MS = 3_600_000;
const REVOKED = 'zt-sim-revoked-token-0000000000000000000001';
const OTHER_ACCOUNT = 'zt-sim-other-account-token-00000000000000002';
const EXPIRING = 'zt-sim-expiring-token-000000000000000000003';

describe('bad input gets a precise message, a non-zero exit, and changes nothing', () => {
  let setup: CollectorEnv;
  const sourcesBefore = async (): Promise<unknown> =>
    JSON.parse((await runInProcess(['source', 'list', '--format', 'json'], { env: setup.env })).stdout) as unknown;
  const add = (args: readonly string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> =>
    runInProcess(['source', 'add', '--name', 'Another', ...args], {
      env: { ...setup.env, ...env },
      ...(input === undefined ? {} : { input }),
    });

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector(
      {
        seed: 2,
        traffic: { kind: 'fixed', fromMs: now - 2 * HOUR_MS, toMs: now - HOUR_MS, count: 50 },
        tokens: [
          { value: 'zt-sim-default-token-000000000000000000000' },
          { value: REVOKED, status: 'disabled' },
          { value: OTHER_ACCOUNT, accountIds: ['00000000000000000000000000000000'] },
          { value: EXPIRING, expiresOn: new Date(now + 3 * 24 * HOUR_MS).toISOString() },
        ],
      },
      false,
    );
    setup.env['CF_TOKEN'] = 'zt-sim-default-token-000000000000000000000';
    const added = await runInProcess(
      ['source', 'add', '--name', TEST_SOURCE, '--account-id', setup.simulator.accountId, '--token-env', 'CF_TOKEN'],
      { env: setup.env },
    );
    expect(added.code, added.stderr).toBe(0);
  });
  afterAll(async () => setup.cleanup());

  it('rejects a malformed Account ID', async () => {
    const before = await sourcesBefore();
    const result = await add(['--account-id', '12345', '--token-env', 'CF_TOKEN']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error\[SOURCE_ACCOUNT_ID_INVALID\].*32 hexadecimal/);
    expect(await sourcesBefore()).toEqual(before);
  });

  it('rejects an empty token and a token with spaces inside', async () => {
    const empty = await add(['--account-id', setup.simulator.accountId, '--token-stdin'], {}, '  \n');
    // docs/errors.md: class 3 is the token's.
    expect(empty.code).toBe(3);
    expect(empty.stderr).toContain('error[SOURCE_TOKEN_INVALID]: The API token is empty');
    const spaced = await add(
      ['--account-id', setup.simulator.accountId, '--token-stdin'],
      {},
      'abc def ghi jkl mno pqr stu',
    );
    expect(spaced.code).toBe(3);
    expect(spaced.stderr).toContain('error[SOURCE_TOKEN_INVALID]');
  });

  it('strips a pasted Bearer prefix with a notice', async () => {
    const result = await add(
      ['--account-id', setup.simulator.accountId, '--token-stdin', '--no-verify'],
      {},
      `Bearer ${setup.env['CF_TOKEN']}\n`,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('removed a pasted "Bearer " prefix');
    // Its account is the test source's: the two would split that account's events between them.
    expect(result.stderr).toContain(
      `warning: the source "${TEST_SOURCE}" already collects account ${setup.simulator.accountId}.`,
    );
    expect((await runInProcess(['source', 'remove', 'Another'], { env: setup.env })).code).toBe(0);
  });

  it('suggests a remove command that works as pasted, for names a shell would split or take for an option', async () => {
    for (const [name, argument] of [
      ['He said "hi"', `'He said "hi"'`],
      ["it's", `'it'\\''s'`],
      ['--weird', '-- --weird'],
    ] as const) {
      const args = ['--account-id', '0123456789abcdef0123456789abcdef', '--token-env', 'CF_TOKEN', '--no-verify'];
      const first = await runInProcess(['source', 'add', '--name', name, ...args], { env: setup.env });
      expect(first.code, first.stderr).toBe(0);
      const again = await runInProcess(['source', 'add', '--name', name, ...args], { env: setup.env });
      expect(again.code).toBe(6);
      expect(again.stderr).toContain(
        `hint: Pick another name, or remove it first with: zerotrail source remove ${argument}`,
      );
      // What a shell makes of the suggested words.
      const words = argument === '-- --weird' ? ['--', '--weird'] : [name];
      const removed = await runInProcess(['source', 'remove', ...words], { env: setup.env });
      expect(removed.code, removed.stderr).toBe(0);
    }
  });

  it('explains a revoked token and a token for another account', async () => {
    const before = await sourcesBefore();
    const revoked = await add(['--account-id', setup.simulator.accountId, '--token-env', 'BAD'], { BAD: REVOKED });
    expect(revoked.code).toBe(3);
    expect(revoked.stderr).toMatch(/error\[SOURCE_AUTH_FAILED\]/);
    // The way to replace a token names commands that exist.
    expect(revoked.stderr).toContain('hint: Give the token the three read permissions README lists.');
    expect(revoked.stderr).not.toContain('update the source');
    const other = await add(['--account-id', setup.simulator.accountId, '--token-env', 'BAD'], { BAD: OTHER_ACCOUNT });
    expect(other.code).toBe(3);
    expect(other.stderr).toMatch(/account/i);
    expect(await sourcesBefore()).toEqual(before);
  });

  it('warns when the token expires soon but still adds the source', async () => {
    const result = await add(['--account-id', setup.simulator.accountId, '--token-env', 'SOON'], { SOON: EXPIRING });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/warning: the token expires on \d{4}-\d{2}-\d{2}T/);
    expect((await runInProcess(['source', 'remove', 'Another'], { env: setup.env })).code).toBe(0);
  });

  it('names the unknown source and lists the known ones', async () => {
    const result = await runInProcess(['collect', '--once', '--source', 'Nope'], { env: setup.env });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('error[SOURCE_NOT_FOUND]: No data source is named "Nope"');
    expect(result.stderr).toContain(`"${TEST_SOURCE}"`);
    const removed = await runInProcess(['source', 'remove', 'Nope'], { env: setup.env });
    expect(removed.code).toBe(4);
  });

  it('suggests the command meant by a mistyped name, and the help lists every command wherever it is asked for', async () => {
    const mistyped = await runInProcess(['--log-level', 'warn', 'colect', '--once'], { env: setup.env });
    expect(mistyped.code).toBe(2);
    expect(mistyped.stderr).toContain("error[CLI_USAGE]: unknown command 'colect'");
    expect(mistyped.stderr).toContain('Did you mean collect?');
    const commands = ['source', 'collect', 'search', 'alerts', 'rules', 'serve', 'demo', 'store', 'apikey'];
    for (const args of [['--help'], ['--help', 'collect'], ['help']]) {
      const help = await runInProcess(args, { env: setup.env });
      expect(help.code, args.join(' ')).toBe(0);
      for (const command of commands) expect(help.stdout, args.join(' ')).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    const collectHelp = await runInProcess(['--data-dir', setup.dataDir, 'collect', '--help'], { env: setup.env });
    expect(collectHelp.stdout).toContain('Usage: zerotrail collect [options]');
  });

  it('rejects wrong types in flags and configuration with the path of each problem', async () => {
    const flag = await runInProcess(['search', '--limit', 'many'], { env: setup.env });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/error\[CLI_USAGE\][\s\S]*--limit/);
    const env = await runInProcess(['collect', '--once'], {
      env: { ...setup.env, ZEROTRAIL_COLLECT__INTERVAL_SECS: 'soon' },
    });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/error\[CONFIG_INVALID\][\s\S]*collect\.interval_secs/);
    const config = join(setup.dataDir, 'broken.yaml');
    writeFileSync(config, 'collect: {backfill_days: [}\n');
    const broken = await runInProcess(['--config', config, 'source', 'list'], { env: setup.env });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('broken.yaml is not valid YAML');
  });

  it('points at the position of a query syntax error', async () => {
    const result = await runInProcess(['search', 'user:alice AND (outcome:failure'], { env: setup.env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error\[QUERY_SYNTAX\].*column \d+/);
    const column = Number(/column (\d+)/.exec(result.stderr)?.[1]);
    const [, queryLine, caretLine] = result.stderr.split('\n');
    expect(queryLine).toBe('hint: user:alice AND (outcome:failure');
    expect(caretLine?.indexOf('^')).toBe('hint: '.length + column - 1);
    const field = await runInProcess(['search', 'usr:alice'], { env: setup.env });
    expect(field.code).toBe(2);
    expect(field.stderr).toMatch(/error\[QUERY_FIELD_UNKNOWN\].*usr/);
    const time = await runInProcess(['search', '--from', 'yesterday'], { env: setup.env });
    expect(time.code).toBe(2);
    expect(time.stderr).toContain('error[TIME_INVALID]');
    const swapped = await runInProcess(['search', '--from', '-1d', '--to', '-7d'], { env: setup.env });
    expect(swapped.code).toBe(2);
    expect(swapped.stderr).toMatch(/^error\[TIME_INVALID\]: The period is empty: --from \(.+\) is not before --to/);
  });

  it("refuses a secret key that is not this installation's, before touching any token", async () => {
    const otherKey = Buffer.alloc(32, 9).toString('base64');
    const result = await runInProcess(['collect', '--once'], { env: { ...setup.env, ZEROTRAIL_SECRET_KEY: otherKey } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/error\[SECRET_KEY_INVALID\].*different secret key/);
    expect(result.stderr).toContain('secret.key');
  });

  it('refuses an unusable data directory', async () => {
    const dir = makeTempDir('notadir');
    try {
      const file = join(dir.path, 'file');
      writeFileSync(file, 'x');
      const result = await runInProcess(['source', 'list'], { env: { ZEROTRAIL_DATA_DIR: join(file, 'data') } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        `error[CONFIG_DATA_DIR_UNUSABLE]: The data directory ${join(file, 'data')} cannot be used: a part of its path is a file, not a directory.`,
      );
      // A file where the directory should be is named as such, not as an errno code.
      const taken = await runInProcess(['source', 'list'], { env: { ZEROTRAIL_DATA_DIR: file } });
      expect(taken.code).toBe(2);
      expect(taken.stderr).toContain(
        `The data directory ${file} cannot be used: a file, not a directory, has that name.`,
      );
    } finally {
      dir.remove();
    }
  });

  it('says a corrupt database is corrupt and never overwrites it', async () => {
    const dir = makeTempDir('corrupt');
    try {
      mkdirSync(join(dir.path, 'data'));
      const db = join(dir.path, 'data', 'zerotrail.db');
      writeFileSync(db, Buffer.concat([Buffer.from('this is not a database'), Buffer.alloc(8192, 7)]));
      const digest = (): string => createHash('sha256').update(readFileSync(db)).digest('hex');
      const before = digest();
      const result = await runInProcess(['source', 'list'], { env: { ZEROTRAIL_DATA_DIR: join(dir.path, 'data') } });
      expect(result.code).toBe(5);
      expect(result.stderr).toContain('error[STORE_CORRUPT]');
      expect(result.stderr).toContain('zerotrail.db');
      expect(digest()).toBe(before);
    } finally {
      dir.remove();
    }
  });
});
