import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvHeader } from '../../src/core/event-export.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { ADD_UNVERIFIED, REPO_ROOT, runInProcess, type CliResult } from '../helpers/cli.js';
import { deniedAccess } from '../helpers/events.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const HOUR_MS = 3_600_000;
const LEVELS = 'fatal, error, warn, info, debug, trace, silent';
const NO_SOURCES =
  'No data sources yet. Add one with: zerotrail source add --name NAME --account-id ID --token-stdin\n';
const RULE_FILE = join(REPO_ROOT, 'src', 'detect', 'rules', 'brute-force-user.yaml');

/** Runs a command that must not start anything long-lived; a deadline turns a hang into a failure. */
function run(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  return runInProcess(args, { env, signal: AbortSignal.timeout(20_000) });
}

describe('command-line values', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = makeTempDir('cli-input');
    env = { ZEROTRAIL_DATA_DIR: dir.path };
    const store = await SqliteStore.open({ path: join(dir.path, 'zerotrail.db') });
    await store.migrate();
    const start = Date.now() - 2 * HOUR_MS;
    await store.append(
      [
        deniedAccess({ time: start }, 1),
        deniedAccess({ time: start + 1000, outcome: 'success', user: 'bob@example.com' }, 2),
        deniedAccess({ time: start + 2000, outcome: 'success', user: 'carol@example.com', country: 'de' }, 3),
      ],
      { id: 'c', value: {} },
    );
    await store.close();
  });
  afterAll(() => dir.remove());

  const users = (result: CliResult): string[] => {
    expect(result.code, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { user: string }[]).map((event) => event.user).sort();
  };

  it('takes a query that begins with - as the query, with or without --', async () => {
    const notFailed = users(await run(['search', '-outcome:failure', '--format', 'json'], env));
    expect(notFailed).toEqual(['bob@example.com', 'carol@example.com']);
    expect(users(await run(['search', '--format', 'json', '--', '-outcome:failure'], env))).toEqual(notFailed);
    expect(users(await run(['search', '--from', '-1d', '-country:DE', '--format', 'json'], env))).toEqual([
      'alice@example.com',
      'bob@example.com',
    ]);
  });

  it('still refuses an unknown option, and several words given as the query', async () => {
    for (const [args, error] of [
      [['search', '--bogus'], "error[CLI_USAGE]: unknown option '--bogus'"],
      [['search', '-l', '5'], "error[CLI_USAGE]: unknown option '-l'"],
      [['search', 'outcome:failure', '--nope=1'], "error[CLI_USAGE]: unknown option '--nope=1'"],
    ] as const) {
      const result = await run(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.startsWith(error), result.stderr).toBe(true);
      expect(result.stderr).toContain('hint: run zerotrail search --help for its options');
    }
    const split = await run(['search', 'user:bob@example.com', '-outcome:failure'], env);
    expect(split.code).toBe(2);
    expect(split.stderr).toContain('error[CLI_USAGE]: search takes its query as one argument, and was given 2');
    expect(split.stderr).toContain(
      "hint: Quote the whole query: zerotrail search 'user:bob@example.com -outcome:failure'",
    );
  });

  it('takes whole numbers written in digits only, and says what was wrong', async () => {
    for (const [args, flag, shown] of [
      [['search', '--limit', '0x10'], '--limit', '"0x10"'],
      [['search', '--limit', '1e2'], '--limit', '"1e2"'],
      [['search', '--limit', ' 3'], '--limit', '" 3"'],
      [['search', '--limit', ''], '--limit', 'empty text'],
      [['search', '--limit', '2.5'], '--limit', '"2.5"'],
      [['alerts', 'list', '--limit', '0x10'], '--limit', '"0x10"'],
      [['simulate', '--port', '1e3'], '--port', '"1e3"'],
      [['serve', '--port', '0x50'], '--port', '"0x50"'],
      [['demo', '--port', ' 80'], '--port', '" 80"'],
      [['rules', 'set', 'zt-brute-force-user', '--threshold', '1e1'], '--threshold', '"1e1"'],
      [
        ['store', 'migrate', '--from', dir.path, '--to', 'postgres://x/y', '--chunk-rows', '0x10'],
        '--chunk-rows',
        '"0x10"',
      ],
    ] as const) {
      const result = await run(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(
        `error[CLI_USAGE]: Invalid command-line value:\n  - ${flag}: not a number: expected a whole number written in digits, got ${shown}`,
      );
    }
    const negative = await run(['search', '--limit', '-1'], env);
    expect(negative.code).toBe(2);
    expect(negative.stderr).toContain(
      '--limit: a negative number: expected a whole number written in digits, got "-1"',
    );
    const seed = await run(['simulate', '--seed', '-1'], env);
    expect(seed.stderr).toContain('--seed: a negative number: expected a whole number written in digits, got "-1"');
    // An argument has no option name: it is named as --help shows it.
    for (const [id, problem] of [
      ['0x1', 'not a number'],
      ['abc', 'not a number'],
      ['-1', 'a negative number'],
    ] as const) {
      const revoke = await run(['apikey', 'revoke', '--', id], env);
      expect(revoke.code).toBe(2);
      expect(revoke.stderr).toContain(
        `error[CLI_USAGE]: Invalid command-line value:\n  - <id>: ${problem}: expected a key id, a whole number written in digits, got "${id}"\n`,
      );
    }
    const share = await run(
      ['source', 'add', '--name', 'X', '--account-id', '0123456789abcdef0123456789abcdef', '--rate-share', '0x1'],
      env,
    );
    expect(share.code).toBe(2);
    expect(share.stderr).toContain('--rate-share: not a number: expected a decimal number such as 0.5, got "0x1"');
    const zero = await run(['search', '--limit', '0'], env);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--limit: Too small: expected number to be >=1');
    const fine = await run(['search', '--limit', '2', '--format', 'json'], env);
    expect(users(fine)).toHaveLength(2);
  });

  it('takes an empty ZEROTRAIL_LOG_LEVEL for unset, so the config file level applies, and refuses a wrong level', async () => {
    const configDir = join(dir.path, 'config');
    mkdirSync(configDir, { recursive: true });
    const config = join(configDir, 'debug.yaml');
    writeFileSync(config, 'log:\n  level: debug\n');
    const empty = await run(['--config', config, 'source', 'list'], { ...env, ZEROTRAIL_LOG_LEVEL: '' });
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stderr).toContain('"msg":"Installation opened"');
    const quiet = await run(['--config', config, 'source', 'list'], { ...env, ZEROTRAIL_LOG_LEVEL: 'warn' });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toContain('Installation opened');

    for (const args of [
      ['--log-level', 'loud', 'source', 'list'],
      ['--log-level', '', 'source', 'list'],
      ['source', 'list', '--log-level', 'LOUD'],
      // Refused before the simulator starts, though simulate never logs.
      ['--log-level', 'loud', 'simulate', '--port', '0'],
    ]) {
      const result = await run(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^error\[CLI_USAGE\]: --log-level (is empty|"\w+" is not a log level)/);
      expect(result.stderr).toContain(`give one of ${LEVELS}.`);
    }
    const variable = await run(['source', 'list'], { ...env, ZEROTRAIL_LOG_LEVEL: 'loud' });
    expect(variable.code).toBe(2);
    expect(variable.stderr).toMatch(/^error\[CONFIG_INVALID\]: The configuration is invalid:\n {2}- log\.level: /);
    expect(variable.stderr).toContain('"fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"');
  });

  it('refuses a simulator port in use as a configuration problem, as serve does', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen({ host: '127.0.0.1', port: 0 }, resolve));
    try {
      const port = (busy.address() as AddressInfo).port;
      const result = await run(['simulate', '--port', String(port)], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`error[CONFIG_INVALID]: Port ${port} on 127.0.0.1 is in use by another program.`);
      expect(result.stderr).toContain(
        'hint: Stop that program, or choose another port with --port (0 picks a free one).',
      );
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});

describe('a read-only command on a data directory without an installation', () => {
  let dir: ReturnType<typeof makeTempDir>;
  beforeAll(() => {
    dir = makeTempDir('no-installation');
  });
  afterAll(() => dir.remove());

  const READ_ONLY: readonly (readonly [readonly string[], string])[] = [
    [['search', 'outcome:failure'], 'No events match.\n'],
    [['search', '--format', 'json'], '[]\n'],
    [['search', '--format', 'csv'], csvHeader()],
    [['search', '--format', 'ndjson'], ''],
    [['source', 'list'], NO_SOURCES],
    [['source', 'list', '--format', 'json'], '[]\n'],
    [['source', 'status'], NO_SOURCES],
    [['source', 'status', '--format', 'json'], '[]\n'],
    [['alerts', 'list'], 'No alerts.\n'],
    [['alerts', 'list', '--format', 'json'], '[]\n'],
    [['inventory', 'users', '--format', 'json'], '[]\n'],
    [['user', 'list', '--format', 'json'], '[]\n'],
    [['apikey', 'list', '--format', 'json'], '[]\n'],
    [['notify', 'status', '--format', 'json'], '[]\n'],
    [['rules', 'test', RULE_FILE, '--format', 'json'], '[]\n'],
  ];

  it('says there is none there, prints the empty result in the format asked for, and creates nothing', async () => {
    const typo = join(dir.path, 'typo');
    for (const [args, stdout] of READ_ONLY) {
      const result = await run(['--data-dir', typo, ...args], {});
      const what = args.join(' ');
      expect({ what, code: result.code, stdout: result.stdout }, result.stderr).toEqual({ what, code: 0, stdout });
      expect(result.stderr, what).toContain(
        `notice: there is no zerotrail installation in ${typo} yet (no zerotrail.db); nothing was created.`,
      );
      expect(result.stderr, what).toContain('zerotrail source add --name NAME --account-id ID --token-stdin');
      expect(result.stderr, what).toContain('--data-dir DIR or ZEROTRAIL_DATA_DIR');
      expect(readdirSync(dir.path), what).toEqual([]);
    }
  });

  it('still lists the detection rules, as their files state them', async () => {
    const result = await run(['rules', 'list', '--format', 'json'], { ZEROTRAIL_DATA_DIR: join(dir.path, 'typo') });
    expect(result.code, result.stderr).toBe(0);
    const rules = JSON.parse(result.stdout) as { id: string; enabled: boolean }[];
    expect(rules.map((rule) => rule.id)).toContain('zt-brute-force-user');
    expect(readdirSync(dir.path)).toEqual([]);
  });

  it('says where it looked when there is nothing to collect from', async () => {
    const typo = join(dir.path, 'typo');
    const result = await run(['collect', '--once'], { ZEROTRAIL_DATA_DIR: typo });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(
      `error[SOURCE_NOT_FOUND]: There is no data source to collect from: there is no zerotrail installation in ${typo} yet.`,
    );
    expect(readdirSync(dir.path)).toEqual([]);
  });

  it('is set up by a command that sets up, and then read without a notice', async () => {
    const dataDir = join(dir.path, 'real');
    const env = { ZEROTRAIL_DATA_DIR: dataDir, CF_TOKEN: 'zt-sim-default-token-000000000000000000000' };
    const added = await run(ADD_UNVERIFIED, env);
    expect(added.code, added.stderr).toBe(0);
    expect(readdirSync(dataDir)).toContain('zerotrail.db');
    const searched = await run(['search', '--format', 'json'], env);
    expect(searched.code, searched.stderr).toBe(0);
    expect(searched.stdout).toBe('[]\n');
    expect(searched.stderr).toBe('');
  });
});
