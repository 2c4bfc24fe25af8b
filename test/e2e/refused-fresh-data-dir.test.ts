import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { runBinary } from '../helpers/cli.js';
import { simulatorEnv } from '../helpers/collector-env.js';
import { ensurePostgres, TestSchemas, TEST_DATABASE_URL } from '../helpers/postgres.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
const TOKEN = 'zt-sim-default-token-000000000000000000000';
const REVOKED = 'zt-sim-revoked-token-0000000000000000000001';
const OTHER_ACCOUNT = 'zt-sim-other-account-token-00000000000000002';

interface Refusal {
  readonly args: readonly string[];
  readonly code: number;
  /** The start of the error line the command must print. */
  readonly error: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string;
}

const ADD = ['source', 'add', '--name', 'Logs', '--account-id', ACCOUNT_ID];

/** Commands refused for their input, or for naming something a new installation cannot hold yet. */
const REFUSALS: readonly Refusal[] = [
  {
    args: ['source', 'add', '--name', 'Logs', '--account-id', '12345', '--token-env', 'CF_TOKEN'],
    code: 2,
    error: 'error[SOURCE_ACCOUNT_ID_INVALID]',
  },
  {
    args: [...ADD, '--token-stdin'],
    input: '  \n',
    code: 3,
    error: 'error[SOURCE_TOKEN_INVALID]: The API token is empty',
  },
  { args: [...ADD, '--token-env', 'UNSET'], code: 3, error: 'error[SOURCE_TOKEN_INVALID]' },
  { args: [...ADD, '--token-env', 'CF_TOKEN', '--rate-share', '2'], code: 2, error: 'error[CLI_USAGE]' },
  {
    args: [...ADD, '--token-env', 'CF_TOKEN', '--rate-share', '1e-9'],
    env: { ZEROTRAIL_CF_RATE_LIMIT: '1200/300' },
    code: 2,
    error: 'error[CLI_USAGE]: --rate-share: 1e-9',
  },
  { args: ['source', 'remove', 'nope'], code: 4, error: 'error[SOURCE_NOT_FOUND]: No data source is named "nope"' },
  { args: ['source', 'test', 'nope'], code: 4, error: 'error[SOURCE_NOT_FOUND]: No data source is named "nope"' },
  { args: ['source', 'status', 'nope'], code: 4, error: 'error[SOURCE_NOT_FOUND]: No data source is named "nope"' },
  { args: ['source', 'list', '--format', 'xml'], code: 2, error: 'error[CLI_USAGE]' },
  { args: ['collect', '--once'], code: 4, error: 'error[SOURCE_NOT_FOUND]: There is no data source to collect from' },
  {
    args: ['collect', '--source', 'unknown'],
    code: 4,
    error: 'error[SOURCE_NOT_FOUND]: No data source is named "unknown"',
  },
  { args: ['collect', '--once', '--backfill-days', 'soon'], code: 2, error: 'error[CLI_USAGE]' },
  {
    args: ['collect', '--once'],
    env: { ZEROTRAIL_COLLECT__INTERVAL_SECS: 'soon' },
    code: 2,
    error: 'error[CONFIG_INVALID]',
  },
  { args: ['search', 'bad query ('], code: 2, error: 'error[QUERY_SYNTAX]' },
  { args: ['search', '--from', 'garbage'], code: 2, error: 'error[TIME_INVALID]' },
  { args: ['search', '--limit', 'many'], code: 2, error: 'error[CLI_USAGE]' },
  { args: ['search', '--bogus'], code: 2, error: "error[CLI_USAGE]: unknown option '--bogus'" },
  { args: ['alerts', 'show', 'A1'], code: 4, error: 'error[ALERT_NOT_FOUND]: No alert has the id A1.' },
  { args: ['alerts', 'ack', 'A1'], code: 4, error: 'error[ALERT_NOT_FOUND]' },
  { args: ['alerts', 'close', 'A1', '--reason', 'benign'], code: 4, error: 'error[ALERT_NOT_FOUND]' },
  { args: ['alerts', 'close', 'A1', '--reason', 'maybe'], code: 2, error: 'error[CLI_USAGE]' },
  { args: ['alerts', 'assign', 'A1', 'bob'], code: 4, error: 'error[ALERT_NOT_FOUND]' },
  { args: ['alerts', 'comment', 'A1', 'seen it'], code: 4, error: 'error[ALERT_NOT_FOUND]' },
  { args: ['rules', 'enable', 'nope'], code: 4, error: 'error[RULE_NOT_FOUND]: No detection rule has the id nope.' },
  { args: ['rules', 'disable', 'nope'], code: 4, error: 'error[RULE_NOT_FOUND]' },
  { args: ['rules', 'set', 'nope', '--threshold', '3'], code: 4, error: 'error[RULE_NOT_FOUND]' },
  { args: ['rules', 'set', 'zt-impossible-travel', '--threshold', '3'], code: 1, error: 'error[RULE_INVALID]' },
  { args: ['rules', 'allow', 'nope', '--user', 'a@example.com'], code: 4, error: 'error[RULE_NOT_FOUND]' },
  { args: ['rules', 'test', '/nonexistent/rule.yaml'], code: 2, error: 'error[CLI_USAGE]' },
  { args: ['inventory', 'users', '--source', 'nope'], code: 4, error: 'error[SOURCE_NOT_FOUND]' },
  { args: ['inventory', 'nokind'], code: 2, error: 'error[CLI_USAGE]' },
  {
    args: ['investigate', 'user', 'alice@example.com'],
    code: 4,
    error: 'error[USER_NOT_FOUND]: The inventory holds no users yet',
  },
  { args: ['investigate', 'user', 'alice@example.com', '--source', 'nope'], code: 4, error: 'error[SOURCE_NOT_FOUND]' },
  {
    args: ['user', 'add', 'alice@example.com', '--role', 'admin'],
    input: 'short\n',
    code: 3,
    error: 'error[AUTH_PASSWORD_WEAK]',
  },
  { args: ['user', 'add', 'alice@example.com', '--role', 'king'], code: 2, error: 'error[CLI_USAGE]' },
  { args: ['apikey', 'create', '--user', 'nobody'], code: 4, error: 'error[AUTH_USER_UNKNOWN]' },
  { args: ['apikey', 'revoke', '5'], code: 4, error: 'error[HTTP_NOT_FOUND]: No API key has the id 5' },
  { args: ['apikey', 'revoke', 'abc'], code: 2, error: 'error[CLI_USAGE]' },
  {
    args: [...ADD, '--token-env', 'CF_TOKEN', '--no-verify'],
    env: { ZEROTRAIL_SECRET_KEY: 'bad' },
    code: 1,
    error: 'error[SECRET_KEY_INVALID]: The secret key in ZEROTRAIL_SECRET_KEY must decode to 32 bytes',
  },
  {
    args: [...ADD, '--token-env', 'CF_TOKEN', '--no-verify'],
    env: { ZEROTRAIL_SECRET_KEY_FILE: '/nonexistent/secret.key' },
    code: 1,
    error: 'error[SECRET_KEY_INVALID]',
  },
  {
    args: ['serve', '--host', '192.0.2.1', '--port', '0', '--no-collect'],
    code: 2,
    error: 'error[CONFIG_INVALID]: --host 192.0.2.1 is not an address of this machine.',
  },
];

/** Every path under `dir`, relative to it: what a command left behind. */
function contents(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('a command refused on a new data directory leaves nothing behind', () => {
  let dir: { readonly path: string; remove(): void };
  let count = 0;
  /** A data directory that does not exist yet, in a parent of its own that stays empty unless something is made. */
  const freshDataDir = (): { readonly parent: string; readonly dataDir: string } => {
    count += 1;
    const parent = join(dir.path, `run-${count}`);
    mkdirSync(parent);
    return { parent, dataDir: join(parent, 'data') };
  };
  const expectRefused = async (
    refusal: Refusal,
    env: Readonly<Record<string, string>>,
    parent: string,
  ): Promise<void> => {
    const result = await runBinary(refusal.args, { ...env, ...refusal.env }, refusal.input);
    const what = refusal.args.join(' ');
    expect({ what, code: result.code }, result.stderr).toEqual({ what, code: refusal.code });
    expect(result.stderr.startsWith(refusal.error), result.stderr).toBe(true);
    expect({ what, left: contents(parent) }).toEqual({ what, left: [] });
  };

  beforeAll(() => {
    dir = makeTempDir('refused');
  });
  afterAll(() => dir.remove());

  describe.concurrent('refused for its input or for naming what is not stored', () => {
    for (const refusal of REFUSALS) {
      const env = refusal.env === undefined ? '' : ` (${Object.keys(refusal.env).join(', ')})`;
      it(`zerotrail ${refusal.args.join(' ')}${env}`, async () => {
        const { parent, dataDir } = freshDataDir();
        await expectRefused(refusal, { ZEROTRAIL_DATA_DIR: dataDir, CF_TOKEN: TOKEN }, parent);
      });
    }
  });

  it('keeps an existing, empty data directory empty', async () => {
    const { dataDir } = freshDataDir();
    mkdirSync(dataDir, { mode: 0o700 });
    for (const refusal of REFUSALS.filter((candidate) => candidate.code === 4)) {
      await expectRefused(refusal, { ZEROTRAIL_DATA_DIR: dataDir, CF_TOKEN: TOKEN }, dataDir);
    }
  });

  it('refuses a token Cloudflare refuses before the new installation is made', async () => {
    const simulator: Simulator = await startSimulator({
      rateLimit: { requests: 1_000_000, windowSecs: 300 },
      tokens: [
        { value: TOKEN },
        { value: REVOKED, status: 'disabled' },
        { value: OTHER_ACCOUNT, accountIds: ['00000000000000000000000000000000'] },
      ],
    });
    try {
      for (const token of [REVOKED, OTHER_ACCOUNT]) {
        const { parent, dataDir } = freshDataDir();
        const add = ['source', 'add', '--name', 'Logs', '--account-id', simulator.accountId, '--token-env', 'BAD'];
        await expectRefused(
          { args: add, code: 3, error: 'error[SOURCE_' },
          simulatorEnv(simulator, dataDir, { BAD: token }),
          parent,
        );
      }
      // The same command with a token that works makes the installation.
      const { dataDir } = freshDataDir();
      const env = simulatorEnv(simulator, dataDir, { CF_TOKEN: TOKEN });
      const added = await runBinary(
        ['source', 'add', '--name', 'Logs', '--account-id', simulator.accountId, '--token-env', 'CF_TOKEN'],
        env,
      );
      expect(added.code, added.stderr).toBe(0);
      expect(added.stderr).toContain('Token verified');
      expect(contents(dataDir)).toEqual(expect.arrayContaining(['secret.key', 'zerotrail.db']));
    } finally {
      await simulator.stop();
    }
  });

  it('refuses a port in use and an unusable certificate before serving', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { parent: certDir } = freshDataDir();
    const garbage = join(certDir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    // A self-signed certificate and a private key that is not its own.
    selfSignedCertificate(certDir);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    writeFileSync(join(certDir, 'other-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    try {
      const port = String((busy.address() as AddressInfo).port);
      const cert = join(certDir, 'cert.pem');
      for (const refusal of [
        {
          args: ['serve', '--port', port, '--no-collect'],
          code: 2,
          error: `error[CONFIG_INVALID]: Port ${port} on 127.0.0.1 is in use by another program.`,
        },
        {
          args: ['serve', '--port', '0', '--tls-cert', garbage, '--tls-key', join(certDir, 'key.pem')],
          code: 2,
          error: `error[CONFIG_INVALID]: --tls-cert ${garbage} holds no certificate.`,
        },
        {
          args: ['serve', '--port', '0', '--tls-cert', cert, '--tls-key', garbage],
          code: 2,
          error: `error[CONFIG_INVALID]: --tls-key ${garbage} holds no private key`,
        },
        {
          args: ['serve', '--port', '0', '--tls-cert', cert, '--tls-key', join(certDir, 'other-key.pem')],
          code: 2,
          error: `error[CONFIG_INVALID]: The private key in --tls-key ${join(certDir, 'other-key.pem')} is not the key of the certificate`,
        },
      ]) {
        const { parent, dataDir } = freshDataDir();
        await expectRefused(refusal, { ZEROTRAIL_DATA_DIR: dataDir }, parent);
      }
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});

describe('a command refused on a new PostgreSQL schema leaves nothing behind', () => {
  const schemas = new TestSchemas('refused');
  let dir: { readonly path: string; remove(): void };
  let client: pg.Client;

  /** A fresh schema name and a data directory for the key, neither of which exists yet. */
  const fresh = (name: string): { readonly env: Record<string, string>; readonly schema: string; parent: string } => {
    const url = schemas.url();
    const parent = join(dir.path, name.replace(/\W+/g, '-'));
    mkdirSync(parent);
    const env = { ZEROTRAIL_DATA_DIR: join(parent, 'data'), ZEROTRAIL_DATABASE_URL: url, CF_TOKEN: TOKEN };
    return { env, schema: new URL(url).searchParams.get('schema') ?? '', parent };
  };
  const schemaExists = async (schema: string): Promise<boolean> =>
    (await client.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema])).rowCount === 1;

  beforeAll(async () => {
    await ensurePostgres();
    dir = makeTempDir('refused-pg');
    client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await schemas.dropAll();
    dir?.remove();
  });

  it('neither creates the schema nor the data directory for what is not stored, and reads find nothing', async () => {
    const reads: readonly Refusal[] = [
      { args: ['search'], code: 0, error: 'notice: there is no zerotrail installation in the PostgreSQL database' },
      { args: ['source', 'list'], code: 0, error: 'notice: there is no zerotrail installation' },
      { args: ['alerts', 'list'], code: 0, error: 'notice: there is no zerotrail installation' },
    ];
    for (const refusal of [...REFUSALS.filter((candidate) => candidate.code === 4), ...reads]) {
      const what = refusal.args.join(' ');
      const { env, schema, parent } = fresh(what);
      const result = await runBinary(refusal.args, env, refusal.input);
      expect({ what, code: result.code }, result.stderr).toEqual({ what, code: refusal.code });
      expect(result.stderr.startsWith(refusal.error), result.stderr).toBe(true);
      expect({ what, left: contents(parent), schema: await schemaExists(schema) }).toEqual({
        what,
        left: [],
        schema: false,
      });
    }
  });

  it('refuses a token Cloudflare refuses before making the tables, and makes them with one that works', async () => {
    const simulator = await startSimulator({
      rateLimit: { requests: 1_000_000, windowSecs: 300 },
      tokens: [{ value: TOKEN }, { value: REVOKED, status: 'disabled' }],
    });
    try {
      const add = ['source', 'add', '--name', 'Logs', '--account-id', simulator.accountId, '--token-env', 'BAD'];
      const refused = fresh('revoked');
      const env = { ...simulatorEnv(simulator, refused.env['ZEROTRAIL_DATA_DIR'] ?? ''), ...refused.env, BAD: REVOKED };
      const result = await runBinary(add, env);
      expect(result.code, result.stderr).toBe(3);
      expect(contents(refused.parent)).toEqual([]);
      expect(await schemaExists(refused.schema)).toBe(false);

      const works = fresh('works');
      const added = await runBinary(add, {
        ...simulatorEnv(simulator, works.env['ZEROTRAIL_DATA_DIR'] ?? ''),
        ...works.env,
        BAD: TOKEN,
      });
      expect(added.code, added.stderr).toBe(0);
      expect(await schemaExists(works.schema)).toBe(true);
    } finally {
      await simulator.stop();
    }
  });
});
