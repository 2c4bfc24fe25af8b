/**
 * IP address parsing and RFC 5952 formatting shared by the normalizer (canonical text) and the store
 * (sortable keys, CIDR ranges). IPv6 addresses are 16 bytes; IPv4 is 4 bytes or, mapped, `::ffff:a.b.c.d`.
 */

/** Four decimal octets; leading zeros are refused because some parsers read them as octal. */
export function parseIpv4Bytes(text: string): Uint8Array | null {
  // One pass over the characters: this runs for nearly every collected event.
  const bytes = new Uint8Array(4);
  let octet = 0;
  let value = 0;
  let digits = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === DOT) {
      if (digits === 0 || octet === 3) return null;
      bytes[octet] = value;
      octet += 1;
      value = 0;
      digits = 0;
      continue;
    }
    if (code < DIGIT_0 || code > DIGIT_9 || (digits === 1 && value === 0)) return null;
    value = value * 10 + (code - DIGIT_0);
    digits += 1;
    if (value > 255) return null;
  }
  if (octet !== 3 || digits === 0) return null;
  bytes[3] = value;
  return bytes;
}

const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * Eight hex groups with at most one `::` and an optional dotted IPv4 tail. A zone identifier
 * (`fe80::1%eth0`) names a local interface, not part of the address: `zone` says whether to drop or refuse it.
 */
export function parseIpv6Bytes(input: string, zone: 'strip' | 'refuse'): Uint8Array | null {
  const percent = input.indexOf('%');
  if (percent !== -1 && zone === 'refuse') return null;
  const text = percent === -1 ? input : input.slice(0, percent);
  if (text.length === 0 || text.length > 45) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseSide = (side: string, allowV4Tail: boolean): number[] | null => {
    if (side === '') return [];
    const pieces = side.split(':');
    const groups: number[] = [];
    for (const [index, piece] of pieces.entries()) {
      if (allowV4Tail && index === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4Bytes(piece);
        if (v4 === null) return null;
        groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
      groups.push(Number.parseInt(piece, 16));
    }
    return groups;
  };
  let groups: number[];
  if (halves.length === 1) {
    const all = parseSide(text, true);
    if (all === null || all.length !== 8) return null;
    groups = all;
  } else {
    const left = parseSide(halves[0] ?? '', false);
    const right = parseSide(halves[1] ?? '', true);
    if (left === null || right === null || left.length + right.length > 7) return null;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  }
  const bytes = new Uint8Array(16);
  for (const [index, group] of groups.entries()) {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  }
  return bytes;
}

/** IPv4 bytes in the IPv4-mapped IPv6 range (RFC 4291 §2.5.5.2). */
export function mapIpv4(bytes: Uint8Array): Uint8Array {
  const mapped = new Uint8Array(16);
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  mapped.set(bytes, 12);
  return mapped;
}

export function formatIpv4(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  return Array.from(bytes).join('.');
}

/**
 * RFC 5952 text: lowercase, no leading zeros, the first longest run of two or more zero groups as `::`.
 * With `mappedTail`, an IPv4-mapped address keeps its last 32 bits in dotted form (`::ffff:192.0.2.1`).
 */
export function formatIpv6(bytes: Uint8Array, mappedTail = false): string {
  const groups: number[] = [];
  for (let index = 0; index < 16; index += 2) groups.push(((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0));
  const isMapped = mappedTail && groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  const hexGroups = isMapped ? groups.slice(0, 6) : groups;
  let bestStart = -1;
  let bestLength = 1;
  for (let index = 0; index < hexGroups.length;) {
    if (hexGroups[index] !== 0) {
      index += 1;
      continue;
    }
    let end = index;
    while (end < hexGroups.length && hexGroups[end] === 0) end += 1;
    if (end - index > bestLength) {
      bestStart = index;
      bestLength = end - index;
    }
    index = end;
  }
  const hex = hexGroups.map((group) => group.toString(16));
  const head =
    bestStart === -1
      ? hex.join(':')
      : `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
  if (!isMapped) return head;
  const tail = formatIpv4(bytes.subarray(12));
  return head.endsWith(':') ? `${head}${tail}` : `${head}:${tail}`;
}
