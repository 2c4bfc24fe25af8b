import { z } from 'zod';

/**
 * Checks a value with `schema` but hands on the value exactly as Cloudflare sent it. Parsing rebuilds objects
 * with the schema's keys first; the raw record zerotrail keeps must be the vendor's own, key order included.
 */
export function verbatim<S extends z.ZodType>(schema: S): z.ZodType<z.output<S>> {
  return z.unknown().transform((value, ctx): z.output<S> => {
    const parsed = schema.safeParse(value);
    if (parsed.success) return value as z.output<S>;
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, input: value });
    }
    return z.NEVER;
  });
}
