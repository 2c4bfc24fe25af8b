import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseChildOptions } from './child.js';

describe('parseChildOptions', () => {
  it('reads the options the benchmark passes', () => {
    const options = parseChildOptions(
      JSON.stringify({
        seed: 3,
        traffic: { kind: 'fixed', fromMs: 0, toMs: 1000, count: 10 },
        faults: { bursts: [{ atMs: 5, count: 2 }] },
      }),
    );
    expect(options).toEqual({
      seed: 3,
      traffic: { kind: 'fixed', fromMs: 0, toMs: 1000, count: 10 },
      faults: { bursts: [{ atMs: 5, count: 2 }] },
    });
    expect(parseChildOptions(undefined)).toEqual({});
  });

  it('reads route-targeted faults, admin traffic and named tokens with write permissions', () => {
    const raw = {
      inventoryChanges: false,
      adminTraffic: { historyDays: 2, scimUpdatesPerDay: 500, auditEntriesPerDay: 0 },
      tokens: [{ value: 'childToken', name: 'ci', permissions: ['Access: Apps and Policies Write'] }],
      faults: { rateLimit: { routes: ['audit-logs-v2'], everyNth: 2 } },
    };
    expect(parseChildOptions(JSON.stringify(raw))).toEqual(raw);
    expect(() => parseChildOptions(JSON.stringify({ adminTraffic: { scimUpdatesPerDay: -1 } }))).toThrow(
      /adminTraffic\.scimUpdatesPerDay/,
    );
  });

  it('lists every problem', () => {
    expect(() => parseChildOptions(JSON.stringify({ port: -1, traffic: { kind: 'weekly' }, clock: 1 }))).toThrow(
      /port.*traffic|traffic.*port/s,
    );
  });
});

// The benchmark runs the compiled script; `npm test` builds dist/ first, a bare vitest run may not have it.
const CHILD_SCRIPT = fileURLToPath(new URL('../../dist/simulator/child.js', import.meta.url));

describe.skipIf(!existsSync(CHILD_SCRIPT))('child process', () => {
  it('prints where it listens, serves, and exits on SIGTERM', async () => {
    const child = spawn(process.execPath, [CHILD_SCRIPT], {
      env: {
        ...process.env,
        ZEROTRAIL_SIMULATOR_OPTIONS: JSON.stringify({
          seed: 5,
          traffic: { kind: 'fixed', fromMs: 0, toMs: 60_000, count: 40 },
        }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve) =>
        createInterface({ input: child.stdout }).once('line', resolve),
      );
      const info = JSON.parse(line) as { baseUrl: string; token: string; accountId: string };
      expect(info.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/client\/v4$/);
      const res = await fetch(`${info.baseUrl}/accounts/${info.accountId}/access/logs/access_requests?limit=100`, {
        headers: { authorization: `Bearer ${info.token}` },
      });
      expect(((await res.json()) as { result: unknown[] }).result).toHaveLength(40);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
