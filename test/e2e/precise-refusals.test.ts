import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { ADD_UNVERIFIED, BIN, REPO_ROOT, runInProcess, type CliResult } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// Permissions do not hold root back, so as root the binary runs as nobody; any other user is refused its own
// directory once it takes the permission away.
const AS_ROOT = process.getuid?.() === 0;
const NOBODY = 65_534;

/**
 * The built binary as a process, killed after `deadlineMs`: a command that spins forever (as a negative rate share
 * once did) fails the test instead of hanging the worker.
 */
async function runBinary(
  args: readonly string[],
  env: Record<string, string>,
  options: { readonly deadlineMs?: number; readonly asNobody?: boolean } = {},
): Promise<CliResult> {
  const child = spawn(BIN, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.asNobody === true ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.deadlineMs ?? 20_000);
  const code = await new Promise<number>((resolve) => child.on('close', (exitCode) => resolve(exitCode ?? -1)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe('a data directory closed to this user is named as the problem, not a config file in it', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let dataDir: string;
  beforeEach(() => {
    dir = makeTempDir('denied');
    // The parent stays open to everyone, so the data directory is the one thing in the way.
    chmodSync(dir.path, 0o755);
    dataDir = join(dir.path, 'd');
    mkdirSync(dataDir, { mode: 0o700 });
    writeFileSync(join(dataDir, 'notes.txt'), 'kept\n');
  });
  afterEach(() => {
    chmodSync(dataDir, 0o700);
    dir.remove();
  });

  /** Runs the binary on `dataDir` as a user it is closed to, with `mode` on the directory meanwhile. */
  const runDenied = async (args: readonly string[], mode: number): Promise<CliResult> => {
    chmodSync(dataDir, AS_ROOT ? mode : mode & 0o077);
    try {
      return await runBinary(['--data-dir', dataDir, ...args], { HOME: dir.path }, { asNobody: AS_ROOT });
    } finally {
      chmodSync(dataDir, 0o700);
    }
  };

  it.each([
    [['source', 'list']],
    [['source', 'list', '--format', 'json']],
    [['search', 'user:alice@example.com']],
    [['rules', 'list']],
  ])('refuses %j with CONFIG_DATA_DIR_UNUSABLE and leaves the directory as it was', async (args) => {
    const result = await runDenied(args, 0o700);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toBe(
      `error[CONFIG_DATA_DIR_UNUSABLE]: The data directory ${dataDir} cannot be used: this user may not read and ` +
        'write in it, and every command needs both, searches included, since SQLite keeps its journal files ' +
        '(zerotrail.db-wal, zerotrail.db-shm) beside the database.\n' +
        'hint: Choose another one with --data-dir or ZEROTRAIL_DATA_DIR, or give this user read and write access to it.\n',
    );
    expect(result.stdout).toBe('');
    expect(readdirSync(dataDir)).toEqual(['notes.txt']);
  });

  it('says that a directory open for reading still needs writing, even to search', async () => {
    const added = await runInProcess(['--data-dir', dataDir, ...ADD_UNVERIFIED], {
      env: { CF_TOKEN: 'zt-test-token-0000000000000000000000001' },
    });
    expect(added.code, added.stderr).toBe(0);
    const before = readdirSync(dataDir).sort();
    const result = await runDenied(['search', 'user:alice@example.com'], 0o755);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('cannot be used: this user may not write in it, and every command needs both');
    expect(readdirSync(dataDir).sort()).toEqual(before);
  });

  it('still blames a config file that is there but closed to this user, naming it', async () => {
    const configFile = join(dataDir, 'config.yaml');
    writeFileSync(configFile, 'log:\n  level: warn\n', { mode: 0o600 });
    if (!AS_ROOT) chmodSync(configFile, 0o000);
    // Open to look files up in (x), but the file itself is not readable.
    const result = await runDenied(['source', 'list'], 0o711);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(
        `^error\\[CONFIG_INVALID\\]: Cannot read the config file ${configFile}: this user lacks the permission`,
      ),
    );
    expect(readdirSync(dataDir).sort()).toEqual(['config.yaml', 'notes.txt']);
  });
});

describe('an empty period is refused when --to is left to its default of now', () => {
  const now = Date.UTC(2026, 10, 25, 12);
  let dir: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    dir = makeTempDir('period');
  });
  afterEach(() => dir.remove());

  it.each([
    ['+1d', '2026-11-26T12:00:00.000Z'],
    ['now', '2026-11-25T12:00:00.000Z'],
    ['2026-11-25T13:00:00+01:00', '2026-11-25T12:00:00.000Z'],
  ])('refuses search --from %s without --to, with exit 2, before touching the data directory', async (from, iso) => {
    const dataDir = join(dir.path, 'data');
    const result = await runInProcess(['--data-dir', dataDir, 'search', '', '--from', from], {
      clock: new ManualClock(now),
    });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toBe(
      `error[TIME_INVALID]: The period is empty: --from (${iso}) is not before now (2026-11-25T12:00:00.000Z), where it ends when --to is not given.\n` +
        'hint: Give --from a time before now, or give --to a later end; the end is not included.\n',
    );
    expect(result.stdout).toBe('');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('searches a start in the future when an end after it is given', async () => {
    const result = await runInProcess(
      ['--data-dir', join(dir.path, 'data'), 'search', '', '--from', '+1d', '--to', '+2d'],
      {
        clock: new ManualClock(now),
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('No events match.\n');
  });
});

describe('a rate limit or share that does not parse is its only problem', () => {
  let dir: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    dir = makeTempDir('rate');
  });
  afterEach(() => dir.remove());

  const ENV_HINT = 'hint: Fix the flags or ZEROTRAIL_* environment variables named above.\n';

  it.each([
    [{ ZEROTRAIL_CF_RATE_LIMIT: 'abc' }, 'cloudflare.rate_limit: expected REQUESTS/SECONDS, for example 1200/300'],
    [{ ZEROTRAIL_CF_RATE_LIMIT: '0/300' }, 'cloudflare.rate_limit: both numbers must be greater than 0'],
    [{ ZEROTRAIL_CF_RATE_SHARE: '0' }, 'cloudflare.rate_share: Too small: expected number to be >0'],
    // Once spun forever at full CPU, looking for a limit with which a negative share gives one request.
    [{ ZEROTRAIL_CF_RATE_SHARE: '-1' }, 'cloudflare.rate_share: Too small: expected number to be >0'],
  ])('refuses %j with that one problem, and makes no data directory', async (env, problem) => {
    const dataDir = join(dir.path, 'data');
    const result = await runBinary(['--data-dir', dataDir, 'source', 'list'], { HOME: dir.path, ...env });
    expect(result.code, result.stderr).toBe(2);
    const variable = Object.keys(env)[0] ?? '';
    expect(result.stderr).toBe(
      `error[CONFIG_INVALID]: The configuration is invalid:\n  - ${problem} (set by ${variable})\n${ENV_HINT}`,
    );
    expect(existsSync(dataDir)).toBe(false);
  });

  it('refuses rate_limit: 0/300 in a config file with that one problem', async () => {
    const configFile = join(dir.path, 'zerotrail.yaml');
    writeFileSync(configFile, 'cloudflare:\n  rate_limit: 0/300\n');
    const dataDir = join(dir.path, 'data');
    const result = await runBinary(['--data-dir', dataDir, '--config', configFile, 'source', 'list'], {
      HOME: dir.path,
    });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toBe(
      'error[CONFIG_INVALID]: The configuration is invalid:\n' +
        '  - cloudflare.rate_limit: both numbers must be greater than 0\n' +
        `hint: Fix ${configFile} or the ZEROTRAIL_* environment variables named above.\n`,
    );
    expect(existsSync(dataDir)).toBe(false);
  });
});
