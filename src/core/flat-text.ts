/**
 * `text` with U+FFFD for every NUL, as every flat field holds it and every search value is compared: PostgreSQL
 * text cannot hold NUL and SQLite's LIKE stops reading at one, so a NUL kept would match differently per store.
 */
export function withoutNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}
