import { describe, expect, it } from 'vitest';
import { mapIpv4, parseIpv4Bytes, parseIpv6Bytes } from '../../core/ip-address.js';
import { globMatches, inCidr, parseCidr, wildcardTokens } from './field-matcher.js';

const ANY = { wildcard: '*' };
const ONE = { wildcard: '?' };

describe('wildcardTokens', () => {
  it('splits text into characters and wildcards', () => {
    expect(wildcardTokens('a*b?')).toEqual(['a', ANY, 'b', ONE]);
    expect(wildcardTokens('')).toEqual([]);
  });

  it('follows the Sigma escaping rules', () => {
    expect(wildcardTokens(String.raw`\*`)).toEqual(['*']);
    expect(wildcardTokens(String.raw`\?`)).toEqual(['?']);
    expect(wildcardTokens(String.raw`\\*`)).toEqual(['\\', ANY]);
    expect(wildcardTokens(String.raw`\\\*`)).toEqual(['\\', '*']);
    expect(wildcardTokens(String.raw`\\\\`)).toEqual(['\\', '\\']);
    expect(wildcardTokens('\\\\\\')).toEqual(['\\', '\\']);
    expect(wildcardTokens(String.raw`C:\Windows`)).toEqual(['C', ':', '\\', ...'Windows']);
    expect(wildcardTokens('\\')).toEqual(['\\']);
  });
});

describe('globMatches', () => {
  const glob = (pattern: string, text: string): boolean => globMatches(wildcardTokens(pattern), Array.from(text));

  it('matches * and ? anywhere', () => {
    expect(glob('a*c', 'abbbc')).toBe(true);
    expect(glob('a*c', 'ac')).toBe(true);
    expect(glob('a*c', 'acb')).toBe(false);
    expect(glob('*', '')).toBe(true);
    expect(glob('?', '')).toBe(false);
    expect(glob('a?c', 'abc')).toBe(true);
    expect(glob('a?c', 'ac')).toBe(false);
    expect(glob('*ab*ab', 'xxabyyabab')).toBe(true);
    expect(glob('*ab*ab', 'xxabyyaba')).toBe(false);
    expect(glob('', '')).toBe(true);
    expect(glob('', 'a')).toBe(false);
  });

  it('reads ? as one code point', () => {
    expect(glob('a?b', 'a\u{1F600}b')).toBe(true);
    expect(glob('a??b', 'a\u{1F600}b')).toBe(false);
  });

  it('settles a pattern of many wildcards against a long value that almost matches', () => {
    const pattern = `${'*a'.repeat(30)}*b`;
    expect(glob(pattern, 'a'.repeat(20_000))).toBe(false);
    expect(glob(pattern, `${'a'.repeat(20_000)}b`)).toBe(true);
  });
});

describe('parseCidr and inCidr', () => {
  const v4 = (text: string): Uint8Array => mapIpv4(parseIpv4Bytes(text) as Uint8Array);
  const v6 = (text: string): Uint8Array => parseIpv6Bytes(text, 'refuse') as Uint8Array;

  it('reads IPv4 and IPv6 blocks and bare addresses', () => {
    expect(parseCidr('10.0.0.0/8')?.bits).toBe(104);
    expect(parseCidr('2001:db8::/32')?.bits).toBe(32);
    expect(parseCidr('192.0.2.1')?.bits).toBe(128);
    expect(parseCidr('2001:db8::1')?.bits).toBe(128);
  });

  it('refuses what is not a block', () => {
    for (const text of [
      '10.0.0.0/33',
      '2001:db8::/129',
      '10.0.0/8',
      '10.0.0.0/x',
      '10.0.0.0/',
      'host/8',
      '',
      'fe80::1%eth0/64',
    ]) {
      expect(parseCidr(text), text).toBeNull();
    }
  });

  it('compares whole and partial bytes of the prefix', () => {
    const block = parseCidr('192.0.2.0/25');
    if (block === null) throw new Error('no block');
    expect(inCidr(block, v4('192.0.2.127'))).toBe(true);
    expect(inCidr(block, v4('192.0.2.128'))).toBe(false);
    expect(inCidr(block, v4('192.0.3.1'))).toBe(false);
    expect(inCidr(block, v6('::ffff:192.0.2.5'))).toBe(true);
    expect(inCidr(block, v6('2001:db8::1'))).toBe(false);
    const odd = parseCidr('2001:db8:8000::/33');
    if (odd === null) throw new Error('no block');
    expect(inCidr(odd, v6('2001:db8:8000::1'))).toBe(true);
    expect(inCidr(odd, v6('2001:db8:7fff::1'))).toBe(false);
    const all = parseCidr('0.0.0.0/0');
    if (all === null) throw new Error('no block');
    expect(inCidr(all, v4('203.0.113.9'))).toBe(true);
    expect(inCidr(all, v6('2001:db8::1'))).toBe(false);
  });
});
