import { formatIpv4, formatIpv6, parseIpv4Bytes, parseIpv6Bytes } from '../core/ip-address.js';

/**
 * The canonical text form of an IP address, or null when the text is not one: IPv4 as four decimal
 * octets without leading zeros; IPv6 in RFC 5952 form, IPv4-mapped addresses keeping the dotted tail.
 * Zone identifiers (`fe80::1%eth0`) are rejected: they mean nothing outside the host.
 */
export function canonicalIp(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed.includes(':')) {
    const bytes = parseIpv6Bytes(trimmed, 'refuse');
    return bytes === null ? null : formatIpv6(bytes, true);
  }
  const bytes = parseIpv4Bytes(trimmed);
  return bytes === null ? null : formatIpv4(bytes);
}
