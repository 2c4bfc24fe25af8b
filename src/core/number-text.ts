import { z } from 'zod';
import { visibleText } from './visible-text.js';

// What people type for a count, a port or a page size, on the command line or in a URL. Number() and z.coerce would also take '', ' 3', '0x10', '1e2' and
// 'Infinity', so a typo would pass for a number and '' for 0.
const WHOLE_NUMBER = /^\d+$/;
// A share or a fraction: plain decimal notation, with an exponent for very small ones (1e-9).
const DECIMAL_NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

/** Text (a flag, a query parameter) as a whole number written in decimal digits, then checked by `bounds` (`(n) => n.min(1)`). */
export function wholeNumberText(
  bounds: (number: z.ZodNumber) => z.ZodNumber = (number) => number,
  what = 'a whole number',
): z.ZodPipe<z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>, z.ZodNumber> {
  return numberText(WHOLE_NUMBER, `${what} written in digits`).pipe(bounds(z.number().int()));
}

/** Text as a decimal number (`0.25`, `1e-9`), then checked by `bounds`. */
export function decimalNumberText(
  bounds: (number: z.ZodNumber) => z.ZodNumber,
): z.ZodPipe<z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>, z.ZodNumber> {
  return numberText(DECIMAL_NUMBER, 'a decimal number such as 0.5').pipe(bounds(z.number()));
}

// A pattern check rather than a test inside the transform, so the API's OpenAPI description shows the pattern.
function numberText(pattern: RegExp, expected: string): z.ZodPipe<z.ZodString, z.ZodTransform<number, string>> {
  return z
    .string()
    .regex(pattern, {
      error: (issue) => {
        const text = String(issue.input);
        // `-1` is a number, only not one these take: saying "not a number" would send the reader looking for a typo.
        const negative = pattern.test(text.slice(1)) && text.startsWith('-');
        return `${negative ? 'a negative number' : 'not a number'}: expected ${expected}, got ${described(text)}`;
      },
    })
    .transform(Number);
}

function described(text: string): string {
  if (text === '') return 'empty text';
  if (text.trim() === '') return 'only spaces';
  return `"${visibleText(text.length > 40 ? `${text.slice(0, 40)}…` : text)}"`;
}
