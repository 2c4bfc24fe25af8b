import { hash32, unit } from './prng.js';
import { DAY_MS, fixedTimes } from './timeline.js';

/** Something that happened at `timeMs`; `serial` orders records of the same millisecond and never repeats. */
export interface Timed {
  readonly timeMs: number;
  readonly serial: number;
}

const WEEKEND_FACTOR = 0.35;
// Keeps a week's average at the requested rate per day: five full days and two quiet ones.
const WEEKDAY_SCALE = 7 / (5 + 2 * WEEKEND_FACTOR);
/** Serials of day `d` are `d * SERIALS_PER_DAY + i`; scheduled records use serials above every day's. */
export const SERIALS_PER_DAY = 2 ** 16;
export const SCHEDULED_SERIAL_BASE = 2 ** 45;
const MAX_WINDOW_DAYS = 100_000;

/** Ascending by time, then serial: the order the admin log endpoints page in. */
export function byTime(a: Timed, b: Timed): number {
  return a.timeMs - b.timeMs || a.serial - b.serial;
}

/**
 * About `perDay` sorted times for UTC day `day`, following the working-day rhythm of the access log timeline
 * (quiet weekends and nights). `wholeSeconds` drops the milliseconds, as audit logs render their times.
 */
export function dayTimes(seed: number, salt: number, day: number, perDay: number, wholeSeconds: boolean): number[] {
  const weekday = (((day + 4) % 7) + 7) % 7;
  const weekend = weekday === 0 || weekday === 6;
  const factor = (weekend ? WEEKEND_FACTOR : 1) * WEEKDAY_SCALE * (0.8 + 0.4 * unit(seed, day, salt));
  const count = Math.min(SERIALS_PER_DAY - 1, Math.round(perDay * factor));
  const times = Array.from(fixedTimes(hash32(seed, day, salt), day * DAY_MS, (day + 1) * DAY_MS, count));
  return wholeSeconds ? times.map((t) => Math.floor(t / 1000) * 1000).sort((a, b) => a - b) : times;
}

/**
 * Records generated one UTC day at a time from `startMs` on, plus a fixed list of scheduled records, served for
 * any window. Days are built on demand and a bounded number of them is kept.
 */
export class DailySeries<T extends Timed> {
  readonly #build: (day: number) => readonly T[];
  readonly #startMs: number;
  readonly #scheduled: readonly T[];
  readonly #cache = new Map<number, readonly T[]>();

  constructor(build: (day: number) => readonly T[], startMs: number, scheduled: readonly T[]) {
    this.#build = build;
    this.#startMs = startMs;
    this.#scheduled = [...scheduled].sort(byTime);
  }

  #day(day: number): readonly T[] {
    let records = this.#cache.get(day);
    if (records === undefined) {
      records = this.#build(day);
      if (this.#cache.size >= 600) {
        const oldest = this.#cache.keys().next();
        if (oldest.done !== true) this.#cache.delete(oldest.value);
      }
      this.#cache.set(day, records);
    }
    return records;
  }

  /** Every record with time in [fromMs, toMs), oldest first. */
  between(fromMs: number, toMs: number): T[] {
    const out: T[] = [];
    const start = Math.max(fromMs, this.#startMs);
    if (start < toMs) {
      // A window of unbounded length would generate days forever; routes bound theirs by the clock.
      if (toMs - start > MAX_WINDOW_DAYS * DAY_MS) throw new RangeError('window is longer than 100,000 days');
      for (let day = Math.floor(start / DAY_MS); day * DAY_MS < toMs; day++)
        for (const record of this.#day(day)) if (record.timeMs >= start && record.timeMs < toMs) out.push(record);
    }
    const scheduled = this.#scheduled.filter((r) => r.timeMs >= fromMs && r.timeMs < toMs);
    return scheduled.length === 0 ? out : [...out, ...scheduled].sort(byTime);
  }
}
