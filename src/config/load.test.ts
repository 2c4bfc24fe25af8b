import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/helpers/temp-dir.js';
import type { AppError } from '../core/errors.js';
import { loadConfig } from './load.js';
import { rateShareProblem } from './rate-share.js';

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
    expect(config.collect).toEqual({
      intervalSecs: 15,
      backfillDays: 1,
      inventoryIntervalSecs: 900,
      failedRecheckSecs: 600,
      leaseTtlSecs: 30,
    });
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

  it('fails when an explicit config file is missing, saying so in words and how to go on', () => {
    const path = join(dir.path, 'nope.yaml');
    let refusal: unknown;
    try {
      loadConfig({ dataDir: dir.path, configPath: path, env: {} });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toMatchObject({
      message: `Cannot read the config file ${path}: it does not exist.`,
      hint: expect.stringContaining('--config or ZEROTRAIL_CONFIG') as unknown,
    });
  });

  it('refuses a data_dir in the config file, which cannot choose the directory it is read from', () => {
    writeFileSync(join(dir.path, 'config.yaml'), 'data_dir: /elsewhere\n');
    expect(() => loadConfig({ dataDir: dir.path, env: {} })).toThrow(
      /data_dir: a config file cannot choose the data directory; give it with --data-dir or ZEROTRAIL_DATA_DIR/,
    );
  });

  it('names the environment variable that set a value it refuses', () => {
    expect(() => loadConfig({ dataDir: dir.path, env: { ZEROTRAIL_LOG_LEVEL: 'INFO' } })).toThrow(
      /log\.level: .*\(set by ZEROTRAIL_LOG_LEVEL\)/,
    );
    expect(() => loadConfig({ dataDir: dir.path, env: { ZEROTRAIL_COLLECT__INTERVAL_SECS: 'soon' } })).toThrow(
      /collect\.interval_secs: .*\(set by ZEROTRAIL_COLLECT__INTERVAL_SECS\)/,
    );
  });

  it('names the environment variable that brought a key no section has, and only that one', () => {
    writeFileSync(join(dir.path, 'config.yaml'), 'collect:\n  nope: 1\n');
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadConfig({ dataDir: dir.path, env });
      } catch (error) {
        return (error as Error).message.split('\n').filter((line) => line.startsWith('  - '));
      }
      throw new Error('the configuration was accepted');
    };
    expect(problems({ ZEROTRAIL_COLLECT__BOGUS: '1' })).toEqual([
      '  - collect: Unrecognized key: "nope"',
      '  - collect: Unrecognized key: "bogus" (set by ZEROTRAIL_COLLECT__BOGUS)',
    ]);
    // A section no config has: the variable is named under the root, where the unknown section is.
    expect(problems({ ZEROTRAIL_BOGUS__X: '1' })).toEqual([
      '  - collect: Unrecognized key: "nope"',
      '  - (root): Unrecognized key: "bogus" (set by ZEROTRAIL_BOGUS__X)',
    ]);
  });
});

describe('loadConfig: values of the wrong kind', () => {
  let dir: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    dir = makeTempDir('config-types');
  });
  afterEach(() => dir.remove());

  const problemsOf = (yaml: string, env: Record<string, string> = {}): string => {
    writeFileSync(join(dir.path, 'config.yaml'), yaml);
    try {
      loadConfig({ dataDir: dir.path, env });
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  };

  it('refuses a list, a boolean, a mapping or text where a number belongs, naming each path and what it got', () => {
    const message = problemsOf(
      [
        'cloudflare:',
        '  page_size: [500]',
        '  rate_share: true',
        '  lookback_secs: {secs: 3}',
        '  timeout_ms: "lots"',
        'collect:',
        '  backfill_days: [3]',
        '  interval_secs:',
        'retention:',
        '  max_age_days: 1.5',
      ].join('\n'),
    );
    expect(message).toContain('- cloudflare.page_size: expected a number, got a list');
    expect(message).toContain('- cloudflare.rate_share: expected a number, got true');
    expect(message).toContain('- cloudflare.lookback_secs: expected a number, got a mapping');
    expect(message).toContain('- cloudflare.timeout_ms: expected a number, got the text "lots"');
    expect(message).toContain('- collect.backfill_days: expected a number, got a list');
    expect(message).toContain('- collect.interval_secs: expected a number, got nothing');
    expect(message).toContain('- retention.max_age_days: expected a whole number, got 1.5');
    expect(message).not.toContain('NaN');
  });

  it('reads numbers written as text, as every environment variable is, and refuses text that is no number', () => {
    writeFileSync(join(dir.path, 'config.yaml'), 'cloudflare:\n  page_size: "250"\n');
    const config = loadConfig({
      dataDir: dir.path,
      env: { ZEROTRAIL_CF_RATE_SHARE: ' 0.25 ', ZEROTRAIL_COLLECT__INTERVAL_SECS: '1e2' },
    });
    expect(config.cloudflare.pageSize).toBe(250);
    expect(config.cloudflare.rateShare).toBe(0.25);
    expect(config.collect.intervalSecs).toBe(100);
    for (const text of ['0x10', 'Infinity', '5 secs', '1,5']) {
      expect(problemsOf('', { ZEROTRAIL_COLLECT__INTERVAL_SECS: text })).toContain(
        `- collect.interval_secs: expected a number, got the text "${text}"`,
      );
    }
  });

  it('takes any whole number of backfill days, which collect caps, and refuses fractions and negatives', () => {
    for (const [text, days] of [
      ['400', 400],
      ['1e3', 1000],
      ['99999999999999999999', 1e20],
    ] as const) {
      expect(
        loadConfig({ dataDir: dir.path, env: { ZEROTRAIL_COLLECT__BACKFILL_DAYS: text } }).collect.backfillDays,
      ).toBe(days);
    }
    expect(problemsOf('collect:\n  backfill_days: 2.5\n')).toContain(
      '- collect.backfill_days: expected a whole number of days',
    );
    expect(problemsOf('collect:\n  backfill_days: -1\n')).toMatch(/- collect\.backfill_days: Too small/);
  });
});

describe('loadConfig: rate share', () => {
  let dir: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    dir = makeTempDir('config-share');
  });
  afterEach(() => dir.remove());

  const shareProblem = (env: Record<string, string>): string => {
    try {
      loadConfig({ dataDir: dir.path, env });
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  };

  it('refuses a share that leaves less than one request per window, naming the smallest that works', () => {
    const message = shareProblem({ ZEROTRAIL_CF_RATE_SHARE: '1e-9' });
    expect(message).toContain('- cloudflare.rate_share: 1e-9 of 1200 requests per 300 seconds');
    expect(message).toContain('the smallest share that works with this limit is 0.00084');
    expect(shareProblem({ ZEROTRAIL_CF_RATE_SHARE: '0.00084' })).toBe('');
    expect(shareProblem({ ZEROTRAIL_CF_RATE_SHARE: '0.0005', ZEROTRAIL_CF_RATE_LIMIT: '6000/300' })).toBe('');
    expect(shareProblem({ ZEROTRAIL_CF_RATE_SHARE: '0.5', ZEROTRAIL_CF_RATE_LIMIT: '1/60' })).toContain(
      'the smallest share that works with this limit is 1',
    );
  });

  const problemLines = (env: Record<string, string>, yaml = ''): string[] => {
    writeFileSync(join(dir.path, 'config.yaml'), yaml);
    return shareProblem(env)
      .split('\n')
      .filter((line) => line.startsWith('  - '));
  };

  it('reports a rate limit that does not parse, or a share out of range, once, and no share problem from it', () => {
    expect(problemLines({ ZEROTRAIL_CF_RATE_LIMIT: 'abc' })).toEqual([
      '  - cloudflare.rate_limit: expected REQUESTS/SECONDS, for example 1200/300 (set by ZEROTRAIL_CF_RATE_LIMIT)',
    ]);
    expect(problemLines({ ZEROTRAIL_CF_RATE_LIMIT: '0/300' })).toEqual([
      '  - cloudflare.rate_limit: both numbers must be greater than 0 (set by ZEROTRAIL_CF_RATE_LIMIT)',
    ]);
    expect(problemLines({}, 'cloudflare:\n  rate_limit: 0/300\n')).toEqual([
      '  - cloudflare.rate_limit: both numbers must be greater than 0',
    ]);
    // Past a day, or past a billion requests, is a typo whose waits would overflow a timer.
    expect(problemLines({ ZEROTRAIL_CF_RATE_LIMIT: '1200/99999999999' })).toEqual([
      "  - cloudflare.rate_limit: the window (after the /) is at most 86400 seconds, a day; Cloudflare's is 300 (set by ZEROTRAIL_CF_RATE_LIMIT)",
    ]);
    expect(problemLines({ ZEROTRAIL_CF_RATE_LIMIT: '99999999999999999999/1' })).toEqual([
      '  - cloudflare.rate_limit: at most 1,000,000,000 requests per window (set by ZEROTRAIL_CF_RATE_LIMIT)',
    ]);
    expect(problemLines({}, 'cloudflare:\n  rate_limit: 1200\n')).toEqual([
      '  - cloudflare.rate_limit: Invalid input: expected string, received number',
    ]);
    expect(problemLines({ ZEROTRAIL_CF_RATE_SHARE: '0' })).toEqual([
      '  - cloudflare.rate_share: Too small: expected number to be >0 (set by ZEROTRAIL_CF_RATE_SHARE)',
    ]);
    expect(problemLines({ ZEROTRAIL_CF_RATE_SHARE: 'half', ZEROTRAIL_CF_RATE_LIMIT: '1200 per 300' })).toEqual([
      '  - cloudflare.rate_limit: expected REQUESTS/SECONDS, for example 1200/300 (set by ZEROTRAIL_CF_RATE_LIMIT)',
      '  - cloudflare.rate_share: expected a number, got the text "half" (set by ZEROTRAIL_CF_RATE_SHARE)',
    ]);
  });

  it('still checks the share against the limit beside an unrelated problem, and not on a section that is no mapping', () => {
    expect(
      problemLines({ ZEROTRAIL_CF_RATE_SHARE: '1e-9' }, 'cloudflare:\n  page_size: 0\n  rate_limitt: 5\n'),
    ).toEqual([
      '  - cloudflare.page_size: Too small: expected number to be >=1',
      '  - cloudflare: Unrecognized key: "rate_limitt"',
      '  - cloudflare.rate_share: 1e-9 of 1200 requests per 300 seconds is less than one request per window, too little to collect with; the smallest share that works with this limit is 0.00084 (set by ZEROTRAIL_CF_RATE_SHARE)',
    ]);
    expect(problemLines({}, 'cloudflare: 5\n')).toEqual([
      '  - cloudflare: Invalid input: expected object, received number',
    ]);
  });

  it('names a smallest share that itself passes, for any limit', () => {
    for (let requests = 1; requests <= 100_000; requests += requests < 2000 ? 1 : 97) {
      const suggested = Number(
        /is ([\d.e-]+)$/.exec(rateShareProblem(1e-12, { requests, windowSecs: 300 }) ?? '')?.[1],
      );
      expect(rateShareProblem(suggested, { requests, windowSecs: 300 }), `${requests} requests`).toBeUndefined();
      // Not far above what the limit needs: two significant digits, rounded up.
      expect(suggested * requests, `${requests} requests`).toBeLessThan(1.1);
    }
  });
});

describe('loadConfig: URLs', () => {
  let dir: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    dir = makeTempDir('config-url');
  });
  afterEach(() => dir.remove());

  const urlProblem = (env: Record<string, string>, yaml = ''): string => {
    writeFileSync(join(dir.path, 'config.yaml'), yaml);
    try {
      loadConfig({ dataDir: dir.path, env });
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  };

  it('refuses a user name or password in a URL without repeating it', () => {
    const message = urlProblem(
      { CLOUDFLARE_API_BASE_URL: 'http://someone:pa55word@127.0.0.1:19101/client/v4' },
      'notify:\n  link_base_url: https://viewer@zerotrail.example.com/\n',
    );
    expect(message).toContain('- cloudflare.api_base_url: a user name or password in the URL');
    expect(message).toContain('- notify.link_base_url: a user name or password in the URL');
    expect(message).not.toContain('pa55word');
    expect(message).not.toContain('someone');
    expect(message).not.toContain('viewer');
  });

  it('refuses a query string or a fragment, which the paths appended to the URL would land in, without repeating it', () => {
    const message = urlProblem(
      { CLOUDFLARE_API_BASE_URL: 'http://127.0.0.1:19101/client/v4?key=s3cr3t' },
      'notify:\n  link_base_url: https://zerotrail.example.com/#private-anchor\n',
    );
    expect(message).toContain(
      '- cloudflare.api_base_url: a query string (from "?" on) is not allowed, as paths are added to the end of this URL; remove it',
    );
    expect(message).toContain(
      '- notify.link_base_url: a fragment (from "#" on) is not allowed, as paths are added to the end of this URL; remove it',
    );
    expect(message).not.toContain('s3cr3t');
    expect(message).not.toContain('private-anchor');
    // Even an empty one: the text after the base URL would still be cut off at it.
    expect(urlProblem({ CLOUDFLARE_API_BASE_URL: 'http://127.0.0.1:19101/client/v4?' })).toContain(
      'cloudflare.api_base_url: a query string',
    );
    expect(urlProblem({ CLOUDFLARE_API_BASE_URL: 'http://127.0.0.1:19101/client/v4#' })).toContain(
      'cloudflare.api_base_url: a fragment',
    );
    const both = urlProblem({ CLOUDFLARE_API_BASE_URL: 'http://127.0.0.1:19101/client/v4?x=1#y' });
    expect(both).toContain('a query string');
    expect(both).toContain('a fragment');
  });

  it('accepts only http and https, and says so', () => {
    expect(urlProblem({ CLOUDFLARE_API_BASE_URL: 'ftp://x/y' })).toContain(
      '- cloudflare.api_base_url: only http:// and https:// URLs are accepted, not ftp://',
    );
    expect(urlProblem({ CLOUDFLARE_API_BASE_URL: 'api.cloudflare.com/client/v4' })).toContain(
      '- cloudflare.api_base_url: expected an http:// or https:// URL',
    );
    expect(urlProblem({ CLOUDFLARE_API_BASE_URL: 'http://127.0.0.1:19101/client/v4' })).toBe('');
  });
});

describe('loadConfig: empty flags', () => {
  it('refuses an empty --data-dir or --config with every other problem, instead of using the working directory', () => {
    let message = '';
    let hint: string | undefined;
    try {
      loadConfig({ dataDir: '', configPath: '', env: { ZEROTRAIL_CF_RATE_SHARE: '2' } });
    } catch (error) {
      message = (error as Error).message;
      hint = (error as AppError).hint;
    }
    expect(message).toContain('- --data-dir: is empty');
    expect(message).toContain('- --config: is empty');
    expect(message).toContain('- cloudflare.rate_share:');
    expect(hint).toContain('Leave --data-dir out to use ZEROTRAIL_DATA_DIR, or else ./zerotrail-data.');
  });

  it('takes an empty ZEROTRAIL_DATA_DIR as unset', () => {
    expect(loadConfig({ env: { ZEROTRAIL_DATA_DIR: '' } }).dataDir).toBe(resolve('./zerotrail-data'));
  });
});
