import { setFlagsFromString } from 'node:v8';
import { runCli } from './cli/index.js';

// A backfill allocates fast and keeps little alive. Letting each heap grow by half of what survived a full
// collection, instead of V8's default of up to four times, kept the peak RSS of bench/ingest about 170 MB lower
// at no measured cost in throughput, on this thread's heap and on the detection thread's, created after it.
setFlagsFromString('--heap-growing-percent=50');

// The only place that touches process globals: argv, env, signals and the exit code.
const controller = new AbortController();
let interrupts = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  interrupts++;
  if (interrupts > 1) process.exit(130);
  process.stderr.write(`\nStopping (${signal}); press Ctrl-C again to quit at once.\n`);
  controller.abort(new DOMException(`Received ${signal}`, 'AbortError'));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

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
// Keep-alive sockets and timers must not hold the process open once the command is done.
process.stdout.write('', () => process.exit(code));
