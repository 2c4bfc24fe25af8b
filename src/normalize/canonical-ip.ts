/**
 * The canonical text form of an IP address, or null when the text is not one: IPv4 as four decimal
 * octets without leading zeros; IPv6 in RFC 5952 form (lowercase, no leading zeros, the longest run of
 * two or more zero groups shortened to "::", the first run on a tie, IPv4-mapped addresses keeping the
 * dotted tail). Zone identifiers (`fe80::1%eth0`) are rejected: they mean nothing outside the host.
 */
export function canonicalIp(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed.includes(':')) return canonicalIpv6(trimmed);
  const v4 = parseIpv4(trimmed);
  return v4 === null ? null : v4.join('.');
}

function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const octets: number[] = [];
  for (const part of parts) {
    // Leading zeros are refused: some parsers read them as octal, so the meaning is ambiguous.
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    octets.push(value);
  }
  return octets;
}

function canonicalIpv6(text: string): string | null {
  const groups = parseIpv6(text);
  if (groups === null) return null;
  const isMapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  const hexGroups = isMapped ? groups.slice(0, 6) : groups;
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < hexGroups.length;) {
    if (hexGroups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < hexGroups.length && hexGroups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = hexGroups.map((g) => g.toString(16));
  let head: string;
  if (bestLength >= 2) {
    const before = hex.slice(0, bestStart).join(':');
    const after = hex.slice(bestStart + bestLength).join(':');
    head = `${before}::${after}`;
  } else {
    head = hex.join(':');
  }
  if (!isMapped) return head;
  const tail = groups
    .slice(6)
    .flatMap((g) => [g >> 8, g & 0xff])
    .join('.');
  return head.endsWith(':') ? `${head}${tail}` : `${head}:${tail}`;
}

function parseIpv6(text: string): number[] | null {
  if (text.includes('%')) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseSide = (side: string, allowV4Tail: boolean): number[] | null => {
    if (side === '') return [];
    const pieces = side.split(':');
    const out: number[] = [];
    for (const [index, piece] of pieces.entries()) {
      if (allowV4Tail && index === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (v4 === null) return null;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
      out.push(Number.parseInt(piece, 16));
    }
    return out;
  };
  if (halves.length === 1) {
    const all = parseSide(text, true);
    return all !== null && all.length === 8 ? all : null;
  }
  const left = parseSide(halves[0] ?? '', false);
  const right = parseSide(halves[1] ?? '', true);
  if (left === null || right === null || left.length + right.length > 7) return null;
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
