import { formatUtc } from './explore-state.js';

/** `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`: how far a dataset is behind now. */
export function formatDuration(totalSecs: number): string {
  const secs = Math.max(0, Math.round(totalSecs));
  if (secs < 60) return `${secs} s`;
  const mins = Math.floor(secs / 60);
  if (mins < 60) return `${mins} min`;
  const hours = Math.floor(mins / 60);
  if (hours < 48) return mins % 60 === 0 ? `${hours} h` : `${hours} h ${mins % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}

/** An ISO time as `… UTC`, or the text unchanged when it is not a time. */
export function formatIso(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : formatUtc(ms);
}

/** `3 min ago` from an ISO time, against the browser's clock. */
export function formatAgo(iso: string, nowMs: number): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const secs = (nowMs - ms) / 1000;
  return secs < 5 ? 'just now' : `${formatDuration(secs)} ago`;
}

/** Dataset state words of the collector, as a person would say them. */
export function describeState(state: string): string {
  const words: Readonly<Record<string, string>> = {
    ok: 'Healthy',
    retrying: 'Retrying',
    failed: 'Failed',
    not_collected: 'Not collected yet',
  };
  return words[state] ?? state.replace(/_/g, ' ');
}
