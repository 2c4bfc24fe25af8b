import { formatTime } from './format.js';
import { cleanColumns, type ColumnId } from './result-columns.js';

/**
 * What Explore shows, kept in the page URL so that a link reproduces the same view: the query, the time range
 * (in the API's own time expressions: `now`, `-24h`, or ISO 8601 with a zone), the open event and the columns.
 */
export interface ExploreState {
  readonly q: string;
  readonly from: string;
  readonly to: string;
  readonly event: string | null;
  /** Null: the columns last chosen in this browser, or the default ones. */
  readonly columns: readonly ColumnId[] | null;
}

export const DEFAULT_FROM = '-24h';
export const DEFAULT_TO = 'now';

export const TIME_PRESETS: readonly { readonly from: string; readonly label: string }[] = [
  { from: '-15m', label: 'Last 15 minutes' },
  { from: '-1h', label: 'Last hour' },
  { from: '-24h', label: 'Last 24 hours' },
  { from: '-7d', label: 'Last 7 days' },
  { from: '-30d', label: 'Last 30 days' },
  { from: '-180d', label: 'Last 180 days' },
];

// The longest values the API accepts; a longer one in a pasted link is cut rather than sent to be refused.
const MAX_QUERY = 10_000;
const MAX_TIME = 100;
const MAX_EVENT_ID = 200;
const MAX_COLUMNS = 1000;

export function readExploreState(search: string): ExploreState {
  const params = new URLSearchParams(search);
  const text = (name: string, max: number, fallback: string): string => {
    const value = params.get(name);
    return value === null || value.trim() === '' ? fallback : value.slice(0, max);
  };
  const event = params.get('event');
  const columns = params.get('cols');
  return {
    q: text('q', MAX_QUERY, ''),
    from: text('from', MAX_TIME, DEFAULT_FROM),
    to: text('to', MAX_TIME, DEFAULT_TO),
    event: event === null || event === '' ? null : event.slice(0, MAX_EVENT_ID),
    columns: columns === null ? null : cleanColumns(columns.slice(0, MAX_COLUMNS).split(',')),
  };
}

/** The query string for `state`; defaults are left out so the common link stays short. */
export function exploreSearch(state: ExploreState): string {
  const params = new URLSearchParams();
  if (state.q !== '') params.set('q', state.q);
  if (state.from !== DEFAULT_FROM) params.set('from', state.from);
  if (state.to !== DEFAULT_TO) params.set('to', state.to);
  if (state.event !== null) params.set('event', state.event);
  if (state.columns !== null) params.set('cols', state.columns.join(','));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** The preset a range matches, if any (a relative start that ends now). */
export function presetOf(from: string, to: string): string | null {
  if (to !== DEFAULT_TO) return null;
  return TIME_PRESETS.find((preset) => preset.from === from)?.from ?? null;
}

/** A range for people: the preset's label, or both ends as written (times in UTC). */
export function describeRange(from: string, to: string): string {
  const preset = presetOf(from, to);
  if (preset !== null) return TIME_PRESETS.find((entry) => entry.from === preset)?.label ?? preset;
  return `${formatTime(from)} → ${formatTime(to)}`;
}

/** A time the API reads: ISO 8601 in UTC, to the second. */
export function isoSeconds(ms: number): string {
  return new Date(Math.round(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** `<input type="datetime-local">` value (read as UTC) → ISO 8601 with a zone; null when incomplete. */
export function localInputToIso(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(value)) return null;
  const ms = Date.parse(`${value.length === 16 ? `${value}:00` : value}Z`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** An ISO 8601 time → `<input type="datetime-local">` value in UTC; '' for anything else (a relative time). */
export function isoToLocalInput(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return '';
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return '';
  // Down to the millisecond, in the shortest form the input itself writes: a bound cut to the minute would change
  // the range when Apply is pressed with nothing edited, and could put the end before the start.
  return new Date(ms)
    .toISOString()
    .slice(0, -1)
    .replace(/\.000$/, '')
    .replace(/T(\d{2}:\d{2}):00$/, 'T$1');
}
