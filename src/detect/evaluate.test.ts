import { describe, expect, it } from 'vitest';
import { EvaluationState } from './evaluate.js';

// A source that holds texts per rule and key, and records every key it was asked for.
function sourceOf(texts: Record<string, string>) {
  const asked: string[] = [];
  return {
    asked,
    load(ruleId: string, keys: readonly string[]) {
      asked.push(...keys.map((key) => `${ruleId}/${key}`));
      const found = new Map<string, string>();
      for (const key of keys) {
        const text = texts[`${ruleId}/${key}`];
        if (text !== undefined) found.set(key, text);
      }
      return Promise.resolve(found);
    },
  };
}

describe('EvaluationState', () => {
  it('reads each key from the source once across batches, and later batches see what earlier ones changed', async () => {
    const source = sourceOf({ 'r/alice': '{"n":1}', 'r/bob': '{"n":5}' });
    const state = new EvaluationState(source);
    const first = await state.view('r', ['alice', 'carol']);
    const alice = first.get('alice') as { n: number };
    alice.n += 1;
    first.set('alice', alice);
    expect(first.get('carol')).toBeUndefined();
    first.set('carol', { n: 1 });

    const second = await state.view('r', ['alice', 'bob', 'carol']);
    expect(second.get('alice')).toEqual({ n: 2 });
    expect(second.get('carol')).toEqual({ n: 1 });
    expect(second.get('bob')).toEqual({ n: 5 });
    second.set('carol', undefined);
    expect(source.asked).toEqual(['r/alice', 'r/carol', 'r/bob']);
    // Only what a rule set is written; a key set to undefined is forgotten.
    expect(state.writes()).toEqual([
      { ruleId: 'r', key: 'alice', value: '{"n":2}' },
      { ruleId: 'r', key: 'carol', value: null },
    ]);
  });

  it('answers a key no batch asked for as unknown, and reads it when a later batch asks', async () => {
    const source = sourceOf({ 'r/dave': '{"n":7}' });
    const state = new EvaluationState(source);
    const first = await state.view('r', ['alice']);
    expect(first.get('dave')).toBeUndefined();
    const second = await state.view('r', ['dave']);
    expect(second.get('dave')).toEqual({ n: 7 });
    expect(state.writes()).toEqual([]);
  });

  it('keeps each rule apart', async () => {
    const source = sourceOf({ 'r/alice': '1', 's/alice': '2' });
    const state = new EvaluationState(source);
    expect((await state.view('r', ['alice'])).get('alice')).toBe(1);
    expect((await state.view('s', ['alice'])).get('alice')).toBe(2);
  });
});
