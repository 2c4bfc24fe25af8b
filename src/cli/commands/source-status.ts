import type { Command } from 'commander';
import { z } from 'zod';
import type { App } from '../../app.js';
import { sourceHealth, type DatasetHealth } from '../../pipeline/source-health.js';
import { parseFlags, type CommandContext } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { renderTable, truncate, visible } from '../output.js';
import { NO_SOURCES, unknownSource } from './source.js';

const flagsSchema = z.object({ format: z.enum(['table', 'json']).default('table') });

export function registerSourceStatusCommand(source: Command, context: CommandContext): void {
  source
    .command('status')
    .description('Per dataset: last success, lag behind now, events in the last 24 hours and the last error')
    .argument('[name]', 'one Source Name (default every source)')
    .option('--format <format>', 'table or json (default table)')
    .action(async (name: string | undefined, rawFlags: Record<string, unknown>) => {
      const { format } = parseFlags(flagsSchema, rawFlags);
      const noSources = (): void => writeLine(context.io.stdout, format === 'json' ? '[]' : NO_SOURCES);
      const show = async (app: App): Promise<void> => {
        const all = await app.store.listSources();
        const sources = name === undefined ? all : all.filter((stored) => stored.name === name);
        if (name !== undefined && sources.length === 0) throw unknownSource(name, all);
        const health: DatasetHealth[] = [];
        for (const stored of sources) health.push(...(await sourceHealth(app, stored)));
        if (sources.length > 0) await noteWhenNothingCollects(app, context.io);
        if (format === 'json') {
          writeLine(context.io.stdout, JSON.stringify(health, null, 2));
          return;
        }
        if (health.length === 0) {
          noSources();
          return;
        }
        const rows = health.map((row) => [
          visible(row.source),
          row.dataset,
          datasetStateText(row.state, row.lastErrorCode),
          row.lastSuccessAt ?? '-',
          row.lagSecs === null ? '-' : formatDuration(row.lagSecs),
          String(row.eventsLast24h),
          row.lastError === null ? '-' : truncate(visible(`${row.lastErrorCode ?? ''}: ${row.lastError}`), 120),
        ]);
        writeLine(
          context.io.stdout,
          renderTable(['source', 'dataset', 'state', 'last success', 'lag', 'events 24h', 'last error'], rows),
        );
      };
      if (name === undefined) await context.withStoredApp(show, noSources);
      else {
        await context.withExistingApp(show, () => {
          throw unknownSource(name, []);
        });
      }
    });
}

/**
 * Says on stderr when no collector is alive on the store: the states shown are then as the last run left them,
 * and a dataset shown as ok is not being collected. Stderr keeps the table and the JSON as they are for scripts.
 */
export async function noteWhenNothingCollects(app: App, io: CliIo): Promise<void> {
  if ((await app.store.liveNodes()).length > 0) return;
  writeLine(
    io.stderr,
    'No collector is running on this store: nothing is being collected now, and each state is as the last run left it. Start `zerotrail collect` or `zerotrail serve`.',
  );
}

/**
 * A dataset's state as `source list` and `source status` show it: a dataset the token may not read is not a
 * failure of collection but a permission to grant, and says so.
 */
export function datasetStateText(state: string, lastErrorCode: string | null): string {
  if (state === 'failed' && lastErrorCode === 'SOURCE_PERMISSION_DENIED') return 'no permission';
  return state.replace('_', ' ');
}

function formatDuration(secs: number): string {
  if (secs < 120) return `${secs}s`;
  if (secs < 7200) return `${Math.round(secs / 60)}m`;
  if (secs < 172_800) return `${Math.round(secs / 3600)}h`;
  return `${Math.round(secs / 86_400)}d`;
}
