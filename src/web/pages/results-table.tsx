import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import type { EventRecord } from '../api-client.js';
import { displayText, formatTime } from '../format.js';
import { COLUMN_LABELS, type ColumnId } from '../result-columns.js';
import { MissingValue } from './missing-value.js';
import { ValueMenu, type ValueActions } from './value-menu.js';

export interface ResultsTableProps {
  readonly events: readonly EventRecord[];
  readonly columns: readonly ColumnId[];
  readonly selected: string | null;
  readonly onOpen: (id: string) => void;
  /** Called when the rows shown come near the end of those loaded; the page fetches the next page. */
  readonly onNearEnd: () => void;
  readonly actions: ValueActions;
  /** Shown in the table's last line: loading, an error with a retry, or the end of the matches. */
  readonly footer: ReactNode;
}

// Every row has this height (cells do not wrap), so the rows in view follow from the scroll position alone.
export const ROW_HEIGHT = 32;
// Rows rendered above and below the visible ones, so a quick scroll does not show blank space.
const OVERSCAN = 12;
// Ask for the next page while this many loaded rows are still ahead of the view.
const PREFETCH_ROWS = 40;

const COLUMN_CLASSES: Partial<Record<ColumnId, string>> = {
  time: 'col-time',
  outcome: 'col-outcome',
  src_ip: 'col-ip',
  dataset: 'col-dataset',
  country: 'col-country',
  class_uid: 'col-class',
};
const MONO: ReadonlySet<ColumnId> = new Set(['time', 'src_ip', 'ray_id', 'id', 'account_id', 'app_uid']);
// Columns whose values have a known length get that width; the others (user, application, …) share the rest,
// at least FLEXIBLE_MIN_PX each. In a narrow window the table then scrolls sideways in its own box rather than
// squeezing a user or an application to a couple of letters.
const FIXED_WIDTHS: Partial<Record<ColumnId, number>> = {
  time: 165,
  outcome: 104,
  src_ip: 150,
  dataset: 130,
  country: 72,
  class_uid: 90,
};
const FLEXIBLE_MIN_PX = 160;

/** The narrowest the table may get with `columns` before it scrolls sideways. */
function tableMinWidth(columns: readonly ColumnId[]): number {
  return columns.reduce((sum, column) => sum + (FIXED_WIDTHS[column] ?? FLEXIBLE_MIN_PX), 0);
}

/**
 * The matching events, with only the rows in view in the document: a search can match millions, and the page
 * keeps loading pages as the analyst scrolls. Spacer rows above and below (in thead and tfoot, so the body
 * holds only events) give the scroll bar its full length.
 */
export function ResultsTable({
  events,
  columns,
  selected,
  onOpen,
  onNearEnd,
  actions,
  footer,
}: ResultsTableProps): ReactNode {
  const container = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 800 });

  useLayoutEffect(() => {
    const element = container.current;
    if (element === null) return;
    const measure = (): void => setView({ top: element.scrollTop, height: element.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const first = Math.max(0, Math.floor(view.top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(events.length, Math.ceil((view.top + view.height) / ROW_HEIGHT) + OVERSCAN);
  const nearEnd = last >= events.length - PREFETCH_ROWS;

  useEffect(() => {
    if (nearEnd) onNearEnd();
  }, [nearEnd, events.length, onNearEnd]);

  const onRowKey = (key: KeyboardEvent<HTMLTableRowElement>, index: number, id: string): void => {
    if (key.key === 'Enter') {
      onOpen(id);
      return;
    }
    if (key.key !== 'ArrowDown' && key.key !== 'ArrowUp') return;
    key.preventDefault();
    const next = index + (key.key === 'ArrowDown' ? 1 : -1);
    if (next < 0 || next >= events.length) return;
    const element = container.current;
    if (element === null) return;
    // Bring the next row into the rendered window first, then focus it once React has drawn it.
    const rowTop = next * ROW_HEIGHT;
    if (rowTop < element.scrollTop) element.scrollTop = rowTop;
    else if (rowTop + 2 * ROW_HEIGHT > element.scrollTop + element.clientHeight)
      element.scrollTop = rowTop + 2 * ROW_HEIGHT - element.clientHeight;
    requestAnimationFrame(() =>
      element.querySelector<HTMLElement>(`tbody tr[data-index="${next}"]`)?.focus({ preventScroll: true }),
    );
  };

  return (
    <div
      ref={container}
      className="results"
      onScroll={(event) => {
        const element = event.currentTarget;
        setView({ top: element.scrollTop, height: element.clientHeight });
      }}
    >
      <table
        className="grid results-table"
        aria-label="Matching events"
        aria-rowcount={events.length + 1}
        style={{ minWidth: tableMinWidth(columns) }}
      >
        <thead>
          <tr>
            {columns.map((column) => (
              <th
                key={column}
                scope="col"
                className={COLUMN_CLASSES[column]}
                style={FIXED_WIDTHS[column] === undefined ? undefined : { width: FIXED_WIDTHS[column] }}
              >
                {COLUMN_LABELS[column]}
              </th>
            ))}
          </tr>
          <tr className="spacer" aria-hidden="true">
            <td colSpan={columns.length} style={{ height: first * ROW_HEIGHT }} />
          </tr>
        </thead>
        <tbody>
          {events.slice(first, last).map((event, offset) => {
            const index = first + offset;
            return (
              <tr
                key={event.id}
                data-index={index}
                aria-rowindex={index + 2}
                className={event.id === selected ? 'selected' : undefined}
                aria-selected={event.id === selected}
                tabIndex={0}
                onClick={() => onOpen(event.id)}
                onKeyDown={(key) => onRowKey(key, index, event.id)}
              >
                {columns.map((column) => (
                  <Cell key={column} event={event} column={column} actions={actions} />
                ))}
              </tr>
            );
          })}
        </tbody>
        <tfoot>
          <tr className="spacer" aria-hidden="true">
            <td colSpan={columns.length} style={{ height: (events.length - last) * ROW_HEIGHT }} />
          </tr>
          <tr className="table-end">
            <td colSpan={columns.length}>{footer}</td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}

function Cell({
  event,
  column,
  actions,
}: {
  readonly event: EventRecord;
  readonly column: ColumnId;
  readonly actions: ValueActions;
}): ReactNode {
  const raw = event[column];
  const value = raw === null || raw === '' ? null : String(raw);
  if (value === null) {
    return (
      <td className={COLUMN_CLASSES[column]}>
        <div className="cell">
          <span className="cell-text">
            <MissingValue />
          </span>
        </div>
      </td>
    );
  }
  const shown =
    column === 'time'
      ? formatTime(value, { zone: false })
      : displayText(column === 'country' ? value.toUpperCase() : value);
  const className = [COLUMN_CLASSES[column], MONO.has(column) ? 'mono' : null].filter(Boolean).join(' ') || undefined;
  return (
    <td className={className} title={displayText(value)}>
      {/* The text shrinks with an ellipsis, so the menu button stays in view however long the value. */}
      <div className="cell">
        <span className={column === 'outcome' ? `badge ${outcomeClass(value)}` : 'cell-text'}>{shown}</span>
        {column === 'time' ? null : (
          <ValueMenu
            field={column}
            label={COLUMN_LABELS[column]}
            value={value}
            actions={actions}
            timelineValue={column === 'app' ? (event.app_uid ?? value) : undefined}
          />
        )}
      </div>
    </td>
  );
}

function outcomeClass(outcome: string): string {
  if (outcome === 'success') return 'good';
  if (outcome === 'failure') return 'bad';
  return 'idle';
}
