import type { z } from 'zod';

/**
 * Reads `text` as an http or https URL for a schema's refinement, adding the issue when it is not one: the URL, or
 * undefined after an issue. `example` shows the shape wanted. Never repeats the text, which may carry a secret.
 */
export function httpUrlOrIssue(text: string, ctx: z.RefinementCtx, example: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected an http:// or https:// URL, such as ${example}` });
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({
      code: 'custom',
      message: `only http:// and https:// URLs are accepted, not ${url.protocol.slice(0, 20)}//`,
    });
    return undefined;
  }
  return url;
}
