import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { spawnCli } from '../helpers/cli.js';
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
    const dataDir = makeTempDir('closed-pipe');
    try {
      const store = await SqliteStore.open({ path: join(dataDir.path, 'zerotrail.db') });
      await store.migrate();
      const start = Date.now() - 3_600_000;
      await store.append(
        Array.from({ length: 5_000 }, (_, n) => deniedAccess({ time: start + n }, n)),
        { id: 'c', value: {} },
      );
      await store.close();
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
});
