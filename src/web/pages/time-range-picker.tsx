import { useState, type ReactNode } from 'react';
import {
  DEFAULT_TO,
  describeRange,
  isoToLocalInput,
  localInputToIso,
  presetOf,
  TIME_PRESETS,
} from '../explore-state.js';

export interface TimeRangePickerProps {
  readonly from: string;
  readonly to: string;
  readonly onChange: (range: { readonly from: string; readonly to: string }) => void;
}

const CUSTOM = 'custom';

/** Relative presets (ending now) or an absolute range; absolute times are read and shown in UTC. */
export function TimeRangePicker({ from, to, onChange }: TimeRangePickerProps): ReactNode {
  const preset = presetOf(from, to);
  const [custom, setCustom] = useState(preset === null);
  const [start, setStart] = useState(() => isoToLocalInput(from));
  const [end, setEnd] = useState(() => isoToLocalInput(to));
  const [problem, setProblem] = useState<string | null>(null);

  // A field left as it was shown keeps its bound exactly as the URL has it: a time finer than the input can show
  // (microseconds from a pasted link) must not move when Apply is pressed.
  const unchanged = (value: string, bound: string): boolean => value !== '' && value === isoToLocalInput(bound);

  const applyCustom = (): void => {
    const fromIso = unchanged(start, from) ? from : localInputToIso(start);
    const toIso = end === '' ? DEFAULT_TO : unchanged(end, to) ? to : localInputToIso(end);
    if (fromIso === null || toIso === null) {
      setProblem('Enter a start (and optionally an end) as date and time.');
      return;
    }
    if (toIso !== DEFAULT_TO && Date.parse(toIso) <= Date.parse(fromIso)) {
      setProblem('The end must come after the start.');
      return;
    }
    setProblem(null);
    onChange({ from: fromIso, to: toIso });
  };

  return (
    <div className="time-range">
      <label className="inline">
        <span className="sr-only">Time range</span>
        <select
          aria-label="Time range"
          value={custom ? CUSTOM : (preset ?? CUSTOM)}
          onChange={(event) => {
            const value = event.target.value;
            if (value === CUSTOM) {
              setCustom(true);
              return;
            }
            setCustom(false);
            setProblem(null);
            onChange({ from: value, to: DEFAULT_TO });
          }}
        >
          {TIME_PRESETS.map((entry) => (
            <option key={entry.from} value={entry.from}>
              {entry.label}
            </option>
          ))}
          <option value={CUSTOM}>{preset === null ? describeRange(from, to) : 'Custom range…'}</option>
        </select>
      </label>
      {custom ? (
        <div className="custom-range">
          <label className="inline">
            From
            <input
              type="datetime-local"
              aria-label="From (UTC)"
              step={1}
              value={start}
              onChange={(event) => setStart(event.target.value)}
            />
          </label>
          <label className="inline">
            To
            <input
              type="datetime-local"
              aria-label="To (UTC)"
              step={1}
              value={end}
              onChange={(event) => setEnd(event.target.value)}
            />
          </label>
          <button type="button" onClick={applyCustom}>
            Apply
          </button>
          {problem === null ? null : (
            <span className="error" role="alert">
              {problem}
            </span>
          )}
        </div>
      ) : null}
      <span className="muted tz">Times in UTC</span>
    </div>
  );
}
