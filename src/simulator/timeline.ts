import type { Clock } from '../core/clock.js';
import { createPrng, hash32, unit } from './prng.js';

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** A run of events sorted by time; the event at `i` (from <= i < to) has serial `serialBase + i`. */
export interface TimelinePiece {
  readonly times: Float64Array;
  readonly from: number;
  readonly to: number;
  readonly serialBase: number;
}

/**
 * `organic`: about `eventsPerDay` events a day (default 4000) from `historyDays` (default 30) before the start
 * clock time onwards, generated day by day so they keep appearing as the clock advances.
 * `fixed`: exactly `count` events with created_at in [fromMs, toMs).
 * In both modes the API never serves an event whose created_at is after the clock's now; `eventsBetween` does.
 */
export type SimulatorTraffic =
  | { readonly kind: 'organic'; readonly eventsPerDay?: number | undefined; readonly historyDays?: number | undefined }
  | { readonly kind: 'fixed'; readonly fromMs: number; readonly toMs: number; readonly count: number };

/** All events with created_at in [fromMs, toMs), split into sorted pieces whose concatenation is in time order. */
export interface Timeline {
  pieces(fromMs: number, toMs: number): TimelinePiece[];
}

// UTC hour weights: quiet nights, a morning ramp, a working-day plateau and a tail of evening logins.
const HOUR_WEIGHTS = [
  0.12, 0.08, 0.06, 0.06, 0.08, 0.15, 0.35, 0.7, 0.95, 1, 1, 0.95, 0.8, 0.9, 1, 1, 0.95, 0.85, 0.6, 0.45, 0.35, 0.28,
  0.2, 0.15,
] as const;
const HOUR_CUMULATIVE = (() => {
  const total = HOUR_WEIGHTS.reduce((a, b) => a + b, 0);
  let acc = 0;
  return HOUR_WEIGHTS.map((w) => (acc += w / total));
})();
const WEEKEND_FACTOR = 0.35;
// Chosen so that a week averages the requested events per day: (5 * 1.26 + 2 * 0.35 * 1.26) / 7 ≈ 1.
const WEEKDAY_SCALE = 7 / (5 + 2 * WEEKEND_FACTOR);

const SERIALS_PER_DAY = 2 ** 21;
const BURST_SERIAL_BASE = 2 ** 50;
const BURST_SERIAL_STRIDE = 2 ** 24;

function isWeekend(dayIndex: number): boolean {
  // 1970-01-01 was a Thursday; 0 = Sunday.
  const weekday = (((dayIndex + 4) % 7) + 7) % 7;
  return weekday === 0 || weekday === 6;
}

function activity(ms: number): number {
  const hour = Math.floor(ms / HOUR_MS) % 24;
  return (HOUR_WEIGHTS[hour] ?? 1) * (isWeekend(Math.floor(ms / DAY_MS)) ? WEEKEND_FACTOR : 1);
}

/** First index in `times` whose value is >= `value` (the array is sorted ascending). */
export function lowerBound(times: Float64Array, value: number, from = 0, to = times.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] ?? Infinity) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `count` integer millisecond timestamps in [fromMs, toMs), sorted, following the day/night and week rhythm. */
export function fixedTimes(seed: number, fromMs: number, toMs: number, count: number): Float64Array {
  const times = new Float64Array(count);
  const random = createPrng(hash32(seed, count, 0x7f));
  const span = toMs - fromMs;
  for (let i = 0; i < count;) {
    const t = Math.floor(fromMs + random() * span);
    // Rejection sampling keeps the rhythm while guaranteeing exactly `count` events; short spans still fill.
    if (random() <= activity(t) || span < HOUR_MS) times[i++] = Math.min(t, toMs - 1);
  }
  return times.sort();
}

function dayTimes(seed: number, day: number, eventsPerDay: number): Float64Array {
  const factor = (isWeekend(day) ? WEEKEND_FACTOR : 1) * WEEKDAY_SCALE * (0.9 + 0.2 * unit(seed, day, 0x3d));
  const count = Math.min(SERIALS_PER_DAY - 1, Math.round(eventsPerDay * factor));
  const random = createPrng(hash32(seed, day, 0x4e));
  const times = new Float64Array(count);
  const base = day * DAY_MS;
  for (let i = 0; i < count; i++) {
    const r = random();
    let hour = 0;
    while (hour < 23 && r > (HOUR_CUMULATIVE[hour] ?? 1)) hour++;
    times[i] = base + hour * HOUR_MS + Math.floor(random() * HOUR_MS);
  }
  return times.sort();
}

class FixedTimeline implements Timeline {
  readonly #times: Float64Array;

  constructor(seed: number, fromMs: number, toMs: number, count: number) {
    this.#times = fixedTimes(seed, fromMs, toMs, count);
  }

  pieces(fromMs: number, toMs: number): TimelinePiece[] {
    const from = lowerBound(this.#times, fromMs);
    const to = lowerBound(this.#times, toMs, from);
    return from < to ? [{ times: this.#times, from, to, serialBase: 0 }] : [];
  }
}

// Organic traffic is cut into UTC days generated on demand, so a live run can advance for as long as it likes.
class OrganicTimeline implements Timeline {
  readonly #seed: number;
  readonly #eventsPerDay: number;
  readonly #startMs: number;
  readonly #cache = new Map<number, Float64Array>();

  constructor(seed: number, eventsPerDay: number, startMs: number) {
    this.#seed = seed;
    this.#eventsPerDay = eventsPerDay;
    this.#startMs = startMs;
  }

  #day(day: number): Float64Array {
    let times = this.#cache.get(day);
    if (times === undefined) {
      times = dayTimes(this.#seed, day, this.#eventsPerDay);
      // Bounded: about a year of days; the oldest generated day is dropped first and rebuilt if asked again.
      if (this.#cache.size >= 400) {
        const oldest = this.#cache.keys().next();
        if (oldest.done !== true) this.#cache.delete(oldest.value);
      }
      this.#cache.set(day, times);
    }
    return times;
  }

  pieces(fromMs: number, toMs: number): TimelinePiece[] {
    const start = Math.max(fromMs, this.#startMs);
    const out: TimelinePiece[] = [];
    if (start >= toMs) return out;
    for (let day = Math.floor(start / DAY_MS); day * DAY_MS < toMs; day++) {
      const times = this.#day(day);
      const from = lowerBound(times, start);
      const to = lowerBound(times, toMs, from);
      if (from < to) out.push({ times, from, to, serialBase: day * SERIALS_PER_DAY });
    }
    return out;
  }
}

// Bursts are inserted after every regular event with the same or an earlier time, so ordering stays total.
function withBursts(
  base: TimelinePiece[],
  bursts: readonly { atMs: number; count: number }[],
  fromMs: number,
  toMs: number,
): TimelinePiece[] {
  const inWindow = bursts
    .map((b, index) => ({ atMs: Math.floor(b.atMs), count: Math.floor(b.count), index }))
    .filter((b) => b.count > 0 && b.atMs >= fromMs && b.atMs < toMs)
    .sort((a, b) => a.atMs - b.atMs || a.index - b.index);
  if (inWindow.length === 0) return base;
  const out: TimelinePiece[] = [];
  let pending = [...base];
  for (const burst of inWindow) {
    const next: TimelinePiece[] = [];
    for (const piece of pending) {
      const split = lowerBound(piece.times, burst.atMs + 1, piece.from, piece.to);
      if (split === piece.to) out.push(piece);
      else if (split === piece.from) next.push(piece);
      else {
        out.push({ ...piece, to: split });
        next.push({ ...piece, from: split });
      }
    }
    const times = new Float64Array(burst.count).fill(burst.atMs);
    out.push({ times, from: 0, to: burst.count, serialBase: BURST_SERIAL_BASE + burst.index * BURST_SERIAL_STRIDE });
    pending = next;
  }
  return [...out, ...pending];
}

/** Scripted events (injected attacks): one each, at `times[i]` with serial `serialBase + i`, times ascending. */
export interface ScriptedTimes {
  readonly times: Float64Array;
  readonly serialBase: number;
}

// Scripted events are inserted after every regular event with the same or an earlier time, like bursts.
function withScripted(base: TimelinePiece[], scripted: ScriptedTimes, fromMs: number, toMs: number): TimelinePiece[] {
  const first = lowerBound(scripted.times, fromMs);
  const last = lowerBound(scripted.times, toMs, first);
  if (first === last) return base;
  const out: TimelinePiece[] = [];
  let pending = [...base];
  for (let k = first; k < last; k++) {
    const atMs = scripted.times[k] ?? 0;
    const next: TimelinePiece[] = [];
    for (const piece of pending) {
      const split = lowerBound(piece.times, atMs + 1, piece.from, piece.to);
      if (split === piece.to) out.push(piece);
      else if (split === piece.from) next.push(piece);
      else {
        out.push({ ...piece, to: split });
        next.push({ ...piece, from: split });
      }
    }
    out.push({ times: scripted.times, from: k, to: k + 1, serialBase: scripted.serialBase });
    pending = next;
  }
  return [...out, ...pending];
}

/**
 * The event timeline for a traffic mode; bursts from the current faults are merged in on every call, and the
 * scripted events of injected attacks are merged into whatever the traffic mode generates.
 */
export function createTimeline(
  traffic: SimulatorTraffic,
  seed: number,
  clock: Clock,
  bursts: () => readonly { atMs: number; count: number }[],
  scripted: ScriptedTimes = { times: new Float64Array(0), serialBase: 0 },
): Timeline {
  const base: Timeline =
    traffic.kind === 'fixed'
      ? new FixedTimeline(seed, traffic.fromMs, traffic.toMs, traffic.count)
      : new OrganicTimeline(seed, traffic.eventsPerDay ?? 4000, clock.now() - (traffic.historyDays ?? 30) * DAY_MS);
  return {
    pieces: (fromMs, toMs) =>
      withBursts(withScripted(base.pieces(fromMs, toMs), scripted, fromMs, toMs), bursts(), fromMs, toMs),
  };
}
