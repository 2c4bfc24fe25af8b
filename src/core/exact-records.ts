/**
 * Records whose numbers `JSON.parse` cannot keep: an integer past 2^53, more significant digits than a double
 * holds, or a number past a double's range (which becomes Infinity, written back as null). For these the raw record
 * kept is the exact text Cloudflare sent, as for records nested too deep to handle (core/deep-json.ts); Node.js 20
 * has neither JSON.rawJSON nor the source text in a reviver, so the text is found by scanning the body once more.
 */

// A number that may not survive: 16 or more digits (a dot among them allowed), or a 3-digit exponent, where JSON
// puts a number: after a colon, bracket, comma or space, which keeps out the digits of hex ids in strings. Nearly
// every body fails this cheaply; passing it only means the records are looked at closely.
const MAYBE_INEXACT = /[:[,\s]-?(?:\d(?:\.?\d){15}|\d+(?:\.\d+)?[eE][+-]?\d{3})/;
const EXACT_TEXTS = new WeakMap<object, string>();

/** The text Cloudflare sent for `record`, when parsing lost one of its numbers; otherwise undefined. */
export function exactTextOf(record: unknown): string | undefined {
  return record !== null && typeof record === 'object' ? EXACT_TEXTS.get(record) : undefined;
}

/**
 * Remembers the exact text of each element of `result`, as parsed from the JSON `body`, whose numbers did not
 * survive parsing. `body` must be valid JSON (JSON.parse read it).
 */
export function rememberInexactRecords(body: string, result: unknown): void {
  if (!Array.isArray(result) || result.length === 0 || !MAYBE_INEXACT.test(body)) return;
  const texts = resultElementTexts(body);
  if (texts === undefined || texts.length !== result.length) return;
  for (const [index, text] of texts.entries()) {
    const record: unknown = result[index];
    if (record === null || typeof record !== 'object' || !MAYBE_INEXACT.test(text)) continue;
    if (!numbersSurvive(text)) EXACT_TEXTS.set(record, text);
  }
}

/** Whether every number in the JSON `text` reads back as the same decimal value after a round trip via a double. */
export function numbersSurvive(text: string): boolean {
  for (let at = 0; at < text.length;) {
    const char = text[at] ?? '';
    if (char === '"') {
      at = stringEnd(text, at);
    } else if (char === '-' || (char >= '0' && char <= '9')) {
      const end = scalarEnd(text, at);
      const token = text.slice(at, end);
      if (decimalValue(token) !== decimalValue(JSON.stringify(Number(token)))) return false;
      at = end;
    } else {
      at += 1;
    }
  }
  return true;
}

// A JSON number as sign, digits without leading or trailing zeros, and exponent: equal for equal values. Anything
// else (`null`, which Infinity becomes) is itself.
function decimalValue(token: string): string {
  const parts = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(token);
  if (parts === null) return token;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = parts;
  const digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return '0';
  const significant = digits.replace(/0+$/, '');
  // As text: an exponent of hundreds of digits is still compared exactly.
  const scale = BigInt(exponent) - BigInt(fraction.length) + BigInt(digits.length - significant.length);
  return `${sign}${significant}e${scale}`;
}

// The text of each element of the top-level object's last "result" member, when it is an array.
function resultElementTexts(body: string): string[] | undefined {
  let at = skipSpace(body, 0);
  if (body[at] !== '{') return undefined;
  let texts: string[] | undefined;
  at = skipSpace(body, at + 1);
  while (body[at] === '"') {
    const keyEnd = stringEnd(body, at);
    const key: unknown = JSON.parse(body.slice(at, keyEnd));
    at = skipSpace(body, skipSpace(body, keyEnd) + 1);
    const valueEnd = valueEndOf(body, at);
    // JSON.parse keeps the last of repeated keys; so does this.
    if (key === 'result') texts = body[at] === '[' ? arrayElementTexts(body, at) : undefined;
    at = skipSpace(body, valueEnd);
    if (body[at] === ',') at = skipSpace(body, at + 1);
  }
  return texts;
}

function arrayElementTexts(body: string, open: number): string[] {
  const texts: string[] = [];
  let at = skipSpace(body, open + 1);
  while (body[at] !== ']' && at < body.length) {
    const end = valueEndOf(body, at);
    texts.push(body.slice(at, end));
    at = skipSpace(body, end);
    if (body[at] === ',') at = skipSpace(body, at + 1);
  }
  return texts;
}

function valueEndOf(text: string, at: number): number {
  const char = text[at];
  if (char === '"') return stringEnd(text, at);
  if (char !== '{' && char !== '[') return scalarEnd(text, at);
  let depth = 0;
  for (let index = at; index < text.length;) {
    const next = text[index];
    if (next === '"') {
      index = stringEnd(text, index);
      continue;
    }
    if (next === '{' || next === '[') depth += 1;
    else if (next === '}' || next === ']') {
      depth -= 1;
      if (depth === 0) return index + 1;
    }
    index += 1;
  }
  return text.length;
}

// Just past the closing quote of the string that opens at `at`.
function stringEnd(text: string, at: number): number {
  let index = at + 1;
  while (index < text.length && text[index] !== '"') index += text[index] === '\\' ? 2 : 1;
  return index + 1;
}

// Just past a number, true, false or null.
function scalarEnd(text: string, at: number): number {
  let index = at;
  while (index < text.length && !/[\s,\]}:]/.test(text[index] ?? '')) index += 1;
  return index;
}

function skipSpace(text: string, at: number): number {
  let index = at;
  while (index < text.length && /\s/.test(text[index] ?? '')) index += 1;
  return index;
}
