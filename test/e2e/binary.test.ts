import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/cli.js';
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
});
