/**
 * `text` as one shell word, for commands a hint suggests: single-quoted when it holds anything a shell would
 * read, and behind `--` when it begins with '-', which would otherwise be taken for an option.
 */
export function shellArgument(text: string): string {
  const quoted = /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
  return text.startsWith('-') ? `-- ${quoted}` : quoted;
}
