import stringWidth from 'string-width';
import type { NormalizedEvent } from '../core/event.js';
import { cellText, EVENT_COLUMNS, eventToRecord } from '../core/event-export.js';
import { visibleText } from '../core/visible-text.js';

export const OUTPUT_FORMATS = ['table', 'json', 'ndjson', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

// The table adds which dataset a row comes from, since logins, SCIM updates, audit entries and inventory
// changes share one search.
const TABLE_COLUMNS = ['time', 'dataset', ...EVENT_COLUMNS.slice(1)] as const;
// Long enough for "Gateway rule "Block gambling" disabled: enabled true → false".
const MESSAGE_WIDTH = 100;

/** Renders a fixed-width table. Control characters are shown escaped so an event cannot drive the terminal. */
export function eventsToTable(events: readonly NormalizedEvent[], maxWidth = 40): string {
  const rows = events.map((event) => {
    const record = eventToRecord(event);
    // A change, SCIM or audit event says what happened only in its message; a login's row speaks for itself.
    const message = event.dataset === 'access_requests' ? '-' : cellText(event.ocsf['message'], '-');
    return [
      ...TABLE_COLUMNS.map((column) => truncate(visible(cellText(record[column], '-')), maxWidth)),
      truncate(visible(message), MESSAGE_WIDTH),
    ];
  });
  return renderTable([...TABLE_COLUMNS, 'message'], rows);
}

/**
 * Columns are aligned by the width a terminal gives each character, not by UTF-16 length: a CJK character or an
 * emoji takes two columns, a combining accent none.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, index) =>
    Math.max(stringWidth(title), ...rows.map((row) => stringWidth(row[index] ?? ''))),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, index) => `${cell}${' '.repeat(Math.max(0, (widths[index] ?? 0) - stringWidth(cell)))}`)
      .join('  ')
      .trimEnd();
  return [line(header.map((title) => title.toUpperCase())), ...rows.map(line)].join('\n');
}

/**
 * `text` as one line a terminal cannot be driven or fooled by: controls, line breaks, bidi and invisible characters
 * shown as `\u202e`-style escapes, as the web UI shows them.
 */
export function visible(text: string): string {
  return visibleText(text);
}

/** As visible, keeping the line breaks of text whose lines the CLI composed itself. */
export function visibleLines(text: string): string {
  return visibleText(text, { keepLineBreaks: true });
}

const GRAPHEMES = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * `text` cut to `maxWidth` terminal columns, with … marking a cut so a shortened value is not taken for a whole
 * one. Cuts fall between whole characters as a reader sees them, never inside an emoji or an accented letter.
 */
export function truncate(text: string, maxWidth: number): string {
  if (stringWidth(text) <= maxWidth) return text;
  let kept = '';
  let width = 0;
  for (const { segment } of GRAPHEMES.segment(text)) {
    const next = stringWidth(segment);
    if (width + next > maxWidth - 1) break;
    kept += segment;
    width += next;
  }
  return `${kept}…`;
}
