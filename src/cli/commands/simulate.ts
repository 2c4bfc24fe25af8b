import type { Command } from 'commander';
import { z } from 'zod';
import { untilAborted } from '../../core/abort-after.js';
import { startSimulator } from '../../simulator/simulator.js';
import { parseFlags, type CommandContext } from '../context.js';
import { wholeNumberText } from '../../core/number-text.js';
import { writeLine } from '../io.js';
import { isListenError, listenRefused } from '../listen-refused.js';

const simulateFlagsSchema = z.object({
  port: wholeNumberText((n) => n.max(65_535)).default(0),
  host: z.string().default('127.0.0.1'),
  seed: wholeNumberText().default(1),
});

export function registerSimulateCommand(program: Command, context: CommandContext): void {
  program
    .command('simulate')
    .description('Run the Cloudflare API simulator alone (a synthetic Zero Trust organisation, no account needed)')
    .option('--port <port>', 'port to listen on (default: any free port)')
    .option('--host <host>', 'address to bind (default 127.0.0.1)')
    .option('--seed <n>', 'seed of the synthetic organisation (default 1)')
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(simulateFlagsSchema, rawFlags);
      const simulator = await startSimulator({ host: flags.host, port: flags.port, seed: flags.seed }).catch(
        (error: unknown) => {
          throw isListenError(error) ? listenRefused(flags.host, flags.port, error) : error;
        },
      );
      const out = context.io.stdout;
      writeLine(out, `Cloudflare API simulator listening at ${simulator.baseUrl}`);
      writeLine(out, `Account ID: ${simulator.accountId}`);
      // The simulator's token is synthetic and only valid against this simulator, so printing it is safe.
      writeLine(out, `Token:      ${simulator.token}`);
      writeLine(out, '');
      writeLine(out, 'Use it from another shell:');
      writeLine(out, `  export CLOUDFLARE_API_BASE_URL=${simulator.baseUrl}`);
      writeLine(
        out,
        `  printf %s '${simulator.token}' | npx zerotrail source add --name "Simulated Zero Trust" --account-id ${simulator.accountId} --token-stdin`,
      );
      writeLine(out, '  npx zerotrail collect --once');
      writeLine(out, '');
      writeLine(out, 'Press Ctrl-C to stop.');
      await untilAborted(context.io.signal);
      await simulator.stop();
    });
}
