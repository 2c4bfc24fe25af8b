import { setFlagsFromString } from 'node:v8';
import { runCli } from './cli/index.js';
import { StopSignalReceived } from './cli/io.js';

// A backfill allocates fast and keeps little alive. Each heap grows by 30% of what survived a full collection
// instead of V8's default of up to four times; this applies to this thread's heap and to the detection thread's,
// created after it. At 1M events in bench/ingest, 50% kept the peak RSS about 170 MB lower than the default at no
// measured cost in throughput; 30% took another 8–12 MB off the detection thread's heap (a batch's rule state
// swings it between 30 and 50 MB live) and about 15 MB off the peak. It cost about 5% more CPU while that thread's
// young generation was 6 MB, and no measured throughput at 12 MB (src/pipeline/detection-thread.ts).
setFlagsFromString('--heap-growing-percent=30');

// The only place that touches process globals: argv, env, signals and the exit code.
const controller = new AbortController();
// GNU `timeout` signals the command and then its whole process group, so one request to stop can arrive as two
// SIGTERMs a few milliseconds apart; the same signal again this soon is that one request, not a second one.
const REPEAT_WINDOW_MS = 250;
let firstSignal: { readonly signal: NodeJS.Signals; readonly atMs: number } | undefined;
const onSignal = (signal: NodeJS.Signals): void => {
  const nowMs = performance.now();
  if (firstSignal !== undefined) {
    if (signal === firstSignal.signal && nowMs - firstSignal.atMs < REPEAT_WINDOW_MS) return;
    process.exit(130);
  }
  firstSignal = { signal, atMs: nowMs };
  // SIGTERM comes from a service manager or `kill`, often with no terminal to press Ctrl-C in.
  const again = signal === 'SIGINT' ? 'press Ctrl-C again' : `send ${signal} again`;
  process.stderr.write(`\nStopping (${signal}); ${again} to quit at once.\n`);
  controller.abort(new StopSignalReceived(signal));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// A reader that stops reading (`zerotrail search … | head`) closes the pipe under the next write. Node.js would
// die of the unhandled 'error' event with a stack trace; end quietly instead, with the status a shell gives any
// tool a closed pipe stopped (128 + SIGPIPE), so `set -o pipefail` scripts see what they see of grep or sort.
// Whatever the command committed stays committed; a write transaction in progress is rolled back by SQLite.
const CLOSED_PIPE_EXIT = 141;
const isClosedPipe = (error: unknown): boolean => (error as NodeJS.ErrnoException | null)?.code === 'EPIPE';
process.stdout.on('error', (error) => {
  if (isClosedPipe(error)) process.exit(CLOSED_PIPE_EXIT);
  throw error;
});

const code = await runCli(
  process.argv.slice(2),
  {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
  },
  { detection: 'thread' },
);
// Keep-alive sockets and timers must not hold the process open once the command is done. Output still queued at
// this point (a JSON document longer than the pipe holds, written at once) may meet the closed pipe only now; the
// stream then fails this write before it emits 'error', so what it failed with decides the exit code here.
process.stdout.write('', () => process.exit(isClosedPipe(process.stdout.errored) ? CLOSED_PIPE_EXIT : code));
