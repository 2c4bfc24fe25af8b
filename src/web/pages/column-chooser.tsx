import { useEffect, useRef, useState, type ReactNode } from 'react';
import { COLUMN_IDS, COLUMN_LABELS, DEFAULT_COLUMNS, type ColumnId } from '../result-columns.js';

export interface ColumnChooserProps {
  readonly columns: readonly ColumnId[];
  readonly onChange: (columns: readonly ColumnId[]) => void;
}

/** A "Columns" button with one checkbox per field; at least one column always stays. */
export function ColumnChooser({ columns, onChange }: ColumnChooserProps): ReactNode {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (event: Event): void => {
      if (event.target instanceof Node && root.current?.contains(event.target)) return;
      setOpen(false);
    };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [open]);

  const toggle = (column: ColumnId, on: boolean): void => {
    const next = COLUMN_IDS.filter((id) => (id === column ? on : columns.includes(id)));
    if (next.length > 0) onChange(next);
  };

  return (
    <div className="column-chooser" ref={root}>
      <button type="button" aria-expanded={open} aria-controls="column-chooser-panel" onClick={() => setOpen(!open)}>
        Columns
      </button>
      {open ? (
        <fieldset
          id="column-chooser-panel"
          className="column-panel"
          onKeyDown={(key) => {
            if (key.key !== 'Escape') return;
            // Handled here: the event panel beside the table closes on an Escape nobody else took.
            key.preventDefault();
            setOpen(false);
          }}
        >
          <legend>Columns shown</legend>
          {COLUMN_IDS.map((column) => (
            <label key={column} className="inline">
              <input
                type="checkbox"
                checked={columns.includes(column)}
                disabled={columns.length === 1 && columns.includes(column)}
                onChange={(event) => toggle(column, event.target.checked)}
              />
              {COLUMN_LABELS[column]}
            </label>
          ))}
          <button type="button" className="quiet" onClick={() => onChange(DEFAULT_COLUMNS)}>
            Default columns
          </button>
        </fieldset>
      ) : null}
    </div>
  );
}
