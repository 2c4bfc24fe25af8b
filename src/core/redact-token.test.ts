import { describe, expect, it } from 'vitest';
import { mayBeCredential, maskWords, redactToken, tokenShapedWords } from './redact-token.js';

const TOKEN = 'Q7fZ2mXk9LpR4tVb8NcW1yHd6JsE3uGa5oTi0wKe';

describe('redactToken', () => {
  it('removes the whole token wherever it is, with or without Bearer', () => {
    expect(redactToken(`Authentication error: bad header Bearer ${TOKEN}`, TOKEN)).toBe(
      'Authentication error: bad header Bearer [redacted]',
    );
    expect(redactToken(`header value "${TOKEN}" twice: ${TOKEN}.`, TOKEN)).toBe(
      'header value "[redacted]" twice: [redacted].',
    );
  });

  it('removes a truncated echo of 8 or more characters from any part of the token', () => {
    expect(redactToken(`token ${TOKEN.slice(0, 8)}... rejected`, TOKEN)).toBe('token [redacted]... rejected');
    expect(redactToken(`…${TOKEN.slice(-12)}`, TOKEN)).toBe('…[redacted]');
    expect(redactToken(`mid=${TOKEN.slice(10, 30)}&x=1`, TOKEN)).toBe('mid=[redacted]&x=1');
    // Two echoes that overlap each other in the token, back to back: neither may leave a part behind.
    expect(redactToken(`${TOKEN.slice(0, 20)}${TOKEN.slice(5, 25)}`, TOKEN)).toBe('[redacted]');
  });

  it('keeps runs shorter than 8 characters, such as the last four the UI shows', () => {
    expect(redactToken(`token ending ${TOKEN.slice(-4)}, prefix ${TOKEN.slice(0, 7)}`, TOKEN)).toBe(
      `token ending ${TOKEN.slice(-4)}, prefix ${TOKEN.slice(0, 7)}`,
    );
  });

  it('removes any Bearer value, known token or not, up to the character that closes it', () => {
    expect(redactToken('GET /client/v4/x Authorization: Bearer abc.def-123_x, accept: */*')).toBe(
      'GET /client/v4/x Authorization: Bearer [redacted], accept: */*',
    );
    expect(redactToken('{"authorization":"bearer\tsomething-else"}', TOKEN)).toBe(
      '{"authorization":"bearer\t[redacted]"}',
    );
  });

  it('leaves text without credentials as it is, our own advice about the Bearer prefix included', () => {
    const text =
      'Cloudflare could not read the API token from the Authorization header (HTTP 400, 6003 Invalid request headers). Paste the token again, without quotes, spaces or a "Bearer " prefix.';
    expect(redactToken(text, TOKEN)).toBe(text);
    expect(redactToken(text)).toBe(text);
    expect(redactToken('', TOKEN)).toBe('');
  });
});

describe('mayBeCredential', () => {
  it('takes a generated token, whole or after Bearer, for a credential', () => {
    expect(mayBeCredential(TOKEN)).toBe(true);
    expect(mayBeCredential(`Bearer ${TOKEN}`)).toBe(true);
    expect(mayBeCredential('bearer x')).toBe(true);
  });

  it('leaves variable names, Account IDs and their typos to be shown', () => {
    for (const value of ['CLOUDFLARE_API_TOKEN', 'CF_TOKEN_2024', 'cf_token', '0123456789abcdef0123456789abcde', 'x']) {
      expect(mayBeCredential(value), value).toBe(false);
    }
  });
});

describe('tokenShapedWords and maskWords', () => {
  const token = 'Q7fZ2mXk9LpR4tVb8NcW1yHd6JsE3uGa5oTi0wKe';
  const masked = '*'.repeat(40);

  it('hide a token typed in an argument wherever the refusal repeats it, keeping its length', () => {
    const words = tokenShapedWords(['search', `user:${token} AND (`, '--from', token]);
    expect(words).toEqual([token, token]);
    expect(maskWords(`--from: expected a time, got "${token}"`, words)).toBe(
      `--from: expected a time, got "${masked}"`,
    );
    expect(maskWords(`user:${token} AND (\n     ^`, words)).toBe(`user:${masked} AND (\n     ^`);
  });

  it('leave paths, ids, hashes and words as they are', () => {
    const args = [
      '--data-dir',
      '/tmp/zerotrail-no-installation-jX1HEP2aB/typo',
      'account:0123456789abcdef0123456789abcdef',
      '9f86d081884c7d659a2feaa0c55ad015',
      'ZEROTRAIL_COLLECT__FAILED_RECHECK_SECS',
      'Cloudflare-Zero-Trust-Logs-Production-Account',
    ];
    expect(tokenShapedWords(args)).toEqual([]);
  });
});
