import { useEffect, useRef, useState, type PointerEvent, type ReactNode } from 'react';
import { ApiError, type ApiClient, type Histogram } from '../api-client.js';
import { isoSeconds } from '../explore-state.js';
import { formatTime } from '../format.js';

export interface HistogramChartProps {
  readonly api: ApiClient;
  readonly q: string;
  readonly from: string;
  readonly to: string;
  /** Bumped by "Search" with nothing changed, so the counts are fetched again. */
  readonly run: number;
  /** A range picked by dragging across the bars, clicking one, or zooming out. */
  readonly onZoom: (range: { readonly from: string; readonly to: string }) => void;
}

// The drawing's own units; the SVG scales to the width of the page.
const WIDTH = 1000;
const HEIGHT = 90;
const AXIS = 16;
// A press that moves less than this is a click on one bar rather than a drag.
const DRAG_MIN_PX = 4;

type Counts =
  | { readonly status: 'loading' }
  | { readonly status: 'error'; readonly message: string | null }
  | { readonly status: 'ok'; readonly histogram: Histogram };

/**
 * Matching events over time as bars. Dragging across the bars selects a range and zooms the search into it;
 * clicking a bar zooms into that bar's time. Counts come from the server for the whole range, not from the
 * rows loaded so far, so the total is the real number of matches.
 */
export function HistogramChart({ api, q, from, to, run, onZoom }: HistogramChartProps): ReactNode {
  const [counts, setCounts] = useState<Counts>({ status: 'loading' });
  const [drag, setDrag] = useState<{ readonly start: number; readonly end: number } | null>(null);
  const svg = useRef<SVGSVGElement>(null);

  useEffect(() => {
    let current = true;
    // Counts of the previous search would read as the answer to this one; the placeholder keeps the height.
    setCounts({ status: 'loading' });
    api.histogram({ q, from, to }).then(
      (histogram) => {
        if (current) setCounts({ status: 'ok', histogram });
      },
      (failure: unknown) => {
        if (!current) return;
        // The search sends the same query and range, so the page explains a refused one once, beside the results.
        setCounts({
          status: 'error',
          message: isSearchProblem(failure)
            ? null
            : failure instanceof ApiError
              ? failure.message
              : 'The counts over time could not be loaded.',
        });
      },
    );
    return () => {
      current = false;
    };
  }, [api, q, from, to, run]);

  if (counts.status === 'error') {
    return counts.message === null ? null : (
      <p className="muted histogram-note" role="status">
        {counts.message}
      </p>
    );
  }
  if (counts.status === 'loading') {
    return <div className="histogram loading" aria-busy="true" aria-label="Events over time" role="figure" />;
  }

  const { histogram } = counts;
  const bars = histogram.buckets.map((bucket) => ({ startMs: Date.parse(bucket.start), count: bucket.count }));
  const firstMs = bars[0]?.startMs ?? Date.parse(histogram.from);
  const endMs = (bars[bars.length - 1]?.startMs ?? firstMs) + histogram.bucketMs;
  const spanMs = Math.max(1, endMs - firstMs);
  const max = Math.max(1, ...bars.map((bar) => bar.count));
  const rangeFromMs = Date.parse(histogram.from);
  const rangeToMs = Date.parse(histogram.to);
  const xOf = (ms: number): number => ((ms - firstMs) / spanMs) * WIDTH;
  const barWidth = (histogram.bucketMs / spanMs) * WIDTH;

  // Pointer position → time, clamped to the searched range.
  const timeAt = (clientX: number): number => {
    const box = svg.current?.getBoundingClientRect();
    if (box === undefined || box.width === 0) return rangeFromMs;
    const ratio = Math.min(1, Math.max(0, (clientX - box.left) / box.width));
    return Math.min(rangeToMs, Math.max(rangeFromMs, firstMs + ratio * spanMs));
  };
  const pixels = (ms: number): number => ((svg.current?.getBoundingClientRect().width ?? WIDTH) * ms) / spanMs;

  const onDown = (event: PointerEvent<SVGSVGElement>): void => {
    if (event.button !== 0) return;
    event.currentTarget.setPointerCapture(event.pointerId);
    const at = timeAt(event.clientX);
    setDrag({ start: at, end: at });
  };
  const onMove = (event: PointerEvent<SVGSVGElement>): void => {
    if (drag !== null) setDrag({ ...drag, end: timeAt(event.clientX) });
  };
  const onUp = (event: PointerEvent<SVGSVGElement>): void => {
    if (drag === null) return;
    const end = timeAt(event.clientX);
    setDrag(null);
    if (pixels(Math.abs(end - drag.start)) >= DRAG_MIN_PX) {
      const [low, high] = drag.start < end ? [drag.start, end] : [end, drag.start];
      zoomTo(Math.floor(low / 1000) * 1000, Math.ceil(high / 1000) * 1000);
      return;
    }
    const bucketStart = firstMs + Math.floor((end - firstMs) / histogram.bucketMs) * histogram.bucketMs;
    zoomTo(Math.max(rangeFromMs, bucketStart), Math.min(rangeToMs, bucketStart + histogram.bucketMs));
  };
  const zoomTo = (lowMs: number, highMs: number): void => {
    if (highMs - lowMs < 1000) return;
    onZoom({ from: isoSeconds(lowMs), to: isoSeconds(highMs) });
  };

  // Twice the span around the same middle; an end past the present becomes "now", so the range keeps moving.
  const zoomOut = (): void => {
    const half = rangeToMs - rangeFromMs;
    const middle = rangeFromMs + half / 2;
    const high = middle + half;
    const low = middle - half;
    onZoom(high >= Date.now() ? { from: isoSeconds(low), to: 'now' } : { from: isoSeconds(low), to: isoSeconds(high) });
  };

  const selection =
    drag === null ? null : { x: xOf(Math.min(drag.start, drag.end)), width: Math.abs(xOf(drag.end) - xOf(drag.start)) };
  const ticks = [firstMs, firstMs + spanMs / 2, endMs];

  return (
    <figure className="histogram" aria-label="Events over time">
      <figcaption className="muted">
        <strong className="histogram-total">{histogram.total.toLocaleString('en-US')}</strong>{' '}
        {histogram.total === 1 ? 'match' : 'matches'} · one bar per {describeWidth(histogram.bucketMs)} · drag across
        the bars to zoom in{' '}
        <button type="button" className="quiet small" onClick={zoomOut}>
          Zoom out
        </button>
      </figcaption>
      <svg
        ref={svg}
        viewBox={`0 0 ${WIDTH} ${HEIGHT + AXIS}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`Matching events per ${describeWidth(histogram.bucketMs)}, ${formatTime(firstMs)} to ${formatTime(endMs)}`}
        onPointerDown={onDown}
        onPointerMove={onMove}
        onPointerUp={onUp}
        onPointerCancel={() => setDrag(null)}
      >
        {bars.map((bar) =>
          bar.count === 0 ? null : (
            <rect
              key={bar.startMs}
              className="bar"
              x={xOf(bar.startMs) + barWidth * 0.1}
              width={Math.max(0.5, barWidth * 0.8)}
              y={HEIGHT - (bar.count / max) * HEIGHT}
              height={(bar.count / max) * HEIGHT}
            >
              <title>{`${formatTime(bar.startMs)}: ${bar.count.toLocaleString('en-US')} events`}</title>
            </rect>
          ),
        )}
        <line className="axis" x1={0} x2={WIDTH} y1={HEIGHT + 0.5} y2={HEIGHT + 0.5} />
        {selection === null ? null : (
          <rect className="selection" x={selection.x} width={selection.width} y={0} height={HEIGHT} />
        )}
      </svg>
      <div className="histogram-axis muted" aria-hidden="true">
        {ticks.map((tick) => (
          <span key={tick}>{formatTime(tick, { zone: false })}</span>
        ))}
      </div>
    </figure>
  );
}

/** A refusal of the query or the time range, which the search of the same input reports too. */
export function isSearchProblem(failure: unknown): boolean {
  return (
    failure instanceof ApiError &&
    (failure.code.startsWith('QUERY_') || failure.code.startsWith('TIME_') || failure.code === 'HTTP_REQUEST_INVALID')
  );
}

function describeWidth(ms: number): string {
  const units: readonly [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms % size === 0) {
      const n = ms / size;
      return n === 1 ? name : `${n} ${name}s`;
    }
  }
  return `${ms} ms`;
}
