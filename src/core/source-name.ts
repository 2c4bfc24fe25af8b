import { z } from 'zod';
import { looksLikeApiToken } from './redact-token.js';

// Control characters, and characters that show nothing or turn the text around: two names that look alike in
// every listing (`t1` and `t1` with a zero-width space) would be two sources an analyst cannot tell apart.
const UNSHOWABLE =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/** The Source Name of a data source, as `source add` and the web UI take it; no message echoes the value. */
export const sourceNameSchema = z
  .string()
  .trim()
  .min(1, 'a source name is required')
  .max(100, 'at most 100 characters')
  .refine((name) => !UNSHOWABLE.test(name), 'control, invisible and direction-changing characters are not allowed')
  .refine(
    (name) => !looksLikeApiToken(name),
    'this looks like an API token, not a name (the token goes in with --token-stdin or --token-env VAR, or the API Token field)',
  );
