import { z } from 'zod';
import { parseIpRange } from './ip-range.js';

/*
 * What an allow-list entry must be to ever match, checked alike wherever an allow-list is written (a rule file,
 * `zerotrail rules allow`, the HTTP API and so the Rules page): an entry that can never match would leave the
 * operator believing an exception is in place that is not.
 */

/** The longest entry: an e-mail address's 64-character local part, "@" and a 255-character domain. */
export const ALLOW_ENTRY_MAX_LENGTH = 320;

/** One entry, trimmed as every list compares it: a value with a stray space would never match an event. */
export const allowEntry = z
  .string()
  .trim()
  .min(1, 'an empty entry')
  .max(ALLOW_ENTRY_MAX_LENGTH, `at most ${ALLOW_ENTRY_MAX_LENGTH} characters`);

/** Refines a list of IP entries: each an address or a CIDR range. */
export function checkAllowedIps(ips: readonly string[], ctx: z.RefinementCtx): void {
  for (const [index, ip] of ips.entries()) {
    if (parseIpRange(ip) === null) {
      ctx.addIssue({ code: 'custom', path: [index], message: `"${ip}" is not an address or CIDR range` });
    }
  }
}

/** Refines a list of country entries: each a two-letter code, as events carry (ISO 3166-1 alpha-2, any case). */
export function checkAllowedCountries(codes: readonly string[], ctx: z.RefinementCtx): void {
  for (const [index, code] of codes.entries()) {
    if (!/^[A-Za-z]{2}$/.test(code)) {
      ctx.addIssue({
        code: 'custom',
        path: [index],
        message: `"${code}" is not a two-letter country code such as DE`,
      });
    }
  }
}
