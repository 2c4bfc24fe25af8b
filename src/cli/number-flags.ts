import { z } from 'zod';
import { visible } from './output.js';

// What people type for a count or a port. Number() and z.coerce would also take '', ' 3', '0x10', '1e2' and
// 'Infinity', so a typo would pass for a number and '' for 0.
const WHOLE_NUMBER = /^\d+$/;
// A share or a fraction: plain decimal notation, with an exponent for very small ones (1e-9).
const DECIMAL_NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

/** A flag's text as a whole number written in decimal digits, then checked by `bounds` (`(n) => n.min(1)`). */
export function wholeNumberFlag(
  bounds: (number: z.ZodNumber) => z.ZodNumber = (number) => number,
  what = 'a whole number',
): z.ZodPipe<z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>, z.ZodNumber> {
  return numberFlag(WHOLE_NUMBER, `${what} written in digits`).pipe(bounds(z.number().int()));
}

/** A flag's text as a decimal number (`0.25`, `1e-9`), then checked by `bounds`. */
export function decimalNumberFlag(
  bounds: (number: z.ZodNumber) => z.ZodNumber,
): z.ZodPipe<z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>, z.ZodNumber> {
  return numberFlag(DECIMAL_NUMBER, 'a decimal number such as 0.5').pipe(bounds(z.number()));
}

function numberFlag(pattern: RegExp, expected: string): z.ZodPipe<z.ZodString, z.ZodTransform<number, string>> {
  return z.string().transform((text, context) => {
    if (pattern.test(text)) return Number(text);
    context.addIssue({ code: 'custom', message: `not a number: expected ${expected}, got ${described(text)}` });
    return z.NEVER;
  });
}

function described(text: string): string {
  if (text === '') return 'empty text';
  if (text.trim() === '') return 'only spaces';
  return `"${visible(text.length > 40 ? `${text.slice(0, 40)}…` : text)}"`;
}
