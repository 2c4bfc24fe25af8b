import type { Command } from 'commander';
import { z } from 'zod';
import type { NormalizedEvent } from '../../core/event.js';
import { parseQuery } from '../../store/query-language.js';
import { parseFlags, type CommandContext } from '../context.js';
import { drain, writeLine } from '../io.js';
import { csvHeader, eventToRecord, eventsToCsvRows } from '../../core/event-export.js';
import { OUTPUT_FORMATS, eventsToTable } from '../output.js';
import { parseTimeRange } from '../../core/time-expression.js';

const searchFlagsSchema = z.object({
  from: z.string().optional(),
  to: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(100_000_000).default(100),
  format: z.enum(OUTPUT_FORMATS).default('table'),
  order: z.enum(['asc', 'desc']).default('desc'),
});

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
    .action(async (query: string, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(searchFlagsSchema, rawFlags);
      const nowMs = context.clock.now();
      const filter = parseQuery(query, nowMs);
      const range = parseTimeRange(flags.from, flags.to, nowMs, { from: '--from', to: '--to' });
      await context.withApp(async (app) => {
        const out = context.io.stdout;
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
          if (collected.length === 0) writeLine(out, 'No events match.');
          else {
            writeLine(out, eventsToTable(collected));
            const more = after !== undefined ? ` (more match: raise --limit or narrow the query)` : '';
            writeLine(context.io.stderr, `${collected.length} event${collected.length === 1 ? '' : 's'}${more}`);
          }
        }
      });
    });
}
