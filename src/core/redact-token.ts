const REDACTED = '[redacted]';

// Shorter runs of a token's characters turn up in ordinary words and numbers; a run this long is an echo of it.
const MIN_FRAGMENT_LENGTH = 8;

// A credential after "Bearer", up to the quote, bracket or separator that usually closes it in an echoed header.
const BEARER_VALUE = /\b(bearer)(\s+)(?!\[redacted\])[^\s"'`,;()<>[\]{}]+/gi;

/**
 * `text` without credentials: every run of 8 or more characters of `token` (the whole token, or a truncated
 * echo of it), and whatever follows `Bearer`, become `[redacted]`. For text a remote party wrote, such as an API
 * error that echoes the Authorization header, before it reaches an error message, a log line or the database.
 */
export function redactToken(text: string, token?: string): string {
  const withoutToken = token === undefined || token === '' ? text : withoutFragments(text, token);
  return withoutToken.replace(BEARER_VALUE, `$1$2${REDACTED}`);
}

function withoutFragments(text: string, token: string): string {
  if (token.length < MIN_FRAGMENT_LENGTH) return text.replaceAll(token, REDACTED);
  const starts = new Set<string>();
  for (let i = 0; i + MIN_FRAGMENT_LENGTH <= token.length; i++) starts.add(token.slice(i, i + MIN_FRAGMENT_LENGTH));
  // Every start is tried, not only the one after the previous match: two overlapping echoes must both go.
  const covered = new Uint8Array(text.length);
  for (let start = 0; start + MIN_FRAGMENT_LENGTH <= text.length; start++) {
    if (!starts.has(text.slice(start, start + MIN_FRAGMENT_LENGTH))) continue;
    let end = start + MIN_FRAGMENT_LENGTH;
    while (end < text.length && token.includes(text.slice(start, end + 1))) end++;
    covered.fill(1, start, end);
  }
  let result = '';
  let index = 0;
  while (index < text.length) {
    if (covered[index] === 1) {
      while (covered[index] === 1) index++;
      result += REDACTED;
    } else {
      const next = covered.indexOf(1, index);
      const stop = next === -1 ? text.length : next;
      result += text.slice(index, stop);
      index = stop;
    }
  }
  return result;
}

// Generated API tokens mix upper case, lower case and digits over 40 characters; names and ids seldom do all three.
const CREDENTIAL_LIKE_LENGTH = 20;

/**
 * Whether a value typed where a name or an id belongs may be a credential, such as `--token-env "$TOKEN"` for
 * `--token-env TOKEN`, or the token and the Account ID swapped: such a value is described, never shown.
 */
export function mayBeCredential(value: string): boolean {
  if (/^\s*bearer\s/i.test(value)) return true;
  return value.length >= CREDENTIAL_LIKE_LENGTH && /[a-z]/.test(value) && /[A-Z]/.test(value) && /\d/.test(value);
}

// A Cloudflare API token is one word of 40 letters, digits, `-` and `_`, mixing cases and digits; ids, hashes and
// names seldom are.
const TOKEN_SHAPED = /^(?:bearer\s+)?[A-Za-z0-9_-]{32,}$/i;
const TOKEN_SHAPED_RUN = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])/g;

/** Whether `value` has the shape of a generated API token (stricter than mayBeCredential: one word, 32+). */
export function looksLikeApiToken(value: string): boolean {
  return TOKEN_SHAPED.test(value) && /[a-z]/.test(value) && /[A-Z]/.test(value) && /\d/.test(value);
}

/**
 * The token-shaped words in command-line arguments, such as a token typed where another value belongs
 * (`--from "$TOKEN"`, a query). An argument holding a `/` is a path or a URL, whose parts are not tokens.
 */
export function tokenShapedWords(args: readonly string[]): string[] {
  return args
    .filter((arg) => !arg.includes('/'))
    .flatMap((arg) => arg.match(TOKEN_SHAPED_RUN) ?? [])
    .filter(looksLikeApiToken);
}

/**
 * `text` with each of `words` (see tokenShapedWords) replaced by as many `*`, for what the CLI prints about a
 * refused command. The length is kept, so a caret under a query still points at its column.
 */
export function maskWords(text: string, words: readonly string[]): string {
  let masked = text;
  for (const word of words) masked = masked.replaceAll(word, '*'.repeat(word.length));
  return masked;
}
