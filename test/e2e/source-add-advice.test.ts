import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/cli.js';
import { addTestSource, setUpCollector, TEST_SOURCE, type CollectorEnv } from '../helpers/collector-env.js';

const GOOD = 'zt-sim-advice-good-token-00000000000000001';
const DISABLED = 'zt-sim-advice-revoked-token-0000000000002';

describe('source test with a token Cloudflare refuses', () => {
  let setup: CollectorEnv;

  beforeAll(async () => {
    setup = await setUpCollector(
      { seed: 71, tokens: [{ value: GOOD }, { value: DISABLED, status: 'disabled' }] },
      false,
    );
    await addTestSource(setup, DISABLED, ['--no-verify']);
  });
  afterAll(async () => setup.cleanup());

  it('prints with --format json every dataset with the fields README names, in the state unchecked', async () => {
    const tested = await runInProcess(['source', 'test', TEST_SOURCE, '--format', 'json'], { env: setup.env });
    expect(tested.code, tested.stderr).toBe(3);
    expect(tested.stderr).toContain('error[SOURCE_AUTH_FAILED]');
    const rows = JSON.parse(tested.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(11);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(['dataset', 'ok', 'state', 'permission', 'message']);
      expect(row).toMatchObject({ ok: false, state: 'unchecked' });
      expect(row['message']).toMatch(/^Not checked: The API token is disabled\. Create a new token/);
    }
  });
});
