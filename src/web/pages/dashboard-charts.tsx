import type { ReactNode } from 'react';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Dashboard, DashboardCount } from '../api-client.js';
import { displayText, formatTime } from '../format.js';
import type { DrillOutcome } from './dashboard-links.js';

// SVG presentation attributes, not styles: the CSP allows no inline style sheets, and none are needed.
const COLOURS = { allowed: '#1d7a46', denied: '#b3261e', other: '#8d96a7' } as const;
const NUMBER = new Intl.NumberFormat('en-US');

export function formatCount(value: number): string {
  return NUMBER.format(value);
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** A bucket start as UTC text, as precise as the bucket width needs: part of what formatTime writes. */
export function formatBucket(startMs: number, bucketMs: number): string {
  const full = formatTime(startMs, { zone: false });
  // A time no calendar holds comes back as words, which are shown whole.
  if (!/^\d{4}-\d\d-\d\d \d\d:\d\d/.test(full)) return full;
  if (bucketMs >= DAY_MS) return full.slice(0, 10);
  return full.slice(5, 16);
}

type Bucket = Dashboard['series'][number];

export interface TimeChartProps {
  readonly series: readonly Bucket[];
  readonly bucketMs: number;
  /** A click on one coloured part of one bar: that bucket's events of that outcome. */
  readonly onSelect: (bucket: Bucket, outcome: DrillOutcome) => void;
}

// Recharts passes the clicked bar's data under `payload`.
function payloadOf<T>(item: unknown): T | null {
  if (typeof item !== 'object' || item === null || !('payload' in item)) return null;
  return (item as { payload: T }).payload;
}

// The stacked parts of a bar: the datum's field, the legend's name, and the outcome a click on it opens.
const OUTCOME_PARTS = [
  ['allowed', 'Allowed', 'success'],
  ['denied', 'Denied', 'failure'],
  ['other', 'No result', 'unknown'],
] as const;
type OutcomePart = (typeof OUTCOME_PARTS)[number];

/**
 * One stacked bar per outcome; a click hands over the clicked datum and the outcome of its part. Elements, not a
 * component: Recharts finds its bars among the chart's direct children.
 */
function outcomeBars(
  parts: readonly OutcomePart[],
  onClick: (item: unknown, outcome: DrillOutcome) => void,
): ReactNode[] {
  return parts.map(([key, name, outcome]) => (
    <Bar
      key={key}
      dataKey={key}
      name={name}
      stackId="outcome"
      fill={COLOURS[key]}
      isAnimationActive={false}
      cursor="pointer"
      onClick={(item: unknown) => onClick(item, outcome)}
    />
  ));
}

/** Authentications over time, allowed and denied stacked per bucket. */
export function TimeChart({ series, bucketMs, onSelect }: TimeChartProps): ReactNode {
  const data = series.map((bucket) => ({ ...bucket, label: formatBucket(bucket.startMs, bucketMs) }));
  return (
    <ResponsiveContainer width="100%" height={240}>
      <BarChart data={data} margin={{ top: 8, right: 12, bottom: 4, left: 4 }} barCategoryGap={1}>
        <CartesianGrid vertical={false} stroke="#dde1e8" />
        <XAxis dataKey="label" tick={{ fontSize: 11 }} minTickGap={24} />
        <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={48} />
        <Tooltip isAnimationActive={false} />
        {outcomeBars(OUTCOME_PARTS, (item, outcome) => {
          const bucket = payloadOf<Bucket>(item);
          if (bucket !== null) onSelect(bucket, outcome);
        })}
      </BarChart>
    </ResponsiveContainer>
  );
}

export interface TopChartProps {
  readonly title: string;
  readonly counts: readonly DashboardCount[];
  /** Which part of the bars to draw: allowed and denied, or denied only (the denials chart). */
  readonly show: 'both' | 'denied';
  readonly empty: string;
  readonly onSelect: (count: DashboardCount, outcome: DrillOutcome | null) => void;
}

const MAX_LABEL = 28;

function shortLabel(value: unknown): string {
  const text = displayText(String(value));
  return text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text;
}

/** One top list as horizontal bars; a click on a bar opens its events (of that outcome, for one part). */
export function TopChart({ title, counts, show, empty, onSelect }: TopChartProps): ReactNode {
  if (counts.length === 0) return <p className="muted dashboard-empty">{empty}</p>;
  const data = counts.map((count) => ({ ...count, other: count.total - count.allowed - count.denied }));
  const parts = show === 'denied' ? OUTCOME_PARTS.filter(([key]) => key === 'denied') : OUTCOME_PARTS;
  return (
    <ResponsiveContainer width="100%" height={Math.max(80, 26 * counts.length + 24)}>
      <BarChart data={data} layout="vertical" margin={{ top: 4, right: 16, bottom: 4, left: 4 }} barCategoryGap={4}>
        <XAxis type="number" allowDecimals={false} tick={{ fontSize: 11 }} hide />
        <YAxis
          type="category"
          dataKey="key"
          width={190}
          tick={{ fontSize: 12 }}
          tickFormatter={shortLabel}
          interval={0}
          aria-label={`${title} names`}
        />
        <Tooltip isAnimationActive={false} labelFormatter={(label: unknown) => displayText(String(label))} />
        {outcomeBars(parts, (item, outcome) => {
          const count = payloadOf<DashboardCount>(item);
          if (count !== null) onSelect(count, show === 'denied' ? 'failure' : outcome);
        })}
      </BarChart>
    </ResponsiveContainer>
  );
}
