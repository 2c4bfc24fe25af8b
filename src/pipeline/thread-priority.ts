import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

// The highest niceness Linux allows: the lowest priority.
const LEAST_FAVOURED_NICENESS = 19;

export type ThreadPriorityChange =
  | { readonly lowered: true; readonly threadId: number; readonly niceness: number }
  | { readonly lowered: false; readonly reason: string };

/**
 * Makes the calling thread yield the CPU to the process's other threads by raising its niceness `by` steps.
 * Linux keeps a niceness per thread, and /proc/thread-self names the calling one; on other systems a niceness
 * belongs to the whole process, so nothing is changed there. Lowering a priority needs no privilege.
 */
export function lowerThreadPriority(by: number): ThreadPriorityChange {
  if (process.platform !== 'linux') {
    return { lowered: false, reason: `${process.platform} has no per-thread priority` };
  }
  let threadId: number;
  let niceness: number;
  try {
    threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    niceness = Math.min(LEAST_FAVOURED_NICENESS, getPriority(threadId) + by);
    setPriority(threadId, niceness);
  } catch (error) {
    return { lowered: false, reason: error instanceof Error ? error.message : String(error) };
  }
  return { lowered: true, threadId, niceness };
}
