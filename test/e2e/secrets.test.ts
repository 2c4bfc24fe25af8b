import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBinary, runInProcess, type CliResult } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';

const HOUR_MS = 3_600_000;
const TOKEN = 'zt-Secret-Token-9f8e7d6c5b4a39281706f5e4';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('the API token never appears in plain text', () => {
  let setup: CollectorEnv;
  const outputs: CliResult[] = [];

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector(
      {
        seed: 4,
        traffic: { kind: 'fixed', fromMs: now - 3 * HOUR_MS, toMs: now - HOUR_MS, count: 300 },
        tokens: [{ value: TOKEN }],
        faults: { serverError: { everyNth: 2, maxTimes: 1 } },
      },
      false,
    );
    const env = { ...setup.env, CF_TOKEN: TOKEN };
    outputs.push(
      await runInProcess(
        [
          '--debug',
          'source',
          'add',
          '--name',
          'Secretive',
          '--account-id',
          setup.simulator.accountId,
          '--token-env',
          'CF_TOKEN',
        ],
        { env },
      ),
    );
    outputs.push(
      await runInProcess(
        ['source', 'add', '--name', 'Piped', '--account-id', setup.simulator.accountId, '--token-stdin'],
        { env, input: `Bearer ${TOKEN}` },
      ),
    );
    outputs.push(await runBinary(['--log-level', 'trace', 'collect', '--once'], env));
    outputs.push(await runInProcess(['source', 'list'], { env }));
    outputs.push(await runInProcess(['source', 'list', '--format', 'json'], { env }));
    outputs.push(await runInProcess(['search', '--format', 'ndjson'], { env }));
    // A wrong base URL makes requests fail, so error paths print too.
    outputs.push(
      await runInProcess(['--debug', 'collect', '--once'], {
        env: { ...env, CLOUDFLARE_API_BASE_URL: 'http://127.0.0.1:9/client/v4' },
      }),
    );
  }, 120_000);
  afterAll(async () => setup.cleanup());

  it('works end to end with that token', () => {
    expect(outputs[0]?.code, outputs[0]?.stderr).toBe(0);
    expect(outputs[2]?.code, outputs[2]?.stderr).toBe(0);
    expect(outputs[6]?.code).not.toBe(0);
  });

  it('is in no command output or log line', () => {
    for (const output of outputs) {
      expect(output.stdout).not.toContain(TOKEN);
      expect(output.stderr).not.toContain(TOKEN);
    }
  });

  it('is in no file of the data directory, plain or base64', () => {
    const needles = [TOKEN, Buffer.from(TOKEN).toString('base64'), Buffer.from(TOKEN).toString('hex')];
    const files = filesUnder(setup.dataDir);
    expect(files.some((file) => file.endsWith('zerotrail.db'))).toBe(true);
    for (const file of files) {
      const content = readFileSync(file).toString('latin1');
      for (const needle of needles) expect(content.includes(needle), `${file} holds the token`).toBe(false);
    }
  });

  it('shows at most the last four characters', () => {
    const list = JSON.parse(outputs[4]?.stdout ?? '[]') as { token_last4: string }[];
    expect(list.map((source) => source.token_last4)).toEqual([TOKEN.slice(-4), TOKEN.slice(-4)]);
  });
});
