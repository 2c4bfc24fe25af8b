import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADD_UNVERIFIED, BIN, runInProcess, type CliResult } from '../helpers/cli.js';
import { setUpCollector, TEST_SOURCE, type CollectorEnv } from '../helpers/collector-env.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const HOUR_MS = 3_600_000;
const REVOKED = 'zt-sim-revoked-token-0000000000000000000001';
const OTHER_ACCOUNT = 'zt-sim-other-account-token-00000000000000002';
const EXPIRING = 'zt-sim-expiring-token-000000000000000000003';
const TOKEN = 'zt-sim-default-token-000000000000000000000';

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
    expect(revoked.stderr).toContain('hint: Give the new token the three read permissions README lists.');
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

  it('refuses a data directory that cannot be made at once, instead of spinning on it', async () => {
    // Run as a process with a deadline: a recursive mkdir spins at full CPU on such a path and ignores SIGTERM.
    for (const dataDir of ['/proc/zerotrail-test', '/proc/zerotrail-test/a/b']) {
      const result = await runWithDeadline(['--data-dir', dataDir, ...ADD_UNVERIFIED], { CF_TOKEN: TOKEN }, 15_000);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(
        `error[CONFIG_DATA_DIR_UNUSABLE]: The data directory ${dataDir} cannot be used: no directory can be made in /proc.`,
      );
    }
  });

  it('makes every missing level of a new data directory, readable by this user only', async () => {
    const dir = makeTempDir('levels');
    try {
      const dataDir = join(dir.path, 'a', 'b', 'c');
      const result = await runInProcess(['--data-dir', dataDir, ...ADD_UNVERIFIED], { env: { CF_TOKEN: TOKEN } });
      expect(result.code, result.stderr).toBe(0);
      for (const level of [join(dir.path, 'a'), join(dir.path, 'a', 'b'), dataDir]) {
        expect(statSync(level).mode & 0o777, level).toBe(0o700);
      }
    } finally {
      dir.remove();
    }
  });

  it('refuses an empty --data-dir and writes nothing into the working directory', async () => {
    const dir = makeTempDir('empty-flag');
    try {
      const result = await runWithDeadline(['--data-dir', '', 'source', 'list'], {}, 30_000, dir.path);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain('error[CONFIG_INVALID]: The configuration is invalid:\n  - --data-dir: is empty');
      expect(readdirSync(dir.path)).toEqual([]);
      // An empty variable still means the default, as for every other setting.
      const unset = await runWithDeadline(['source', 'list'], { ZEROTRAIL_DATA_DIR: '' }, 30_000, dir.path);
      expect(unset.code, unset.stderr).toBe(0);
      expect(unset.stderr).toContain(`there is no zerotrail installation in ${join(dir.path, 'zerotrail-data')} yet`);
      expect(readdirSync(dir.path)).toEqual([]);
      const made = await runWithDeadline(ADD_UNVERIFIED, { ZEROTRAIL_DATA_DIR: '', CF_TOKEN: TOKEN }, 30_000, dir.path);
      expect(made.code, made.stderr).toBe(0);
      expect(readdirSync(dir.path)).toEqual(['zerotrail-data']);
    } finally {
      dir.remove();
    }
  });

  it('says in words that the secret key file is a directory', async () => {
    const dir = makeTempDir('key-dir');
    try {
      mkdirSync(join(dir.path, 'secret.key'));
      const result = await runInProcess(ADD_UNVERIFIED, { env: { ZEROTRAIL_DATA_DIR: dir.path, CF_TOKEN: TOKEN } });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `error[SECRET_KEY_INVALID]: The secret key file ${join(dir.path, 'secret.key')} cannot be read: it is a directory, not a file.`,
      );
      expect(readdirSync(dir.path)).toEqual(['secret.key']);
    } finally {
      dir.remove();
    }
  });

  it('refuses a copied data directory without its key file, makes no new key, and works once the key is back', async () => {
    const dir = makeTempDir('copied');
    try {
      const copy = join(dir.path, 'data');
      cpSync(setup.dataDir, copy, { recursive: true });
      const key = readFileSync(join(copy, 'secret.key'));
      rmSync(join(copy, 'secret.key'));
      const env = { ...setup.env, ZEROTRAIL_DATA_DIR: copy };
      for (const args of [
        ['source', 'list'],
        ['collect', '--once'],
      ]) {
        const result = await runInProcess(args, { env });
        expect(result.code, args.join(' ')).toBe(1);
        expect(result.stderr).toContain(
          `error[SECRET_KEY_INVALID]: The secret key file ${join(copy, 'secret.key')} is missing, but the database holds the tokens of 1 data source`,
        );
        expect(result.stderr).toContain('hint: Copy secret.key from the data directory of the original installation');
        expect(result.stderr).toContain('ZEROTRAIL_SECRET_KEY');
        expect(existsSync(join(copy, 'secret.key')), args.join(' ')).toBe(false);
      }
      // The key given another way opens it too.
      const viaEnv = await runInProcess(['source', 'list'], {
        env: { ...env, ZEROTRAIL_SECRET_KEY: key.toString('utf8').trim() },
      });
      expect(viaEnv.code, viaEnv.stderr).toBe(0);
      writeFileSync(join(copy, 'secret.key'), key, { mode: 0o600 });
      const restored = await runInProcess(['source', 'list'], { env });
      expect(restored.code, restored.stderr).toBe(0);
      expect(restored.stdout).toContain(TEST_SOURCE);
    } finally {
      dir.remove();
    }
  });

  it('leaves no secret key behind from commands that encrypt nothing; the first stored token makes it', async () => {
    const dir = makeTempDir('no-key');
    try {
      const dataDir = join(dir.path, 'data');
      const env = { ...setup.env, ZEROTRAIL_DATA_DIR: dataDir };
      const removed = await runInProcess(['source', 'remove', 'nope'], { env });
      expect(removed.code).toBe(4);
      const listed = await runInProcess(['source', 'list'], { env });
      expect(listed.code, listed.stderr).toBe(0);
      expect(existsSync(join(dataDir, 'secret.key'))).toBe(false);
      const added = await runInProcess(
        ['source', 'add', '--name', 'First', '--account-id', setup.simulator.accountId, '--token-env', 'CF_TOKEN'],
        { env },
      );
      expect(added.code, added.stderr).toBe(0);
      expect(statSync(join(dataDir, 'secret.key')).mode & 0o777).toBe(0o600);
      // The installation now has a key, and another one is told apart.
      const otherKey = Buffer.alloc(32, 7).toString('base64');
      const refused = await runInProcess(['source', 'list'], { env: { ...env, ZEROTRAIL_SECRET_KEY: otherKey } });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('error[SECRET_KEY_INVALID]');
    } finally {
      dir.remove();
    }
  });

  it('refuses credentials in the API base URL without echoing them, and a scheme other than http or https', async () => {
    const withCredentials = await runInProcess(['collect', '--once'], {
      env: { ...setup.env, CLOUDFLARE_API_BASE_URL: 'http://someone:pa55word@127.0.0.1:19101/client/v4' },
    });
    expect(withCredentials.code).toBe(2);
    expect(withCredentials.stderr).toContain(
      'error[CONFIG_INVALID]: The configuration is invalid:\n  - cloudflare.api_base_url: a user name or password in the URL',
    );
    expect(withCredentials.stderr).not.toContain('pa55word');
    expect(withCredentials.stderr).not.toContain('someone');
    const ftp = await runInProcess(['source', 'list'], { env: { ...setup.env, CLOUDFLARE_API_BASE_URL: 'ftp://x/y' } });
    expect(ftp.code).toBe(2);
    expect(ftp.stderr).toContain('- cloudflare.api_base_url: only http:// and https:// URLs are accepted, not ftp://');
  });

  it('refuses a query string or fragment in the API base URL, instead of blaming the Account ID', async () => {
    const before = await sourcesBefore();
    for (const [suffix, problem] of [
      ['?x=1', 'a query string (from "?" on) is not allowed'],
      ['#x', 'a fragment (from "#" on) is not allowed'],
    ] as const) {
      const result = await add(['--account-id', setup.simulator.accountId, '--token-env', 'CF_TOKEN'], {
        CLOUDFLARE_API_BASE_URL: `${setup.simulator.baseUrl}${suffix}`,
      });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(
        `error[CONFIG_INVALID]: The configuration is invalid:\n  - cloudflare.api_base_url: ${problem}`,
      );
      expect(result.stderr).not.toContain('SOURCE_ACCOUNT_NOT_FOUND');
    }
    expect(await sourcesBefore()).toEqual(before);
  });

  it('refuses a rate share too small for one request per window, from the flag-free paths too', async () => {
    const result = await runInProcess(['collect', '--once'], {
      env: { ...setup.env, ZEROTRAIL_CF_RATE_SHARE: '1e-9', ZEROTRAIL_CF_RATE_LIMIT: '1200/300' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('- cloudflare.rate_share: 1e-9 of 1200 requests per 300 seconds');
    expect(result.stderr).toContain('the smallest share that works with this limit is 0.00084');
  });

  it('refuses to add a source with a rate share too small for the limit, naming the flag', async () => {
    const before = await sourcesBefore();
    const result = await add(
      ['--account-id', setup.simulator.accountId, '--token-env', 'CF_TOKEN', '--no-verify', '--rate-share', '1e-9'],
      { ZEROTRAIL_CF_RATE_LIMIT: '1200/300' },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error[CLI_USAGE]: --rate-share: 1e-9 of 1200 requests per 300 seconds');
    expect(result.stderr).toContain('the smallest share that works with this limit is 0.00084');
    expect(await sourcesBefore()).toEqual(before);
  });

  it("fails each dataset of a source whose stored rate share is too small for today's limit, naming it", async () => {
    const added = await add([
      '--account-id',
      setup.simulator.accountId,
      '--token-env',
      'CF_TOKEN',
      '--no-verify',
      '--rate-share',
      '0.000002',
    ]);
    expect(added.code, added.stderr).toBe(0);
    try {
      const result = await runInProcess(['collect', '--once', '--source', 'Another'], {
        env: { ...setup.env, ZEROTRAIL_CF_RATE_LIMIT: '1200/300' },
      });
      // The other sources would go on collecting (test/e2e/rate-share-too-small.test.ts); this one's datasets fail.
      expect(result.code).toBe(1);
      // Every dataset fails with the same refusal: one line names them all.
      expect(result.stderr).toMatch(
        /^error\[COLLECT_FAILED\]: Another: access_requests, (\w+, )+\w+: error\[CONFIG_INVALID\] Rate share 0\.000002 gives 0\.0024 of 1200 requests per 300 seconds/m,
      );
      expect(result.stderr).toContain('the smallest share that works with this limit is 0.00084');
    } finally {
      expect((await runInProcess(['source', 'remove', 'Another'], { env: setup.env })).code).toBe(0);
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

  it("refuses another application's SQLite file under zerotrail's name, for reads and writes, and changes nothing", async () => {
    const dir = makeTempDir('foreign-db');
    try {
      const data = join(dir.path, 'data');
      mkdirSync(data);
      const db = join(data, 'zerotrail.db');
      const foreign = new Database(db);
      foreign.exec('CREATE TABLE events (x); CREATE TABLE invoices (n); INSERT INTO invoices VALUES (1)');
      foreign.close();
      const digest = (): string => createHash('sha256').update(readFileSync(db)).digest('hex');
      const before = digest();
      for (const args of [['search'], ['source', 'list'], [...ADD_UNVERIFIED]]) {
        const result = await runInProcess(args, {
          env: { ZEROTRAIL_DATA_DIR: data, CF_TOKEN: 'zt-test-token-0000000000000000000000001' },
        });
        expect(result.code, result.stderr).toBe(5);
        expect(result.stderr).toContain(
          'error[STORE_MIGRATION_FAILED]: ' +
            `${db} is another application's SQLite database: it holds tables zerotrail did not make (events, invoices) and none of its own. Nothing in it was changed.`,
        );
        expect(digest()).toBe(before);
        expect(readdirSync(data)).toEqual(['zerotrail.db']);
      }
      // A schema_migrations of another tool (Rails keeps only a text version) is not zerotrail's either.
      const rails = new Database(db);
      rails.exec('CREATE TABLE schema_migrations (version TEXT PRIMARY KEY)');
      rails.close();
      const railsResult = await runInProcess(['search'], { env: { ZEROTRAIL_DATA_DIR: data } });
      expect(railsResult.code).toBe(5);
      expect(railsResult.stderr).toContain('holds a schema_migrations table whose columns (version) are not the ones');
    } finally {
      dir.remove();
    }
  });

  it('refuses an empty database file instead of writing a new installation over it', async () => {
    const dir = makeTempDir('empty-db');
    try {
      mkdirSync(join(dir.path, 'data'));
      const db = join(dir.path, 'data', 'zerotrail.db');
      writeFileSync(db, '');
      // Cut short a while ago, not a file another process is creating at this moment.
      const longAgo = new Date(Date.now() - 60_000);
      utimesSync(db, longAgo, longAgo);
      for (const args of [['search'], ['source', 'list'], [...ADD_UNVERIFIED]]) {
        const result = await runInProcess(args, {
          env: { ZEROTRAIL_DATA_DIR: join(dir.path, 'data'), CF_TOKEN: 'zt-test-token-0000000000000000000000001' },
        });
        expect(result.code, result.stderr).toBe(5);
        expect(result.stderr).toContain('error[STORE_CORRUPT]');
        expect(result.stderr).toContain('zerotrail.db is empty (0 bytes)');
        expect(statSync(db).size).toBe(0);
        expect(readdirSync(join(dir.path, 'data'))).toEqual(['zerotrail.db']);
      }
    } finally {
      dir.remove();
    }
  });
});

/** Runs the built binary in `cwd`, killing it after `deadlineMs` so a hang fails the test instead of stalling it. */
async function runWithDeadline(
  args: readonly string[],
  env: Record<string, string>,
  deadlineMs: number,
  cwd?: string,
): Promise<CliResult> {
  const child = spawn(BIN, args, {
    ...(cwd === undefined ? {} : { cwd }),
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  const code = await new Promise<number>((resolve) => child.on('close', (exitCode) => resolve(exitCode ?? -1)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
