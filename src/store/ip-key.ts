import { formatIpv4, formatIpv6, mapIpv4, parseIpv4Bytes, parseIpv6Bytes } from '../core/ip-address.js';

/**
 * Turns an IPv4 or IPv6 address into a fixed-width, sortable key: 32 lowercase hex digits of the 128-bit
 * IPv6 form, with IPv4 mapped into `::ffff:0:0/96` (RFC 4291 §2.5.5.2). Lexical order of keys equals numeric
 * order of addresses, so a CIDR block becomes `ip_key BETWEEN start AND end` on a plain text index.
 * Returns null for anything that is not an address.
 */
export function ipKey(address: string): string | null {
  // Fast path for the common case; ingestion computes a key per event.
  const v4 = IPV4.exec(address);
  if (v4 !== null) {
    let key = IPV4_MAPPED_PREFIX;
    for (let index = 1; index <= 4; index += 1) {
      const part = v4[index] ?? '';
      if (part.length > 1 && part.startsWith('0')) return null;
      const value = Number(part);
      if (value > 255) return null;
      key += HEX_BYTES[value] ?? '';
    }
    return key;
  }
  const bytes = parseAddress(address);
  return bytes === null ? null : toHex(bytes);
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV4_MAPPED_PREFIX = '00000000000000000000ffff';
const HEX_BYTES = Array.from({ length: 256 }, (_, value) => value.toString(16).padStart(2, '0'));

export interface CidrRange {
  readonly version: 4 | 6;
  /** First and last address of the block, canonical lowercase text. */
  readonly start: string;
  readonly end: string;
}

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a single address (a /32 or /128 block); null when invalid. */
export function cidrRange(text: string): CidrRange | null {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const version = addressText.includes(':') ? 6 : 4;
  const bits = version === 4 ? 32 : 128;
  let prefix = bits;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText)) return null;
    prefix = Number(prefixText);
    if (prefix > bits) return null;
  }
  const parsed = version === 4 ? parseIpv4Bytes(addressText) : parseIpv6Bytes(addressText, 'strip');
  if (parsed === null) return null;
  const start = Uint8Array.from(parsed);
  const end = Uint8Array.from(parsed);
  for (let bit = prefix; bit < bits; bit += 1) {
    const index = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    start[index] = (start[index] ?? 0) & ~mask;
    end[index] = (end[index] ?? 0) | mask;
  }
  return version === 4
    ? { version, start: formatIpv4(start), end: formatIpv4(end) }
    : { version, start: formatIpv6(start), end: formatIpv6(end) };
}

function parseAddress(address: string): Uint8Array | null {
  if (address.includes(':')) return parseIpv6Bytes(address, 'strip');
  const v4 = parseIpv4Bytes(address);
  return v4 === null ? null : mapIpv4(v4);
}

function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += HEX_BYTES[byte] ?? '';
  return out;
}
