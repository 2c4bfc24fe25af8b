// What an event value, an error from Cloudflare or a word typed on the command line may hold that changes how the
// text around it is drawn, or is not drawn at all: C0 and C1 controls (a terminal obeys ESC, BEL and CSI as
// commands), line and paragraph separators, and every format and default-ignorable character, the bidi marks,
// embeddings, overrides and isolates, zero-width spaces, word joiners, invisible operators, the byte order mark,
// soft hyphens, Hangul fillers, tag characters among them, and lone surrogates. A value holding one could pass for
// another ("\u202e" shows what follows reversed, "ad\u00admin" reads as "admin"), so both the CLI and the web UI
// show them as escapes. Kept: ZWNJ and ZWJ, which scripts and emoji sequences need, the text and emoji
// presentation selectors, and tag characters that complete a subdivision flag (🏴 + tags + cancel tag).
const DISGUISING =
  /(\u{1f3f4}[\u{e0020}-\u{e007e}]+\u{e007f})|(?![\u200c\u200d\ufe0e\ufe0f])[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu;

/**
 * `text` with every character that could hide or disguise text shown as `\u202e`-style escapes (a character
 * beyond U+FFFF as its two UTF-16 halves, `\udb40\udc41`, which JSON reads back as the same character). With
 * `keepLineBreaks`, `\n` stays a line break: for text whose lines were composed on purpose, not taken from data.
 */
export function visibleText(text: string, options: { readonly keepLineBreaks?: boolean } = {}): string {
  return text.replace(DISGUISING, (match: string, flag: string | undefined) => {
    if (flag !== undefined || (match === '\n' && options.keepLineBreaks === true)) return match;
    let escaped = '';
    for (let index = 0; index < match.length; index += 1) {
      escaped += `\\u${match.charCodeAt(index).toString(16).padStart(4, '0')}`;
    }
    return escaped;
  });
}
