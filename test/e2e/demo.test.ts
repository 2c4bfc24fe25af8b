import { afterAll, describe, expect, it } from 'vitest';
import { runInProcess, spawnCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

describe('npm run demo', () => {
  const dir = makeTempDir('demo');
  afterAll(() => dir.remove());

  it('backfills a week from the simulator, prints a summary and next steps, follows live, and stops cleanly on Ctrl-C', async () => {
    const child = spawnCli(['demo'], { ZEROTRAIL_DATA_DIR: dir.path, ZEROTRAIL_COLLECT__INTERVAL_SECS: '1' });
    child.stdin?.end();
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not reach live mode:\n${stdout}\n${stderr}`)), 90_000);
      const check = setInterval(() => {
        if (stdout.includes('Following live events')) {
          clearInterval(check);
          clearTimeout(timer);
          resolve();
        }
      }, 100);
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(0);

    expect(stdout).toMatch(/Stored \d+ Access authentication events \(a 7-day backfill\)/);
    expect(stdout).toMatch(/OUTCOME\s+EVENTS/);
    expect(stdout).toContain('success');
    expect(stdout).toContain('failure');
    expect(stdout).toContain('Next commands to try');
    expect(stdout).toContain('Demo stopped');
    expect(stderr).toContain('Backfilling 7 days');

    const stored = Number(/Stored (\d+) Access/.exec(stdout)?.[1]);
    expect(stored).toBeGreaterThan(5000);
    const failures = await runInProcess(['search', 'outcome:failure', '--format', 'json', '--limit', '5'], {
      env: { ZEROTRAIL_DATA_DIR: dir.path },
    });
    expect(failures.code, failures.stderr).toBe(0);
    const events = JSON.parse(failures.stdout) as { outcome: string }[];
    expect(events.length).toBe(5);
    for (const event of events) expect(event.outcome).toBe('failure');
  }, 120_000);
});
