import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { BIN, REPO_ROOT, runInProcess, spawnCli } from '../helpers/cli.js';
import { setUpCollector } from '../helpers/collector-env.js';
import { deniedAccess } from '../helpers/events.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait.js';

describe('the zerotrail executable', () => {
  it('starts Node.js with the memory and thread settings the collector is measured with', async () => {
    const child = spawnCli(['simulate', '--port', '0'], {});
    try {
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      await waitFor('the simulator to listen', () => stdout.includes('listening at') || child.exitCode !== null, {
        timeoutMs: 20_000,
      });
      expect(stdout).toContain('listening at');
      // The interpreter line's env replaces itself with node, so the spawned pid is the Node.js process.
      const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
      expect(argv).toContain('--max-semi-space-size=2');
      expect(argv).toContain('--v8-pool-size=1');
      expect(argv.some((arg) => arg.endsWith('/bin/zerotrail.js'))).toBe(true);
      const environment = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
      expect(environment).toContain('MALLOC_ARENA_MAX=2');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('ends quietly, with the status of a closed pipe, when the reader of its output stops reading', async () => {
    const dataDir = await dataDirHolding(5_000);
    try {
      for (const format of ['ndjson', 'csv', 'json']) {
        const child = spawnCli(['search', '--from', '-2h', '--limit', '5000', '--format', format], {
          ZEROTRAIL_DATA_DIR: dataDir.path,
        });
        let stderr = '';
        child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        // As `head -c` does: read the first chunk, then close the pipe while the command still writes.
        child.stdout?.once('data', () => child.stdout?.destroy());
        const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
        expect({ format, code, stderr }).toEqual({ format, code: 141, stderr: '' });
      }
    } finally {
      dataDir.remove();
    }
  });

  it('ends a table cut off by a closed pipe with the same status, though the table is written at once', async () => {
    const dataDir = await dataDirHolding(5_000);
    try {
      const child = spawnCli(['search', '--limit', '100000'], { ZEROTRAIL_DATA_DIR: dataDir.path });
      const { code, firstLine, stderr } = await readFirstLineThenClose(child);
      expect(firstLine).toMatch(/^TIME +DATASET/);
      // The count line would claim a table the reader never got.
      expect({ code, stderr }).toEqual({ code: 141, stderr: '' });
    } finally {
      dataDir.remove();
    }
  });

  it('ends with the status of a closed pipe when the pipe closes under the last thing a command writes', async () => {
    const collector = await setUpCollector({}, 'unverified');
    try {
      const collected = await runInProcess(['collect', '--once', '--backfill-days', '0'], { env: collector.env });
      expect(collected.code, collected.stderr).toBe(0);
      // The simulator's devices make a JSON document of about 200 kB, written at once as the command ends: more
      // than a pipe holds, so most of it is still queued when the command is done.
      const whole = await runInProcess(['inventory', 'devices', '--format', 'json'], { env: collector.env });
      expect(whole.stdout.length, whole.stderr).toBeGreaterThan(150_000);
      // Through a shell's pipe, as a user runs it: the socket pair a spawned child's stdout is can hold all of it.
      const piped = spawnSync('bash', ['-c', 'set -o pipefail; "$0" inventory devices --format json | head -1', BIN], {
        cwd: REPO_ROOT,
        env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...collector.env },
        encoding: 'utf8',
      });
      expect(piped.stdout).toBe('[\n');
      expect({ code: piped.status, stderr: piped.stderr }).toEqual({ code: 141, stderr: '' });
    } finally {
      await collector.cleanup();
    }
  });
});

/** As `head -1` does: reads up to the first line break, closes the pipe, and waits for the command to end. */
async function readFirstLineThenClose(
  child: ChildProcess,
): Promise<{ readonly code: number | null; readonly firstLine: string; readonly stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const onData = (chunk: Buffer): void => {
    stdout += chunk.toString('utf8');
    if (!stdout.includes('\n')) return;
    child.stdout?.off('data', onData);
    child.stdout?.destroy();
  };
  child.stdout?.on('data', onData);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
  return { code, firstLine: stdout.slice(0, stdout.indexOf('\n')), stderr };
}

/** A data directory whose store holds `count` denied logins of the last hour, a millisecond apart. */
async function dataDirHolding(count: number): Promise<ReturnType<typeof makeTempDir>> {
  const dataDir = makeTempDir('closed-pipe');
  const store = await SqliteStore.open({ path: join(dataDir.path, 'zerotrail.db') });
  await store.migrate();
  const start = Date.now() - 3_600_000;
  await store.append(
    Array.from({ length: count }, (_, n) => deniedAccess({ time: start + n }, n)),
    { id: 'c', value: {} },
  );
  await store.close();
  return dataDir;
}
