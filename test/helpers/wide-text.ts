/**
 * `length` CJK characters, 3 bytes of UTF-8 each, in no repeating pattern: text PostgreSQL cannot compress below its
 * index row limit, as it would a repetitive one. Another `offset` gives another text of the same kind.
 */
export function incompressibleCjk(length: number, offset = 0): string {
  return Array.from({ length }, (_, n) => String.fromCodePoint(0x4e00 + ((n * 7919 + offset) % 20000))).join('');
}
