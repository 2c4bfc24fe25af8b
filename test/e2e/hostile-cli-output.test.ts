import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
const TOKEN = 'zt-hostile-output-token-00000000000000001';
const SOURCE = 'Hostile';
// Sets the window title, clears the screen, turns the text red, reverses what follows and starts a line of its own.
const EVIL = 'evil \u001b]0;PWNED\u0007\u001b[2J\u001b[31mRED\u202eabc\nfake: line';
const EVIL_SHOWN = 'evil \\u001b]0;PWNED\\u0007\\u001b[2J\\u001b[31mRED\\u202eabc\\u000afake: line';
// What a terminal would obey or draw deceptively, besides the line breaks between lines.
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/;

/** An API that refuses every token with an error message written to take over the terminal it is printed on. */
function hostileApi(): Promise<{ readonly url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ success: false, errors: [{ code: 10000, message: EVIL }], messages: [], result: null }));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/client/v4`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

function expectHarmless(text: string): void {
  expect(text).not.toMatch(RAW);
  expect(text).not.toMatch(/^fake: line/m);
}

describe('what Cloudflare or the command line says reaches the terminal escaped', () => {
  let api: Awaited<ReturnType<typeof hostileApi>>;
  let dataDir: ReturnType<typeof makeTempDir>;
  let env: Record<string, string>;

  beforeAll(async () => {
    api = await hostileApi();
    dataDir = makeTempDir('hostile-output');
    env = {
      ZEROTRAIL_DATA_DIR: dataDir.path,
      CLOUDFLARE_API_BASE_URL: api.url,
      ZEROTRAIL_CF_RATE_LIMIT: '1000000/300',
      ZEROTRAIL_LOG_LEVEL: 'silent',
      CF_TOKEN: TOKEN,
    };
    const added = await runInProcess(
      ['source', 'add', '--name', SOURCE, '--account-id', ACCOUNT_ID, '--token-env', 'CF_TOKEN', '--no-verify'],
      { env },
    );
    expect(added.code, added.stderr).toBe(0);
  });
  afterAll(async () => {
    await api.close();
    dataDir.remove();
  });

  it('collect --once: one progress line and one COLLECT_FAILED line per failure shared by datasets, escaped', async () => {
    const result = await runInProcess(['collect', '--once', '--backfill-days', '1'], { env });
    expect(result.code).toBe(1);
    expectHarmless(result.stderr);
    expect(result.stderr).toContain(EVIL_SHOWN);
    const lines = result.stderr.split('\n');
    // At least the two datasets that need the same permission fail with the same words.
    const progress = lines.filter((line) =>
      /^Hostile: access_requests, access_users(, \w+)* failed: error\[SOURCE_AUTH_FAILED\]/.test(line),
    );
    expect(progress, result.stderr).toHaveLength(1);
    expect(progress[0]).toContain(`error[SOURCE_AUTH_FAILED] Cloudflare rejected the API token`);
    expect(progress[0]).toContain(EVIL_SHOWN);
    expect(lines.filter((line) => line.startsWith(`${SOURCE}/access_requests`))).toEqual([]);
    const report = result.stderr.slice(result.stderr.indexOf('error[COLLECT_FAILED]: '));
    expect(report).toMatch(
      /^error\[COLLECT_FAILED\]: Hostile: access_requests, access_users(, \w+)*: error\[SOURCE_AUTH_FAILED\]/,
    );
    // Datasets refused in the same words share a line: fewer lines than the eleven datasets, each escaped.
    const reported = report.split('\n').filter((line) => line.includes('error[SOURCE_AUTH_FAILED]'));
    expect(reported.length).toBeLessThan(11);
    for (const line of reported) expect(line).toContain(EVIL_SHOWN);
  });

  it('source test prints the error escaped, and with --format json the datasets it could not check', async () => {
    const table = await runInProcess(['source', 'test', SOURCE], { env });
    expect(table.code).toBe(3);
    expectHarmless(table.stderr);
    expect(table.stderr).toMatch(/^error\[SOURCE_AUTH_FAILED\]: .*evil \\u001b\]0;PWNED/);
    const json = await runInProcess(['source', 'test', SOURCE, '--format', 'json'], { env });
    expect(json.code).toBe(3);
    const rows = JSON.parse(json.stdout) as { dataset: string; ok: boolean; permission: string; message: string }[];
    expect(rows.map((row) => row.dataset)).toContain('access_requests');
    expect(rows).toHaveLength(11);
    for (const row of rows) {
      expect(row.ok).toBe(false);
      expect(row.permission).not.toBe('');
      expect(row.message).toMatch(/^Not checked: Cloudflare rejected the API token/);
    }
    expect(rows.find((row) => row.dataset === 'audit_logs')?.permission).toBe('Account Settings Read');
  });

  it('source add prints the refusal of the token escaped', async () => {
    const result = await runInProcess(
      ['source', 'add', '--name', 'Other', '--account-id', ACCOUNT_ID, '--token-env', 'CF_TOKEN'],
      { env },
    );
    expect(result.code).toBe(3);
    expectHarmless(result.stderr);
    expect(result.stderr).toContain('evil \\u001b]0;PWNED');
  });

  it('echoes a query, a time, a level and an option escaped, with the caret under the column it names', async () => {
    const query = await runInProcess(['search', 'user:\u001b[2J('], { env });
    expect(query.code).toBe(2);
    expectHarmless(query.stderr);
    const [, pointed, caret] = query.stderr.split('\n');
    expect(pointed).toBe('hint: user:\\u001b[2J(');
    // Column 11 of the query is past the "(": in the escaped line, six columns later.
    expect(caret?.indexOf('^')).toBe('hint: '.length + 'user:\\u001b[2J('.length);
    for (const args of [
      ['search', '--from', '\u001b[2J\u202e'],
      ['search', '--limit', '\u001b[2J'],
      ['--log-level', '\u001b[2J', 'search'],
      ['search', '--bogus\u001b[2J'],
      ['inventory', '\u001b[2Jusers\nfake: line'],
    ]) {
      const result = await runInProcess(args, { env });
      expect(result.code, args.join(' ')).toBe(2);
      expectHarmless(result.stderr);
      expect(result.stderr, args.join(' ')).toContain('\\u001b[2J');
    }
  });
});
