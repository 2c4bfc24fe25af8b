import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess, spawnCli } from '../helpers/cli.js';
import { setUpCollector, storedRawRecords, type CollectorEnv } from '../helpers/collector-env.js';
import { waitFor } from '../helpers/wait.js';

const HOUR_MS = 3_600_000;
const EVENTS = 40;

/**
 * Cloudflare in front of the simulator, refusing the token (403, code 9109, as for a revoked token) while
 * `refusing` is set and passing every request through otherwise.
 */
async function revocableApi(target: string): Promise<{ url: string; refusing: boolean; close(): Promise<void> }> {
  const origin = new URL(target).origin;
  const state = {
    url: '',
    refusing: true,
    close: (): Promise<void> => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    if (state.refusing) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          success: false,
          errors: [{ code: 9109, message: 'Invalid access token' }],
          messages: [],
          result: null,
        }),
      );
      return;
    }
    fetch(`${origin}${req.url ?? '/'}`, { headers: { authorization: String(req.headers['authorization']) } })
      .then(async (answer) => {
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await answer.arrayBuffer()));
      })
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${new URL(target).pathname}`;
  return state;
}

describe('collect, following, with a token Cloudflare refuses for a while', () => {
  let setup: CollectorEnv;
  let api: Awaited<ReturnType<typeof revocableApi>>;

  beforeAll(async () => {
    const now = Date.now();
    setup = await setUpCollector({
      seed: 5,
      traffic: { kind: 'fixed', fromMs: now - 3 * HOUR_MS, toMs: now - HOUR_MS, count: EVENTS },
    });
    api = await revocableApi(setup.simulator.baseUrl);
  });
  afterAll(async () => {
    await api?.close();
    await setup?.cleanup();
  });

  const accessRequestsState = async (): Promise<string | undefined> => {
    const status = await runInProcess(['source', 'status', '--format', 'json'], { env: setup.env });
    const rows = JSON.parse(status.stdout) as { dataset: string; state: string }[];
    return rows.find((row) => row.dataset === 'access_requests')?.state;
  };

  it('marks the datasets failed, tries them again, and collects once the token works, without a restart', async () => {
    const env = {
      ...setup.env,
      CLOUDFLARE_API_BASE_URL: api.url,
      ZEROTRAIL_COLLECT__FAILED_RECHECK_SECS: '1',
      ZEROTRAIL_COLLECT__INTERVAL_SECS: '1',
    };
    const child = spawnCli(['collect', '--backfill-days', '1'], env);
    child.stdin?.end();
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('the failure, with when it is tried again', () => stderr.includes('failed, tried again in 1 s'), {
        timeoutMs: 30_000,
      });
      await waitFor('access_requests marked failed', async () => (await accessRequestsState()) === 'failed', {
        timeoutMs: 10_000,
      });
      expect(child.exitCode, 'the collector keeps running').toBeNull();

      api.refusing = false;
      await waitFor(
        'every event stored after the token works again',
        async () => (await storedRawRecords(setup.env, 'access_requests')).length === EVENTS,
        { timeoutMs: 30_000 },
      );
      // A pull that read to the end marks the dataset healthy again, in the running process.
      await waitFor('access_requests healthy again', async () => (await accessRequestsState()) === 'ok', {
        timeoutMs: 30_000,
      });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
  }, 120_000);
});
