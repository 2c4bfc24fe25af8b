import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { NEW_USER } from '../../src/simulator/simulator.js';
import { runInProcess, spawnCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const MINUTE_MS = 60_000;
// A fixed start makes the simulated week, and so the summary, the same on every run.
const START_MS = Date.parse('2026-06-01T09:00:00Z');
const INVENTORY_LABELS = ['users', 'identity providers', 'groups', 'Gateway rules', 'devices', 'apps', 'policies'];

interface RunningCli {
  readonly output: () => { readonly stdout: string; readonly stderr: string };
  readonly exited: Promise<number>;
}

/** The CLI in this process with output readable while it runs, which the shared helper gives only at the end. */
function startInProcess(
  args: readonly string[],
  env: Record<string, string>,
  clock: ManualClock,
  signal: AbortSignal,
): RunningCli {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = runCli(args, { stdin: Readable.from([]), stdout, stderr, env, signal }, { clock });
  return { output: () => ({ stdout: out, stderr: err }), exited };
}

async function waitFor(what: string, read: () => string, done: (text: string) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!done(read())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The demo serves the UI and prints a one-time link: it signs the demo's admin in once, with a session that
 * reaches admin routes, and is refused the second time.
 */
async function checkLoginLink(out: string): Promise<void> {
  const serving = /zerotrail is serving the API on (http:\/\/127\.0\.0\.1:\d+)\/api/.exec(out)?.[1];
  const link = /^ {2}(http:\/\/127\.0\.0\.1:\d+\/api\/login\/link\?token=\S+)$/m.exec(out)?.[1];
  expect(serving, out).toBeDefined();
  expect(link, out).toBeDefined();
  expect(link?.startsWith(`${serving ?? ''}/`)).toBe(true);
  expect(out).toMatch(/One-time login link \(signs in as the admin "demo-admin"; works once, within 15 minutes\):/);

  const first = await fetch(link ?? '', { redirect: 'manual' });
  expect(first.status).toBe(303);
  expect(first.headers.get('location')).toBe('/');
  const cookie = first.headers.get('set-cookie') ?? '';
  expect(cookie).toMatch(/^zt_session=[^;]+;.*HttpOnly/i);
  expect(cookie).toMatch(/SameSite=Strict/i);
  const session = cookie.split(';')[0] ?? '';
  const me = await fetch(`${serving ?? ''}/api/me`, { headers: { cookie: session } });
  expect(me.status).toBe(200);
  const signedIn = (await me.json()) as { user: unknown; csrfToken: string };
  expect(signedIn.user).toEqual({ name: 'demo-admin', role: 'admin' });
  const sources = await fetch(`${serving ?? ''}/api/sources`, { headers: { cookie: session } });
  expect(sources.status).toBe(200);
  // A source tested from the UI meets the demo's simulator, which refuses a token it never issued, rather than
  // the real Cloudflare API.
  const tested = await fetch(`${serving ?? ''}/api/sources/test`, {
    method: 'POST',
    headers: { cookie: session, 'x-csrf-token': signedIn.csrfToken, 'content-type': 'application/json' },
    body: JSON.stringify({ apiToken: 'not-a-token-the-simulator-issued-000000', accountId: 'f'.repeat(32) }),
  });
  const testedBody = (await tested.json()) as { error: { code: string; message: string } };
  expect(tested.status, JSON.stringify(testedBody)).toBe(422);
  expect(testedBody.error.message).toContain('Cloudflare rejected the API token');

  const second = await fetch(link ?? '', { redirect: 'manual' });
  expect(second.status).toBe(401);
  expect(second.headers.get('set-cookie')).toBeNull();
  expect(((await second.json()) as { error: { code: string } }).error.code).toBe('AUTH_LOGIN_LINK_INVALID');
}

describe('npm run demo', () => {
  const dirs = [makeTempDir('demo'), makeTempDir('demo-live')];
  afterAll(() => {
    for (const dir of dirs) dir.remove();
  });

  it('tests the token, backfills every dataset, summarises it with the inventory and audit changes, follows live, and stops cleanly on Ctrl-C', async () => {
    const dir = dirs[0]!.path;
    const child = spawnCli(['demo'], { ZEROTRAIL_DATA_DIR: dir, ZEROTRAIL_COLLECT__INTERVAL_SECS: '1' });
    child.stdin?.end();
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor(
      'live mode',
      () => `${stdout}\n${stderr}`,
      (text) => text.includes('Press Ctrl-C to stop'),
      50_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(0);

    // The demo token reads every dataset, so none is skipped.
    for (const dataset of ['access_requests', 'access_users', 'apps', 'policies', 'scim_updates', 'audit_logs'])
      expect(stdout).toMatch(new RegExp(`^${dataset}\\s+collected\\s`, 'm'));
    expect(stdout).not.toMatch(/MISSING|not collected/);
    // Nor any warning of Node.js or a library ("(node:PID) [FSTDEP022] FastifyWarning: …"), which reads as a fault.
    expect(stderr).not.toMatch(/failed: error|\(node:\d+\)/);
    expect(stdout).toMatch(/Stored \d+ Access authentication events \(a 7-day backfill\)/);
    expect(stdout).toMatch(/^users\s+[1-9]\d*\s/m);
    expect(stdout).toMatch(/Also stored: [1-9]\d* SCIM updates and [1-9]\d* audit log entries\./);
    expect(stdout).toContain('Following live events now');
    expect(stdout).toMatch(/^zerotrail is serving the API on http:\/\/127\.0\.0\.1:\d+\/api\.$/m);
    expect(stdout).toMatch(/^ {2}http:\/\/127\.0\.0\.1:\d+\/api\/login\/link\?token=[A-Za-z0-9_-]{43}$/m);
    expect(stdout).toContain('Demo stopped');
    expect(stderr).toContain('Backfilling 7 days');
    // The simulated organisation was attacked during the week: the summary counts the alerts per rule.
    const perRule = /Alerts raised by the detection rules over the backfill:\n((?:.*\n)+?)See them with/.exec(
      stdout,
    )?.[1];
    expect(perRule, stdout).toBeDefined();
    expect(perRule).toMatch(/^zt-brute-force-user\s+Brute force against a user\s+[1-9]\d*\s*$/m);
    expect(perRule).toMatch(/^zt-password-spraying\s+.*\s[1-9]\d*\s*$/m);

    const failures = await runInProcess(['search', 'outcome:failure', '--format', 'json', '--limit', '5'], {
      env: { ZEROTRAIL_DATA_DIR: dir },
    });
    expect(failures.code, failures.stderr).toBe(0);
    const events = JSON.parse(failures.stdout) as { outcome: string; dataset: string }[];
    expect(events.length).toBe(5);
    for (const event of events) expect(event.outcome).toBe('failure');

    // The suggested network search finds the denials from the /24 denied most often in the simulated week.
    const hint = /search '(src_ip:(\d+\.\d+\.\d+\.)0\/24 AND NOT outcome:success)' --format csv$/m.exec(stdout);
    expect(hint, stdout).not.toBeNull();
    const network = await runInProcess(['search', hint?.[1] ?? '', '--format', 'json', '--limit', '1000'], {
      env: { ZEROTRAIL_DATA_DIR: dir },
    });
    expect(network.code, network.stderr).toBe(0);
    const denied = JSON.parse(network.stdout) as { outcome: string; src_ip: string }[];
    expect(denied.length).toBeGreaterThan(0);
    for (const event of denied) {
      expect(event.outcome).not.toBe('success');
      expect(event.src_ip.startsWith(hint?.[2] ?? '-')).toBe(true);
    }
  }, 60_000);

  it('prints the inventory, the audit changes of the week and an enriched event, then each configuration change as its snapshot finds it', async () => {
    const dir = dirs[1]!.path;
    const clock = new ManualClock(START_MS);
    const controller = new AbortController();
    const env = { ZEROTRAIL_DATA_DIR: dir, ZEROTRAIL_COLLECT__INTERVAL_SECS: '1' };
    const demo = startInProcess(['demo', '--port', '0'], env, clock, controller.signal);
    const stdout = (): string => demo.output().stdout;
    try {
      await waitFor('the summary', stdout, (text) => /Stored \d+ Access authentication events/.test(text), 50_000);
      // The backfill is over and the first snapshots are stored. The simulator's live changes fall 1 to 8
      // minutes after its start; jumping past them makes the first live snapshot of each dataset find them.
      clock.advance(9 * MINUTE_MS);
      await waitFor('the login link', stdout, (text) => /\/api\/login\/link\?token=\S+/.test(text), 20_000);
      await checkLoginLink(stdout());
      // Each dataset's snapshot lands on its own; the application's change is the last to be found on a busy machine.
      await waitFor(
        'the live changes',
        stdout,
        (text) => (text.match(/^change: /gm) ?? []).length >= 4 && text.includes('change: Access application '),
        30_000,
      );
      await waitFor('new events', stdout, (text) => /^\+\d+ new Access events? /m.test(text), 10_000);
      // The attacks of the first live minute raise alerts, each printed on its own line as it is raised.
      await waitFor(
        'the live alerts',
        stdout,
        (text) => text.includes('alert: [high] zt-brute-force-user: ') && text.includes('zt-password-spraying: '),
        30_000,
      );
    } finally {
      controller.abort();
    }
    const code = await demo.exited;
    const { stdout: out, stderr } = demo.output();
    expect(code, stderr).toBe(0);
    const [summary = '', live = ''] = out.split('Following live events now');
    expect(live).toContain('the inventory is snapshotted every 60 s');

    for (const label of INVENTORY_LABELS) expect(summary).toMatch(new RegExp(`^${label}\\s+[1-9]\\d*\\s+\\S`, 'm'));
    expect(summary).not.toContain('Google Workspace');
    expect(summary).toMatch(/Also stored: [1-9]\d* SCIM updates and [1-9]\d* audit log entries\./);

    // The two scheduled changes of the last week, and neither the older ones nor logins and page views.
    const audit = /Configuration changes in the audit logs of the last 7 days:\n((?: {2}.*\n)+)/.exec(summary)?.[1];
    expect(audit, summary).toBeDefined();
    expect(audit).toMatch(/^ {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}\S+@example\.com: Lengthened the Access session/m);
    expect(audit).toContain('Required a United States location in the Access policy "Allow administrators"');
    // The third is an attacker's: an API token created from an address no administrator uses.
    expect(audit).toMatch(/^ {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}\S+@example\.com: Created API token "sync-1"$/m);
    expect(audit?.trim().split('\n')).toHaveLength(3);
    expect(summary).not.toMatch(/Disabled Gateway rule|second contractor|Logged in to the dashboard|Listed /);

    const enriched = /An Access event enriched from the inventory \(ocsf.enrichments\):\n((?: {2}.*\n)+)/.exec(
      summary,
    )?.[1];
    expect(enriched, summary).toBeDefined();
    expect(enriched).toMatch(/^ {2}app: {15}\S.* \(self_hosted, \S+\.example\.com\)$/m);
    expect(enriched).toMatch(/^ {2}identity provider: \S/m);
    expect(enriched).toMatch(/^ {2}groups: {12}\S/m);

    expect(summary).toMatch(/npx zerotrail --data-dir \S+ inventory users/);
    expect(summary).toMatch(/npx zerotrail --data-dir \S+ source status/);
    expect(summary).toMatch(/npx zerotrail --data-dir \S+ search 'dataset:identity_providers'/);
    expect(summary).not.toContain('change: ');

    expect(live).toContain(`change: Access user "${NEW_USER.email}" created`);
    // Revoking a device's registration shows as its active registrations dropping to none.
    expect(live).toMatch(/^change: Device "[^"]+" (?:revoked|changed): .*active_registrations \d+ → 0/m);
    expect(live).toContain('change: Identity provider "Google Workspace" created');
    expect(live).toMatch(/^change: Access application "Admin console" changed: .*session_duration "[^"]+" → "8h"/m);
    expect(live).toMatch(/^\+\d+ new audit log entr(y|ies)$/m);
    expect(live).toMatch(
      /^alert: \[high\] zt-brute-force-user: \S+@example\.com was denied \d+ times from \d+\.\d+\.\d+\.\d+ \([A-Z]{2}\)/m,
    );
    expect(live).toMatch(/^alert: \[\w+\] zt-denied-burst: /m);
    // The attacker's API token and the administrators' new identity provider are audit entries of one kind within
    // the rule's suppression window, so they share one alert.
    expect(live).toMatch(/^alert: \[high\] zt-config-tampering: /m);
    expect(live).toMatch(/Alerts per rule:\n.*\n(?:.*\n)*zt-brute-force-user\s+Brute force against a user\s+[2-9]/);
    expect(live).toContain('Demo stopped');

    // The printed changes are stored events an analyst can search.
    const search = await runInProcess(['search', 'dataset:identity_providers', '--format', 'json'], { env, clock });
    expect(search.code, search.stderr).toBe(0);
    const stored = JSON.parse(search.stdout) as { activity: string; ocsf: { message: string } }[];
    expect(stored.map((event) => [event.activity, event.ocsf.message])).toEqual([
      ['create', 'Identity provider "Google Workspace" created'],
    ]);
    const users = await runInProcess(['inventory', 'users'], { env, clock });
    expect(users.stdout).toContain(NEW_USER.email);
    // Every column says what it holds once: the entity's name, then the person's.
    const header = users.stdout.split('\n')[0]?.trim().split(/\s+/);
    expect(header?.slice(0, 5)).toEqual(['SOURCE', 'ID', 'NAME', 'EMAIL', 'FULL_NAME']);
    expect(new Set(header).size).toBe(header?.length);
  }, 60_000);

  it('refuses a --port in use before it backfills anything or makes the data directory', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (taken.address() as AddressInfo).port;
    const dir = join(dirs[0]!.path, 'never-made');
    try {
      const result = await runInProcess(['demo', '--port', String(port)], { env: { ZEROTRAIL_DATA_DIR: dir } });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toBe(
        `error[CONFIG_INVALID]: Port ${port} on 127.0.0.1 is in use by another program.\n` +
          'hint: Stop that program, or choose another port with --port (0 picks a free one).\n',
      );
      expect(result.stdout).toBe('');
      expect(existsSync(dir)).toBe(false);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
