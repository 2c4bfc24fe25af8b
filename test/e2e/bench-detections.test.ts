import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

const run = promisify(execFile);

// zt-unusual-idp needs 50 successful logins of the user's history, more than a small organisation's month gives.
const NEEDS_MORE_TRAFFIC = new Set(['zt-unusual-idp']);

describe('bench/detections.js', () => {
  it('collects on the simulated clock, so a small organisation shows its attacks detected', async () => {
    // Runs the compiled CLI from dist/, as the bench does; `npm test` builds it first.
    const { stdout } = await run(
      process.execPath,
      [join(REPO_ROOT, 'bench', 'detections.js'), '--per-kind', '1', '--events-per-day', '300'],
      { cwd: REPO_ROOT, timeout: 120_000 },
    );
    // A rule's row: id, shipped, injected, then "detected/injected (percent)".
    const rows = [...stdout.matchAll(/^(zt-[a-z-]+)\s+yes\s+(\d+)\s+(\d+)\/(\d+)/gm)].map((match) => ({
      ruleId: match[1] ?? '',
      injected: Number(match[2]),
      detected: Number(match[3]),
    }));
    expect(rows.length, stdout).toBeGreaterThanOrEqual(10);
    const missed = rows.filter((row) => !NEEDS_MORE_TRAFFIC.has(row.ruleId) && row.detected < row.injected);
    expect(missed, stdout).toEqual([]);
  }, 150_000);
});
