/**
 * Deterministic randomness for the simulator. Every synthetic value derives from (seed, key) through `hash32`,
 * so any event can be rebuilt from its serial number alone without keeping generated objects around.
 */
export function hash32(seed: number, key: number, salt = 0): number {
  // Serials go past 2^32 (organic day chunks), so both halves of the key feed the mix. Each input gets its own
  // round so that no two (key, salt) pairs cancel out.
  const lo = key >>> 0;
  const hi = Math.floor(key / 4294967296) >>> 0;
  return mix(mix(mix(mix(seed ^ 0x9e3779b9) ^ salt) ^ lo) ^ hi);
}

/** A further value from an already mixed hash: one round instead of four, for fields drawn from the same event. */
export function derive(base: number, salt: number): number {
  return mix(base ^ Math.imul(salt, 0x9e3779b9));
}

function mix(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A value in [0, 1) derived from (seed, key, salt). */
export function unit(seed: number, key: number, salt = 0): number {
  return hash32(seed, key, salt) / 4294967296;
}

/** A sequential seeded generator (mulberry32) for values that are drawn in order, such as timestamps. */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
