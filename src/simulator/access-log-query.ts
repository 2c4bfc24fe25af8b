import type { EventRenderer, RenderMode } from './event-renderer.js';
import { unit } from './prng.js';
import type { Timeline, TimelinePiece } from './timeline.js';
import { lowerBound } from './timeline.js';

export interface EmailFilter {
  readonly value: string;
  readonly op: 'contains' | 'eq' | 'neq';
}

export interface AccessLogQuery {
  readonly sinceMs: number;
  /** Inclusive. */
  readonly untilMs: number;
  readonly direction: 'asc' | 'desc';
  readonly offset: number;
  readonly size: number;
  readonly email?: EmailFilter;
  readonly fields?: readonly string[];
}

export interface Visibility {
  readonly nowMs: number;
  readonly late?: { readonly fraction: number; readonly delayMs: number };
}

interface Segment {
  readonly piece: TimelinePiece;
  readonly checked: boolean;
}

/** Whether an event is late (held back by the late-arrival fault); stable per serial. */
export function isLate(seed: number, serial: number, fraction: number): boolean {
  return fraction > 0 && unit(seed, serial, 31) < fraction;
}

function matchesEmail(email: string, filter: EmailFilter): boolean {
  const a = email.toLowerCase();
  const b = filter.value.toLowerCase();
  if (filter.op === 'eq') return a === b;
  if (filter.op === 'neq') return a !== b;
  return a.includes(b);
}

/**
 * One page of access requests as a JSON array text. Events are ordered by created_at and, within the same
 * millisecond, by their position in the timeline (regular events before burst events); desc is the exact reverse,
 * so page boundaries never reorder ties. Runs of events that need no per-event check are skipped by
 * count, so a page costs O(page size) wherever it starts; only filters and the not-yet-settled tail
 * (late-arrival fault) are examined event by event.
 */
export function queryAccessLogs(
  seed: number,
  timeline: Timeline,
  renderer: EventRenderer,
  mode: RenderMode,
  visibility: Visibility,
  q: AccessLogQuery,
): string {
  const endExclusive = Math.min(q.untilMs, visibility.nowMs) + 1;
  if (q.size <= 0 || endExclusive <= q.sinceMs) return '[]';
  const late = visibility.late !== undefined && visibility.late.fraction > 0 ? visibility.late : undefined;
  const settledBefore = late === undefined ? Infinity : visibility.nowMs - late.delayMs + 1;
  const segments: Segment[] = [];
  for (const piece of timeline.pieces(q.sinceMs, endExclusive)) {
    if (q.email !== undefined) segments.push({ piece, checked: true });
    else {
      const split = lowerBound(piece.times, settledBefore, piece.from, piece.to);
      if (split > piece.from) segments.push({ piece: { ...piece, to: split }, checked: false });
      if (split < piece.to) segments.push({ piece: { ...piece, from: split }, checked: true });
    }
  }
  if (q.direction === 'desc') segments.reverse();
  const visible = (time: number, serial: number): boolean => {
    if (late !== undefined && time + late.delayMs > visibility.nowMs && isLate(seed, serial, late.fraction))
      return false;
    return q.email === undefined || matchesEmail(renderer.email(serial, mode), q.email);
  };
  let skip = q.offset;
  const times: number[] = [];
  const serials: number[] = [];
  for (const { piece, checked } of segments) {
    if (times.length >= q.size) break;
    const count = piece.to - piece.from;
    if (!checked && skip >= count) {
      skip -= count;
      continue;
    }
    const step = q.direction === 'asc' ? 1 : -1;
    let i = q.direction === 'asc' ? piece.from : piece.to - 1;
    if (!checked) {
      i += step * skip;
      skip = 0;
    }
    for (; i >= piece.from && i < piece.to && times.length < q.size; i += step) {
      const time = piece.times[i] ?? 0;
      const serial = piece.serialBase + i;
      if (checked && !visible(time, serial)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      times.push(time);
      serials.push(serial);
    }
  }
  const parts = new Array<string>(times.length);
  for (let k = 0; k < times.length; k++) {
    const time = times[k] ?? 0;
    const serial = serials[k] ?? 0;
    if (q.fields === undefined) parts[k] = renderer.json(time, serial, mode);
    else {
      const full = renderer.object(time, serial, mode);
      const picked: Record<string, unknown> = {};
      for (const field of q.fields) if (field in full) picked[field] = full[field];
      parts[k] = JSON.stringify(picked);
    }
  }
  return `[${parts.join(',')}]`;
}
