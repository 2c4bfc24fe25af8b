import { describe, expect, it } from 'vitest';
import { jsonTextOf, MAX_VALUE_DEPTH, nestedDeeperThan } from './deep-json.js';

function nested(depth: number, kind: 'array' | 'object'): unknown {
  let value: unknown = 'core';
  for (let n = 0; n < depth; n++) value = kind === 'array' ? [value, n] : { a: value, n };
  return value;
}

describe('deep JSON values', () => {
  it('measures nesting without recursion, at any depth', () => {
    expect(nestedDeeperThan({ a: 1, b: [1, { c: 'x' }] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: 1, b: [1, { c: 'x' }] }, 2)).toBe(true);
    expect(nestedDeeperThan('text', 0)).toBe(false);
    expect(nestedDeeperThan(nested(MAX_VALUE_DEPTH, 'object'), MAX_VALUE_DEPTH)).toBe(false);
    expect(nestedDeeperThan(nested(MAX_VALUE_DEPTH + 1, 'array'), MAX_VALUE_DEPTH)).toBe(true);
    expect(nestedDeeperThan(nested(100_000, 'object'), MAX_VALUE_DEPTH)).toBe(true);
  });

  it('writes the very text JSON.stringify writes, key order, escapes and empty containers included', () => {
    const samples: unknown[] = [
      { b: 1, a: [true, null, -0.5, 'é\u0000"\\\ud800'], c: {}, d: [], e: { f: [[{}]] } },
      [],
      'plain',
      42,
      null,
      JSON.parse('{"__proto__":{"x":1},"1":2,"a":3}'),
      nested(150, 'array'),
    ];
    for (const sample of samples) expect(jsonTextOf(sample)).toBe(JSON.stringify(sample));
  });

  it('writes a value too deep for JSON.stringify, and the text parses back to it', () => {
    const deep = nested(50_000, 'object');
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    const text = jsonTextOf(deep);
    expect(text.startsWith('{"a":{"a":')).toBe(true);
    expect(text).toContain('{"a":"core","n":0},"n":1}');
    expect(text.endsWith(',"n":49999}')).toBe(true);
    expect(nestedDeeperThan(JSON.parse(text), 49_999)).toBe(true);
  });
});
