import { describe, expect, it } from 'vitest';
import { formatIpv4, parseIpv4Bytes } from './ip-address.js';

describe('parseIpv4Bytes', () => {
  it('reads four decimal octets', () => {
    expect(Array.from(parseIpv4Bytes('192.0.2.10') ?? [])).toEqual([192, 0, 2, 10]);
    expect(Array.from(parseIpv4Bytes('0.0.0.0') ?? [])).toEqual([0, 0, 0, 0]);
    expect(Array.from(parseIpv4Bytes('255.255.255.255') ?? [])).toEqual([255, 255, 255, 255]);
  });

  it.each([
    ['', 'empty'],
    ['1.2.3', 'three octets'],
    ['1.2.3.4.5', 'five octets'],
    ['1.2.3.', 'an empty last octet'],
    ['.1.2.3', 'an empty first octet'],
    ['1..2.3', 'an empty octet'],
    ['1.2.3.256', 'an octet above 255'],
    ['1.2.3.1000', 'four digits'],
    ['01.2.3.4', 'a leading zero'],
    ['1.2.3.00', 'a doubled zero'],
    ['1.2.3.4 ', 'a trailing space'],
    ['1.2.-3.4', 'a sign'],
    ['1.2.٣.4', 'a non-ASCII digit'],
    ['1.2.3.4/8', 'a prefix length'],
  ])('refuses %j (%s)', (text) => {
    expect(parseIpv4Bytes(text)).toBeNull();
  });
});

describe('formatIpv4', () => {
  it('writes the octets in decimal', () => {
    expect(formatIpv4(Uint8Array.from([192, 0, 2, 1]))).toBe('192.0.2.1');
  });
});
