// Node.js 20's AbortSignal.any holds its sources weakly, and AbortSignal.timeout keeps no reference to its signal
// either: a timeout signal that only the combined signal refers to is collected and never fires. Each combined
// signal holds its timeout here for as long as it lives itself.
const HELD_TIMEOUTS = new WeakMap<AbortSignal, AbortSignal>();

/** A signal that aborts when `signal` does or `ms` have passed, whichever comes first, however long it waits. */
export function abortAfter(signal: AbortSignal, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  const combined = AbortSignal.any([signal, timeout]);
  HELD_TIMEOUTS.set(combined, timeout);
  return combined;
}

/** Resolves once `signal` aborts (at once when it already has). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
