import { hash32 } from './prng.js';

const HEX = '0123456789abcdef';

/** `length` hex characters derived from (seed, key, salt). */
export function hex(seed: number, key: number, salt: number, length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++)
    out += hash32(seed, key, salt * 64 + i)
      .toString(16)
      .padStart(8, '0');
  return out.slice(0, length);
}

/** A version-4-shaped UUID derived from (seed, key, salt). */
export function uuid(seed: number, key: number, salt: number): string {
  const h = hex(seed, key, salt, 32);
  const variant = HEX[8 + (parseInt(h[16] ?? '0', 16) & 3)] ?? '8';
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** RFC 3339 in UTC with whole seconds, as the inventory endpoints render timestamps. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
