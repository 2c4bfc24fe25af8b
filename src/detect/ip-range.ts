import { mapIpv4, parseIpv4Bytes, parseIpv6Bytes } from '../core/ip-address.js';

/** An address range as 16 bytes (IPv4 mapped) and a prefix length over them. */
export interface IpRange {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** 16 bytes of an IPv4 or IPv6 address, or null when the text is neither. */
export function ipBytes(text: string): Uint8Array | null {
  const v4 = parseIpv4Bytes(text);
  if (v4 !== null) return mapIpv4(v4);
  return parseIpv6Bytes(text, 'strip');
}

/** `203.0.113.0/24`, `2001:db8::/32` or a single address; null when it is none of these. */
export function parseIpRange(text: string): IpRange | null {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const bytes = ipBytes(address.trim());
  if (bytes === null) return null;
  const isV4 = parseIpv4Bytes(address.trim()) !== null;
  const max = isV4 ? 32 : 128;
  if (slash === -1) return { bytes, prefix: 128 };
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return null;
  const length = Number(bits);
  if (length > max) return null;
  return { bytes, prefix: isV4 ? length + 96 : length };
}

export function inRange(address: Uint8Array, range: IpRange): boolean {
  let bits = range.prefix;
  for (let i = 0; i < 16 && bits > 0; i += 1) {
    const take = Math.min(8, bits);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((address[i] ?? 0) & mask) !== ((range.bytes[i] ?? 0) & mask)) return false;
    bits -= take;
  }
  return true;
}

/**
 * The network an address belongs to for grouping: the /24 of an IPv4 address, the /48 of an IPv6 one (the
 * usual size of one site's allocation). Null for text that is not an address.
 */
export function networkOf(text: string): string | null {
  const v4 = parseIpv4Bytes(text);
  if (v4 !== null) return `${v4[0]}.${v4[1]}.${v4[2]}.0/24`;
  const v6 = parseIpv6Bytes(text, 'strip');
  if (v6 === null) return null;
  const groups: string[] = [];
  for (let i = 0; i < 6; i += 2) groups.push((((v6[i] ?? 0) << 8) | (v6[i + 1] ?? 0)).toString(16));
  return `${groups.join(':')}::/48`;
}
