import { describe, expect, it } from 'vitest';
import { joinOcsfBody, ocsfBody } from './ocsf-body.js';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

const shared = deepFreeze({ name: 'user.email_addr', value: 'ann@example.com', data: { uid: 'u1', list: [1, 'x'] } });

describe('ocsfBody', () => {
  const cases: [string, Record<string, unknown>, boolean][] = [
    ['shared enrichments last', { a: 1, b: { c: 'd' }, enrichments: [shared, shared] }, true],
    ['only enrichments', { enrichments: [shared] }, true],
    ['text that needs escapes', { 'quo"te': 'line\n\u2028\ud800', enrichments: [shared] }, true],
    ['integer-like keys before the rest', { 2: 'two', enrichments: [shared] }, true],
    ['enrichments not last', { enrichments: [shared], after: 1 }, false],
    ['an unfrozen item', { enrichments: [{ ...shared }] }, false],
    ['a frozen item holding an unfrozen value', { enrichments: [Object.freeze({ inner: { x: 1 } })] }, false],
    [
      'a frozen item with a getter',
      { enrichments: [Object.freeze(Object.defineProperty({}, 'g', { get: () => 1, enumerable: true }))] },
      false,
    ],
    ['a frozen Date', { enrichments: [Object.freeze(new Date(0))] }, false],
    ['a primitive item', { enrichments: [shared, 'text'] }, false],
    ['no items', { enrichments: [] }, false],
    ['no enrichments', { a: [shared] }, false],
    ['an undefined member before them', { u: undefined, enrichments: [shared] }, true],
  ];
  for (const [name, ocsf, split] of cases) {
    it(`stores ${name} ${split ? 'apart' : 'whole'} and joins back to JSON.stringify's text`, () => {
      const body = ocsfBody(ocsf);
      expect(body.enrichments !== null).toBe(split);
      expect(joinOcsfBody(body.text, body.enrichments?.text ?? null)).toBe(JSON.stringify(ocsf));
      // Again, now from the remembered texts.
      const again = ocsfBody(ocsf);
      expect(joinOcsfBody(again.text, again.enrichments?.text ?? null)).toBe(JSON.stringify(ocsf));
      expect(again.enrichments).toBe(body.enrichments);
    });
  }

  it('tells sequences apart that share a prefix or an item', () => {
    const other = deepFreeze({ name: 'other' });
    const texts = [[shared], [shared, other], [other, shared], [shared, other, shared]].map(
      (items) => ocsfBody({ enrichments: items }).enrichments?.text,
    );
    expect(texts).toEqual([
      JSON.stringify([shared]),
      JSON.stringify([shared, other]),
      JSON.stringify([other, shared]),
      JSON.stringify([shared, other, shared]),
    ]);
  });

  it('never reuses the text of a value that can still change', () => {
    const loose = { n: 1 };
    const ocsf = { enrichments: [Object.freeze({ loose })] };
    expect(ocsfBody(ocsf).enrichments).toBeNull();
    loose.n = 2;
    const body = ocsfBody(ocsf);
    expect(joinOcsfBody(body.text, body.enrichments?.text ?? null)).toBe('{"enrichments":[{"loose":{"n":2}}]}');
  });

  it('keeps a head apart only where the JSON begins with it', () => {
    const head = { text: '{"kind":"login","meta":{"tenant":"t",' };
    const ocsf = { kind: 'login', meta: { tenant: 't', time: 5 }, n: 1 };
    const body = ocsfBody(ocsf, head);
    expect(body.head).toBe(head);
    expect(body.text).toBe('"time":5},"n":1}');
    expect(`${head.text}${body.text}`).toBe(JSON.stringify(ocsf));

    const enriched = { ...ocsf, enrichments: [shared] };
    const both = ocsfBody(enriched, head);
    expect(both.head).toBe(head);
    expect(both.enrichments?.text).toBe(JSON.stringify([shared]));
    expect(joinOcsfBody(`${head.text}${both.text}`, both.enrichments?.text ?? null)).toBe(JSON.stringify(enriched));

    // A hint that does not begin the text, or only looks like it, is ignored and the body kept whole.
    for (const wrong of [
      { kind: 'logout', meta: { tenant: 't' } },
      { kind: 'login', meta: { tenant: 'T' } },
    ]) {
      expect(ocsfBody(wrong, head)).toEqual({ head: null, text: JSON.stringify(wrong), enrichments: null });
    }
    expect(ocsfBody(ocsf)).toEqual({ head: null, text: JSON.stringify(ocsf), enrichments: null });
  });
});
