import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startServerFixture, type ServerFixture } from '../../src/server/server-fixture.suite.js';
import { runBinary, runInProcess, type CliResult } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// Random-looking, so that no 8-character run of it is in an id, a path or our own wording.
const TOKEN = 'Q7fZ2mXk9LpR4tVb8NcW1yHd6JsE3uGa5oTi0wKe';
const ACCOUNT_ID = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const SOURCE = 'Echoed';

/** Every run of 8 characters of the token: an echo that long, truncated or not, already gives part of it away. */
const FRAGMENTS = Array.from({ length: TOKEN.length - 7 }, (_, i) => TOKEN.slice(i, i + 8));

/**
 * Cloudflare, or a proxy in front of it, echoing the Authorization header in its errors: the reported 401, a 400
 * that quotes the request line with its headers, and a 403 that quotes a truncated token. Shapes from common.yaml's
 * failure envelope (`errors[]` with `code`, `message` and an optional `error_chain`).
 */
function echoingApi(): Promise<{ readonly url: string; close(): Promise<void> }> {
  let served = 0;
  const server: Server = createServer((req, res) => {
    const header = String(req.headers['authorization']);
    const variant = (req.url ?? '').includes('/tokens/verify') ? 0 : served++ % 3;
    const [status, errors] = [
      [401, [{ code: 10000, message: `Authentication error: bad header ${header}` }]],
      [
        400,
        [
          {
            code: 6003,
            message: 'Invalid request headers',
            error_chain: [{ code: 6111, message: `GET ${req.url ?? ''} HTTP/1.1 Authorization: ${header}` }],
          },
        ],
      ],
      [403, [{ code: 10000, message: `Authentication error for ${header.slice(7, 23)}…` }]],
    ][variant] as [number, unknown[]];
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ success: false, errors, messages: [], result: null }));
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

function leaked(text: string): string | undefined {
  return FRAGMENTS.find((fragment) => text.includes(fragment));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Reads every file of the data directory as bytes, and checks that only their owner may read them. */
function expectPrivateFilesWithoutToken(dataDir: string): void {
  for (const file of filesUnder(dataDir)) {
    expect(leaked(readFileSync(file).toString('latin1')), `${file} holds part of the token`).toBeUndefined();
    expect((statSync(file).mode & 0o777).toString(8), file).toBe('600');
  }
}

describe('an API that echoes the token in its errors', () => {
  let api: Awaited<ReturnType<typeof echoingApi>>;
  let dataDir: ReturnType<typeof makeTempDir>;
  let env: Record<string, string>;
  const outputs: { readonly args: string; readonly result: CliResult }[] = [];

  const run = async (args: readonly string[], binary = false): Promise<CliResult> => {
    const result = binary ? await runBinary(args, env) : await runInProcess(args, { env });
    outputs.push({ args: args.join(' '), result });
    return result;
  };

  beforeAll(async () => {
    api = await echoingApi();
    dataDir = makeTempDir('token-echo');
    env = {
      ZEROTRAIL_DATA_DIR: join(dataDir.path, 'data'),
      CLOUDFLARE_API_BASE_URL: api.url,
      ZEROTRAIL_CF_RATE_LIMIT: '1000000/300',
      ZEROTRAIL_CF_RATE_SHARE: '1',
      CF_TOKEN: TOKEN,
    };
    // A data directory others may list, as one made by hand or by a package often is.
    mkdirSync(join(dataDir.path, 'data'));
    chmodSync(join(dataDir.path, 'data'), 0o755);
  });
  afterAll(async () => {
    await api.close();
    dataDir.remove();
  });

  it('keeps the token out of every command output and log line, and says what Cloudflare said', async () => {
    const added = await run(
      ['source', 'add', '--name', SOURCE, '--account-id', ACCOUNT_ID, '--token-env', 'CF_TOKEN', '--no-verify'],
      true,
    );
    expect(added.code, added.stderr).toBe(0);
    const collected = await run(['--debug', 'collect', '--once'], true);
    expect(collected.code).not.toBe(0);
    expect(collected.stderr).toContain('COLLECT_FAILED');
    expect(collected.stderr).toContain('bad header Bearer [redacted]');
    await run(['source', 'status']);
    const status = await run(['source', 'status', '--format', 'json']);
    const rows = JSON.parse(status.stdout) as { lastError: string | null }[];
    expect(rows.some((row) => row.lastError?.includes('Authorization: Bearer [redacted]') === true)).toBe(true);
    await run(['source', 'list']);
    await run(['source', 'list', '--format', 'json']);
    await run(['--debug', 'source', 'test', SOURCE]);
    await run(['--debug', 'source', 'test', SOURCE, '--format', 'json']);
    for (const { args, result } of outputs) {
      expect(leaked(result.stdout), `stdout of ${args}`).toBeUndefined();
      expect(leaked(result.stderr), `stderr of ${args}`).toBeUndefined();
    }
  }, 120_000);

  it('keeps it out of the database and every other file, which only their owner may read', () => {
    const files = filesUnder(env['ZEROTRAIL_DATA_DIR'] ?? '');
    expect(files.some((file) => file.endsWith('zerotrail.db'))).toBe(true);
    expectPrivateFilesWithoutToken(env['ZEROTRAIL_DATA_DIR'] ?? '');
  });
});

describe('the token typed where a name or an id belongs', () => {
  it('is described, never shown: --token-env "$TOKEN", --token-env "Bearer $TOKEN" and a swapped --account-id', async () => {
    const dataDir = makeTempDir('token-in-argument');
    try {
      const env = { ZEROTRAIL_DATA_DIR: dataDir.path, CF_TOKEN: TOKEN };
      const runs = [
        ['--account-id', ACCOUNT_ID, '--token-env', TOKEN],
        ['--account-id', ACCOUNT_ID, '--token-env', `Bearer ${TOKEN}`],
        ['--account-id', TOKEN, '--token-env', 'CF_TOKEN'],
      ];
      for (const flags of runs) {
        const result = await runInProcess(['source', 'add', '--name', SOURCE, ...flags, '--no-verify'], { env });
        expect(result.code, result.stderr).not.toBe(0);
        expect(leaked(result.stdout + result.stderr), result.stderr).toBeUndefined();
        expect(result.stderr).toMatch(/\d+ characters, not shown/);
      }
      // The token where the source's name belongs, as set-token "$TOKEN" would put it.
      const asName = await runInProcess(['source', 'set-token', TOKEN, '--token-env', 'CF_TOKEN', '--no-verify'], {
        env,
      });
      expect(asName.code, asName.stderr).toBe(4);
      expect(leaked(asName.stdout + asName.stderr), asName.stderr).toBeUndefined();
      expect(asName.stderr).toContain('No data source is named the name given (40 characters, not shown');
      // The token as the Source Name would be shown in every event, listing and progress line.
      const tokenAsSourceName = await runInProcess(
        ['source', 'add', '--name', TOKEN, '--account-id', ACCOUNT_ID, '--token-env', 'CF_TOKEN', '--no-verify'],
        { env },
      );
      expect(tokenAsSourceName.code, tokenAsSourceName.stderr).toBe(2);
      expect(leaked(tokenAsSourceName.stdout + tokenAsSourceName.stderr)).toBeUndefined();
      expect(tokenAsSourceName.stderr).toContain('--name: this looks like an API token, not a name');
      // Any other value a refusal would repeat: a time, a number, a query, a log level.
      for (const args of [
        ['search', '--from', TOKEN],
        ['search', '--limit', TOKEN],
        ['search', `user:${TOKEN} AND (`],
        ['--log-level', TOKEN, 'source', 'list'],
      ]) {
        const refused = await runInProcess(args, { env });
        expect(refused.code, refused.stderr).not.toBe(0);
        expect(leaked(refused.stdout + refused.stderr), refused.stderr).toBeUndefined();
        expect(refused.stderr, args.join(' ')).toContain('*'.repeat(TOKEN.length));
      }
      // A name that is only a name is still quoted, so a typo in it can be seen.
      const typo = await runInProcess(
        ['source', 'add', '--name', SOURCE, '--account-id', ACCOUNT_ID, '--token-env', 'CF_TOKNE', '--no-verify'],
        { env },
      );
      expect(typo.stderr).toContain('The environment variable CF_TOKNE is not set.');
    } finally {
      dataDir.remove();
    }
  });
});

describe('an API that echoes the token, through the HTTP API', () => {
  let api: Awaited<ReturnType<typeof echoingApi>>;
  let fixture: ServerFixture;
  const bodies: string[] = [];

  beforeAll(async () => {
    api = await echoingApi();
    fixture = await startServerFixture({
      startMs: Date.now(),
      env: { CLOUDFLARE_API_BASE_URL: api.url, ZEROTRAIL_CF_RATE_LIMIT: '1000000/300', ZEROTRAIL_CF_RATE_SHARE: '1' },
    });
  });
  afterAll(async () => {
    await fixture.close();
    await api.close();
  });

  it('answers no caller with the token, a viewer reading the sources included, and logs none of it', async () => {
    const env = {
      ZEROTRAIL_DATA_DIR: fixture.dataDir,
      CLOUDFLARE_API_BASE_URL: api.url,
      ZEROTRAIL_CF_RATE_LIMIT: '1000000/300',
      ZEROTRAIL_CF_RATE_SHARE: '1',
      CF_TOKEN: TOKEN,
    };
    const cli = [
      await runInProcess(
        ['source', 'add', '--name', SOURCE, '--account-id', ACCOUNT_ID, '--token-env', 'CF_TOKEN', '--no-verify'],
        { env },
      ),
      await runInProcess(['collect', '--once'], { env }),
    ];
    expect(cli[0]?.code, cli[0]?.stderr).toBe(0);
    const apiKey = (await runInProcess(['apikey', 'create', '--user', 'viewer'], { env })).stdout.trim();
    expect(apiKey).toMatch(/^ztk_/);
    const admin = await login(fixture.server, 'admin');
    const asAdmin = { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken };
    const send = async (
      method: 'GET' | 'POST',
      url: string,
      headers: Record<string, string>,
      payload?: Record<string, unknown>,
    ): Promise<number> => {
      const res = await fixture.server.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
      bodies.push(res.body);
      return res.statusCode;
    };

    expect(await send('GET', '/api/sources', { authorization: `Bearer ${apiKey}` })).toBe(200);
    expect(bodies.at(-1)).toContain('Bearer [redacted]');
    await send('POST', `/api/sources/${SOURCE}/test`, asAdmin);
    await send('POST', '/api/sources/test', asAdmin, { apiToken: TOKEN, accountId: ACCOUNT_ID });
    await send('POST', '/api/sources', asAdmin, { apiToken: TOKEN, accountId: ACCOUNT_ID, name: 'Again' });
    expect(bodies.some((body) => body.includes('bad header Bearer [redacted]'))).toBe(true);
    for (const body of bodies) expect(leaked(body), body).toBeUndefined();
    for (const result of cli) expect(leaked(result.stdout + result.stderr)).toBeUndefined();
    expect(leaked(fixture.logs())).toBeUndefined();
    // The server holds the database open, so its -wal and -shm are there to be read too.
    expect(filesUnder(fixture.dataDir).some((file) => file.endsWith('zerotrail.db-wal'))).toBe(true);
    expectPrivateFilesWithoutToken(fixture.dataDir);
  }, 120_000);
});
