import { z } from 'zod';

// Plain decimal notation with an optional exponent, as people write numbers in YAML and shells. Number() alone
// would also take '', ' ', '0x1f' and 'Infinity', and z.coerce would turn [500] into 500 and true into 1.
const NUMERIC_TEXT = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?\s*$/i;

/** The number written as `text`, or undefined when the text is not a plain decimal number. */
export function numberFromText(text: string): number | undefined {
  return NUMERIC_TEXT.test(text) ? Number(text) : undefined;
}

/**
 * A numeric setting: a number, or numeric text, which is what every environment variable holds. A list, a
 * boolean, a mapping or other text is refused with what was found, never coerced into a number.
 * `refine` adds the bounds: `numberSetting((n) => n.int().min(1))`.
 */
export function numberSetting<T extends z.ZodType<number, number>>(
  refine: (base: z.ZodNumber) => T,
): z.ZodPreprocess<T> {
  return z.preprocess(
    (value) => (typeof value === 'string' ? (numberFromText(value) ?? value) : value),
    refine(z.number({ error: typeProblem })),
  );
}

function typeProblem(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== 'invalid_type' || issue.input === undefined) return undefined;
  if (issue.expected === 'int' && typeof issue.input === 'number' && Number.isFinite(issue.input)) {
    return `expected a whole number, got ${issue.input}`;
  }
  return `expected a number, got ${describeValue(issue.input)}`;
}

/** What a wrong value is, in the words of the file it came from. */
function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'nothing (an empty value)';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') {
    if (value.trim() === '') return 'empty text';
    return `the text "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  }
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}
