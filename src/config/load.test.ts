import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import { loadConfig } from './load.js';

describe('loadConfig', () => {
  let dir: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    dir = makeTempDir('config');
  });
  afterEach(() => dir.remove());

  it('applies defaults, then file, then env, then flags', () => {
    writeFileSync(
      join(dir.path, 'config.yaml'),
      'collect:\n  interval_secs: 60\n  backfill_days: 3\ncloudflare:\n  rate_share: 0.25\n',
    );
    const config = loadConfig({
      dataDir: dir.path,
      env: { ZEROTRAIL_CF_RATE_LIMIT: '6000/300', ZEROTRAIL_COLLECT__INTERVAL_SECS: '15', CLOUDFLARE_API_BASE_URL: '' },
      overrides: { collect: { backfill_days: 1 } },
    });
    expect(config.collect).toEqual({ intervalSecs: 15, backfillDays: 1, inventoryIntervalSecs: 900, leaseTtlSecs: 30 });
    expect(config.cloudflare.rateLimit).toEqual({ requests: 6000, windowSecs: 300 });
    expect(config.cloudflare.rateShare).toBe(0.25);
    expect(config.cloudflare.apiBaseUrl).toBe('https://api.cloudflare.com/client/v4');
    expect(config.retention.maxAgeDays).toBe(365);
    expect(Object.isFrozen(config.cloudflare)).toBe(true);
  });

  it('lists every problem with its path in one message', () => {
    writeFileSync(join(dir.path, 'config.yaml'), 'collect:\n  interval_secs: soon\nretention:\n  max_age_days: -1\n');
    let message = '';
    try {
      loadConfig({ dataDir: dir.path, env: { ZEROTRAIL_CF_RATE_SHARE: '2', ZEROTRAIL_CF_RATE_LIMIT: 'lots' } });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const path of [
      'collect.interval_secs',
      'retention.max_age_days',
      'cloudflare.rate_share',
      'cloudflare.rate_limit',
    ]) {
      expect(message).toContain(`- ${path}:`);
    }
    expect(message).toContain('1200/300');
  });

  it("gives one limit for a number past 2^53, the schema's own, not also the whole-number bound", () => {
    writeFileSync(join(dir.path, 'config.yaml'), 'retention:\n  max_age_days: 99999999999999999999\n');
    let message = '';
    try {
      loadConfig({ dataDir: dir.path, env: {} });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.match(/- retention\.max_age_days:/g)).toHaveLength(1);
    expect(message).toContain('36500');
    expect(message).not.toContain('9007199254740991');
  });

  it('names the file when it is not valid YAML', () => {
    const path = join(dir.path, 'broken.yaml');
    writeFileSync(path, 'collect: [unclosed\n');
    expect(() => loadConfig({ dataDir: dir.path, configPath: path, env: {} })).toThrow(
      /broken\.yaml is not valid YAML/,
    );
  });

  it('rejects unknown keys instead of ignoring a typo', () => {
    writeFileSync(join(dir.path, 'config.yaml'), 'collect:\n  intervall_secs: 5\n');
    expect(() => loadConfig({ dataDir: dir.path, env: {} })).toThrow(/intervall_secs/);
  });

  it('fails when an explicit config file is missing', () => {
    expect(() => loadConfig({ dataDir: dir.path, configPath: join(dir.path, 'nope.yaml'), env: {} })).toThrow(
      /Cannot read the config file/,
    );
  });
});
