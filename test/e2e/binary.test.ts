import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/cli.js';

describe('the zerotrail executable', () => {
  it('starts Node.js with the memory settings the collector is measured with', async () => {
    const child = spawnCli(['simulate', '--port', '0'], {});
    try {
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      while (!stdout.includes('listening at')) {
        const exited = once(child, 'exit').then(() => 'exited' as const);
        if ((await Promise.race([once(child.stdout!, 'data'), exited])) === 'exited') break;
      }
      expect(stdout).toContain('listening at');
      // The interpreter line's env replaces itself with node, so the spawned pid is the Node.js process.
      const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
      expect(argv).toContain('--max-semi-space-size=2');
      expect(argv.some((arg) => arg.endsWith('/bin/zerotrail.js'))).toBe(true);
      const environment = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
      expect(environment).toContain('MALLOC_ARENA_MAX=2');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
