import { describe, expect, it } from 'vitest';
import { cidrRange, ipKey } from './ip-key.js';

describe('ipKey', () => {
  it('maps IPv4 into the IPv6 space so both share one ordering', () => {
    expect(ipKey('192.0.2.1')).toBe('00000000000000000000ffffc0000201');
    expect(ipKey('::ffff:192.0.2.1')).toBe('00000000000000000000ffffc0000201');
    expect(ipKey('0.0.0.0')).toBe('00000000000000000000ffff00000000');
  });

  it('expands every IPv6 spelling to the same 32 hex digits', () => {
    const expected = '20010db8000000000000000000000042';
    for (const spelling of ['2001:db8::42', '2001:DB8:0:0:0:0:0:42', '2001:0db8::0:42', '2001:db8::42%eth0']) {
      expect(ipKey(spelling), spelling).toBe(expected);
    }
    expect(ipKey('::')).toBe('0'.repeat(32));
    expect(ipKey('::1')).toBe(`${'0'.repeat(31)}1`);
  });

  it('sorts keys in address order', () => {
    const addresses = ['10.0.0.2', '9.255.255.255', '10.0.0.10', '::1', '2001:db8::1', 'fe80::1', '255.255.255.255'];
    const sorted = [...addresses].sort((a, b) => ((ipKey(a) ?? '') < (ipKey(b) ?? '') ? -1 : 1));
    expect(sorted).toEqual([
      '::1',
      '9.255.255.255',
      '10.0.0.2',
      '10.0.0.10',
      '255.255.255.255',
      '2001:db8::1',
      'fe80::1',
    ]);
  });

  it('rejects what is not an address', () => {
    for (const bad of [
      '',
      'alice',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      '2001:db8::g',
      '12345::',
    ]) {
      expect(ipKey(bad), bad).toBeNull();
    }
  });
});

describe('cidrRange', () => {
  it('computes the first and last address of a block', () => {
    expect(cidrRange('10.0.0.0/8')).toEqual({ version: 4, start: '10.0.0.0', end: '10.255.255.255' });
    expect(cidrRange('192.0.2.77/25')).toEqual({ version: 4, start: '192.0.2.0', end: '192.0.2.127' });
    expect(cidrRange('0.0.0.0/0')).toEqual({ version: 4, start: '0.0.0.0', end: '255.255.255.255' });
    expect(cidrRange('2001:db8::/32')).toEqual({
      version: 6,
      start: '2001:db8::',
      end: '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff',
    });
    expect(cidrRange('2001:db8::1/128')).toEqual({ version: 6, start: '2001:db8::1', end: '2001:db8::1' });
    expect(cidrRange('192.0.2.9')).toEqual({ version: 4, start: '192.0.2.9', end: '192.0.2.9' });
  });

  it('rejects bad prefixes and addresses', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/-1', '2001:db8::/129', 'x/8', '10.0.0.0/8/8']) {
      expect(cidrRange(bad), bad).toBeNull();
    }
  });
});
