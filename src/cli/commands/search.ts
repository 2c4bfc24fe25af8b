import type { Command } from 'commander';
import { AppError } from '../../core/errors.js';
import { shellArgument } from '../../core/shell-argument.js';
import { z } from 'zod';
import type { NormalizedEvent } from '../../core/event.js';
import { parseQuery } from '../../store/query-language.js';
import { parseFlags, type CommandContext } from '../context.js';
import { wholeNumberText } from '../../core/number-text.js';
import { drain, writeLine } from '../io.js';
import { csvHeader, eventToRecord, eventsToCsvRows } from '../../core/event-export.js';
import { OUTPUT_FORMATS, eventsToTable, visible } from '../output.js';
import { parseTimeRange } from '../../core/time-expression.js';

const searchFlagsSchema = z.object({
  from: z.string().optional(),
  to: z.string().optional(),
  limit: wholeNumberText((n) => n.min(1).max(100_000_000)).default(100),
  format: z.enum(OUTPUT_FORMATS).default('table'),
  order: z.enum(['asc', 'desc']).default('desc'),
});

const NO_MATCH = 'No events match.';

// Large enough to amortise each query, small enough to start printing at once and keep memory flat.
const FETCH_SIZE = 1000;

export function registerSearchCommand(program: Command, context: CommandContext): void {
  program
    .command('search')
    .description(
      'Search stored events with a Lucene-like query (field:value, quotes, *, AND/OR/NOT, parentheses, CIDR)',
    )
    .argument('[query]', 'for example: user:alice@example.com AND outcome:failure', '')
    .option('--from <time>', 'start: ISO 8601 or relative (-24h, -7d, now)')
    .option('--to <time>', 'end: ISO 8601 or relative (default now)')
    .option('--limit <n>', 'maximum events to print (default 100)')
    .option('--format <format>', `one of ${OUTPUT_FORMATS.join(', ')} (default table)`)
    .option('--order <order>', 'asc or desc by event time (default desc: newest first)')
    // A query may begin with '-' ("-country:DE"), which commander reads as an option it does not know: such words
    // are let through as arguments and told apart in queryArgument.
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_query: string, rawFlags: Record<string, unknown>, command: Command) => {
      const query = queryArgument(command.args, context.argv);
      const flags = parseFlags(searchFlagsSchema, rawFlags);
      const nowMs = context.clock.now();
      const filter = parseQuery(query, nowMs);
      const range = parseTimeRange(flags.from, flags.to, nowMs, { from: '--from', to: '--to' });
      const out = context.io.stdout;
      // What an empty result looks like in each format: a script gets the CSV header or an empty array.
      const noMatch = (): void => {
        if (flags.format === 'csv') out.write(csvHeader());
        else if (flags.format === 'json') writeLine(out, '[]');
        else if (flags.format === 'table') writeLine(out, NO_MATCH);
      };
      await context.withStoredApp(async (app) => {
        const collected: NormalizedEvent[] = [];
        let printed = 0;
        let after: string | undefined;
        if (flags.format === 'csv') out.write(csvHeader());
        if (flags.format === 'json') out.write('[');
        do {
          const page = await app.store.search(
            { filter, order: flags.order, ...range },
            { limit: Math.min(FETCH_SIZE, flags.limit - printed), ...(after === undefined ? {} : { after }) },
          );
          for (const event of page.events) {
            if (flags.format === 'ndjson') out.write(`${JSON.stringify(eventToRecord(event))}\n`);
            else if (flags.format === 'json')
              out.write(`${printed === 0 ? '\n' : ',\n'}${JSON.stringify(eventToRecord(event))}`);
            else if (flags.format === 'table') collected.push(event);
            printed++;
          }
          if (flags.format === 'csv') out.write(eventsToCsvRows(page.events));
          after = page.nextPage ?? undefined;
          await drain(out);
        } while (after !== undefined && printed < flags.limit);
        if (flags.format === 'json') out.write(printed === 0 ? ']\n' : '\n]\n');
        if (flags.format === 'table') {
          writeLine(out, collected.length === 0 ? NO_MATCH : eventsToTable(collected));
          // The table goes out in one write. Waiting for a reader to take it means a reader that closed the pipe
          // ends the command here, before the count line can claim a table that reader never got.
          await drain(out);
        }
        // Only the table counts what it printed every time; a script reading another format learns of a cut-off
        // result on stderr, so stdout stays exactly the data.
        const more = after !== undefined;
        if (more || (flags.format === 'table' && printed > 0)) writeLine(context.io.stderr, countLine(printed, more));
      }, noMatch);
    });
}

/** Says how many events were printed, and, when --limit cut the result short, how to get the rest. */
function countLine(printed: number, more: boolean): string {
  return `${printed} event${printed === 1 ? '' : 's'}${more ? ' (more match: raise --limit or narrow the query)' : ''}`;
}

/**
 * The query among the words commander left over. A word shaped like an option (`--name`, or `-` and one letter) is
 * refused as an unknown option unless it follows `--`; any other word that begins with '-' is a query. The query
 * is one argument: several words are refused with the command quoted whole, as a shell needs it.
 */
function queryArgument(args: readonly string[], argv: readonly string[]): string {
  const terminator = argv.indexOf('--');
  const afterTerminator = new Set(terminator < 0 ? [] : argv.slice(terminator + 1));
  const option = args.find((arg) => /^(?:--.|-[A-Za-z]$)/.test(arg) && !afterTerminator.has(arg));
  if (option !== undefined) {
    throw new AppError('CLI_USAGE', {
      message: `unknown option '${visible(option)}'`,
      hint: 'run zerotrail search --help for its options; a query that begins with - may come after --: zerotrail search -- QUERY',
    });
  }
  if (args.length > 1) {
    throw new AppError('CLI_USAGE', {
      message: `search takes its query as one argument, and was given ${args.length}: ${args.map((arg) => visible(arg)).join(' ')}`,
      hint: `Quote the whole query: zerotrail search ${visible(shellArgument(args.join(' ')))}`,
    });
  }
  return args[0] ?? '';
}
