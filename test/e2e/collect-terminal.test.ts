import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT, runBinary, spawnCli, type CliResult } from '../helpers/cli.js';
import {
  addTestSource,
  leaseHolder,
  setUpCollector,
  TEST_SOURCE,
  type CollectorEnv,
} from '../helpers/collector-env.js';
import { terminalScreen } from '../helpers/terminal-screen.js';
import { waitFor } from '../helpers/wait.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const COLUMNS = 100;
const ROWS = 50;

/** Runs the binary on a terminal of COLUMNS × ROWS (a pseudo-terminal from util-linux `script`). */
async function runOnTerminal(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  const quoted = [BIN, ...args].map((word) => `'${word.replaceAll("'", `'\\''`)}'`);
  const command = `stty cols ${COLUMNS} rows ${ROWS}; ${quoted.join(' ')}`;
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], TERM: 'xterm', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  const code = await new Promise<number>((resolve) => child.on('close', (exitCode) => resolve(exitCode ?? -1)));
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: '' };
}

const BAR_ROW = new RegExp(`^ ${TEST_SOURCE}/\\w+ +\\[[█░]*\\] \\d+% \\| \\d+ events`);

describe('collect on a terminal', () => {
  let setup: CollectorEnv;

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector({
      seed: 21,
      traffic: { kind: 'fixed', fromMs: now - 9 * DAY_MS, toMs: now - HOUR_MS, count: 6_000 },
      // Small, slow pages keep the bars up while the notices come.
      faults: { slow: { delayMs: 15 } },
    });
  });
  afterAll(async () => setup.cleanup());

  it('shows every notice whole above the bars and leaves no fragment of a bar beside one', async () => {
    const result = await runOnTerminal(['collect', '--once', '--backfill-days', '10'], {
      ...setup.env,
      ZEROTRAIL_CLOUDFLARE__PAGE_SIZE: '200',
    });
    const screen = terminalScreen(result.stdout, COLUMNS, ROWS);
    const shown = screen.join('\n');
    expect(result.code, shown).toBe(0);
    // Longer than the terminal is wide: the terminal wraps it instead of cutting it off.
    expect(screen, shown).toContain(
      `Backfilling 10 days for ${TEST_SOURCE}/access_requests, ${TEST_SOURCE}/scim_updates, ${TEST_SOURCE}/audit_logs. ` +
        'Cloudflare keeps Access logs 24 hours (Free) to 180 days (Enterprise) depending on the plan, audit logs 18 ' +
        'months; older events are not available.',
    );
    const refusals = screen.filter((line) => line.includes(': not collected (optional;'));
    expect(refusals.length, shown).toBe(4);
    for (const line of refusals) expect(line, shown).toMatch(/the token needs [^.]+ for account [0-9a-f]{32}\.$/);
    const snapshots = screen.filter((line) => line.includes(': inventory snapshot of '));
    expect(snapshots.length, shown).toBeGreaterThanOrEqual(5);
    for (const line of snapshots) {
      expect(line, shown).toMatch(/^Test Zero Trust\/\w+: inventory snapshot of \d+ entit(y|ies), \d+ changes?$/);
    }
    // What is left of a bar is a whole bar (cut at the terminal's width), on a row of its own.
    for (const line of screen.filter((text) => text.includes('events | up to') || text.includes('% |'))) {
      expect(line, shown).toMatch(BAR_ROW);
      expect(line.length, shown).toBeLessThanOrEqual(COLUMNS);
    }
    expect(shown).toMatch(/^Stored \d+ new events \(0 already stored\) from 11 datasets\.$/m);
  }, 120_000);
});

describe('collect reports a failed dataset once', () => {
  let setup: CollectorEnv;
  const REVOKED = 'zt-sim-revoked-token-000000000000000000021';

  beforeAll(async () => {
    setup = await setUpCollector({ seed: 22, tokens: [{ value: REVOKED, status: 'disabled' }] }, false);
    await addTestSource(setup, REVOKED, ['--no-verify']);
  });
  afterAll(async () => setup.cleanup());

  // No level asked for: the environment's ZEROTRAIL_LOG_LEVEL, which the other tests set, counts as unset empty.
  const env = (): Record<string, string> => ({ ...setup.env, ZEROTRAIL_LOG_LEVEL: '' });
  const humanLine = `${TEST_SOURCE}: access_requests, access_users`;

  it('on a terminal, as its line alone at the default log level', async () => {
    const result = await runOnTerminal(['collect', '--once'], env());
    const shown = terminalScreen(result.stdout, COLUMNS, ROWS).join('\n');
    expect(result.code, shown).toBe(1);
    expect(shown).toContain(humanLine);
    expect(shown).toMatch(/failed: error\[SOURCE_AUTH_FAILED\]/);
    expect(shown).not.toContain('Dataset collection stopped');
    expect(shown).not.toContain('"level":');
  }, 60_000);

  it('on a terminal, with the log record too when a log level is asked for', async () => {
    for (const args of [
      ['--log-level', 'warn', 'collect', '--once'],
      ['collect', '--once', '--debug'],
    ]) {
      const result = await runOnTerminal(args, env());
      const shown = terminalScreen(result.stdout, COLUMNS, ROWS).join('\n');
      expect(shown).toContain(humanLine);
      expect(shown.match(/"level":50,[^\n]*"msg":"Dataset collection stopped"/g)?.length, shown).toBe(11);
    }
  }, 60_000);

  it('into a file or the journal, with the log record for whatever reads it', async () => {
    const result = await runBinary(['collect', '--once'], env());
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(humanLine);
    expect(result.stderr.match(/"level":50,[^\n]*"msg":"Dataset collection stopped"/g)?.length, result.stderr).toBe(11);
  }, 60_000);
});

describe('collect --once stopped part way', () => {
  let setup: CollectorEnv;

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector({
      seed: 23,
      traffic: { kind: 'fixed', fromMs: now - 2 * DAY_MS, toMs: now - HOUR_MS, count: 500 },
    });
    // The first run learns which optional datasets the token may not read.
    const first = await runBinary(['collect', '--once'], setup.env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('Not collected (optional, the token lacks the permission)');
  });
  afterAll(async () => setup.cleanup());

  it('does not count the optional datasets the token may not read among those not finished', async () => {
    // Two requests a second: the datasets queue for the rate budget and the stop catches most of them waiting.
    const child = spawnCli(['collect', '--once'], {
      ...setup.env,
      ZEROTRAIL_CF_RATE_LIMIT: '2/1',
      ZEROTRAIL_LOG_LEVEL: 'silent',
    });
    child.stdin?.end();
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Stopped once it collects, whatever the machine's load made of its start.
    await waitFor(
      'the run to claim the Access logs lease',
      () => leaseHolder(setup.dataDir, `${TEST_SOURCE}/access_requests`) !== null,
      { timeoutMs: 30_000, pollMs: 20 },
    );
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    const stopped = /^error\[COLLECT_STOPPED\]: Stopped before every source caught up \(not finished: ([^)]*)\)/m.exec(
      stderr,
    );
    expect(stopped?.[1], stderr).toBeDefined();
    const unfinished = (stopped?.[1] ?? '').split(', ');
    for (const dataset of ['apps', 'policies', 'scim_updates', 'audit_logs']) {
      expect(unfinished, stderr).not.toContain(`${TEST_SOURCE}/${dataset}`);
    }
    expect(unfinished.length, stderr).toBeGreaterThan(0);
    expect(stderr).toMatch(
      /^Not collected \(optional, the token lacks the permission\): [^\n]*Test Zero Trust\/apps, Test Zero Trust\/policies/m,
    );
  }, 60_000);
});

describe('collect --once beside a collector that holds the datasets', () => {
  let setup: CollectorEnv;
  const followers: ReturnType<typeof spawnCli>[] = [];
  const jobId = `${TEST_SOURCE}/access_requests`;

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector({
      seed: 24,
      traffic: { kind: 'fixed', fromMs: now - 2 * DAY_MS, toMs: now - HOUR_MS, count: 200 },
    });
  });
  afterEach(() => {
    for (const follower of followers.splice(0)) follower.kill('SIGKILL');
  });
  afterAll(async () => setup.cleanup());

  it('says at once which datasets it waits for, and how long, then how it ended', async () => {
    const env = { ...setup.env, ZEROTRAIL_COLLECT__LEASE_TTL_SECS: '6' };
    const follower = spawnCli(['collect'], env);
    follower.stdin?.end();
    followers.push(follower);
    await waitFor('the follower to claim the Access logs lease', () => leaseHolder(setup.dataDir, jobId) !== null, {
      timeoutMs: 30_000,
    });

    const started = Date.now();
    const beside = spawnCli(['collect', '--once'], env);
    beside.stdin?.end();
    let stderr = '';
    beside.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => beside.on('exit', (code) => resolve(code)));
    await waitFor('the notice', () => stderr.includes('Waiting for datasets'), { timeoutMs: 15_000 });
    // Said before the wait, not after it: the run still waits for the leases.
    expect(beside.exitCode, stderr).toBeNull();
    expect(stderr).toMatch(
      new RegExp(
        `^Waiting for datasets another zerotrail collector holds \\(${TEST_SOURCE}: access_requests, access_users, ` +
          "[^)]*\\): this run waits up to 10 s for each one's lease to be given back and collects it then, or " +
          'leaves it to that collector\\. Collectors running on this store: \\S+-\\d+-[0-9a-f]{8} ',
        'm',
      ),
    );
    expect(await exited, stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThan(6_000);
    expect(stderr).toContain(
      `Collected by another running zerotrail node, which holds and renews their leases: ${jobId}`,
    );
  }, 90_000);
});
