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
  const parsed = version === 4 ? parseIpv4(addressText) : parseIpv6(addressText);
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
  if (address.includes(':')) return parseIpv6(address);
  const v4 = parseIpv4(address);
  if (v4 === null) return null;
  const mapped = new Uint8Array(16);
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  mapped.set(v4, 12);
  return mapped;
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (const [index, part] of parts.entries()) {
    // Leading zeros are rejected: some parsers read them as octal, so their meaning is ambiguous.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[index] = value;
  }
  return bytes;
}

function parseIpv6(input: string): Uint8Array | null {
  // A zone id (`fe80::1%eth0`) names a local interface; it is not part of the address.
  const percent = input.indexOf('%');
  const text = (percent === -1 ? input : input.slice(0, percent)).toLowerCase();
  if (text.length === 0 || text.length > 45) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' || halves[0] === undefined ? [] : halves[0].split(':');
  const tail = halves.length === 2 && halves[1] !== '' && halves[1] !== undefined ? halves[1].split(':') : [];
  const groups: number[] = [];
  const pushGroups = (parts: readonly string[], allowV4Tail: boolean): boolean => {
    for (const [index, part] of parts.entries()) {
      if (allowV4Tail && index === parts.length - 1 && part.includes('.')) {
        const v4 = parseIpv4(part);
        if (v4 === null) return false;
        groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
        continue;
      }
      if (!/^[0-9a-f]{1,4}$/.test(part)) return false;
      groups.push(parseInt(part, 16));
    }
    return true;
  };
  if (halves.length === 1) {
    if (!pushGroups(head, true) || groups.length !== 8) return null;
  } else {
    if (!pushGroups(head, false)) return null;
    const headCount = groups.length;
    const tailGroups: number[] = [];
    const saved = groups.splice(0);
    if (!pushGroups(tail, true)) return null;
    tailGroups.push(...groups.splice(0));
    if (headCount + tailGroups.length > 7) return null;
    groups.push(...saved, ...new Array<number>(8 - headCount - tailGroups.length).fill(0), ...tailGroups);
  }
  const bytes = new Uint8Array(16);
  for (const [index, group] of groups.entries()) {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  }
  return bytes;
}

function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

function formatIpv4(bytes: Uint8Array): string {
  return Array.from(bytes).join('.');
}

// RFC 5952 canonical text: lowercase, no leading zeros, the longest run of two or more zero groups as `::`.
function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let index = 0; index < 16; index += 2) groups.push(((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let index = 0; index < 8;) {
    if (groups[index] !== 0) {
      index += 1;
      continue;
    }
    let end = index;
    while (end < 8 && groups[end] === 0) end += 1;
    if (end - index > bestLength) {
      bestStart = index;
      bestLength = end - index;
    }
    index = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
