import { runCli } from './cli/index.js';

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
