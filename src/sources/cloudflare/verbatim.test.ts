import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { verbatim } from './verbatim.js';

describe('verbatim', () => {
  const schema = verbatim(z.looseObject({ id: z.string(), action: z.looseObject({ time: z.string() }) }));

  it('returns the value itself, keys in the order they came', () => {
    const value = { account: { id: 'a' }, action: { description: 'd', time: 't' }, id: 'x' };
    const parsed = schema.parse(value);
    expect(parsed).toBe(value);
    expect(JSON.stringify(parsed)).toBe(JSON.stringify(value));
  });

  it('reports what the schema rejects, with its path', () => {
    const result = schema.safeParse({ id: 'x', action: { time: 5 } });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['action.time']);
  });
});
