import type { Command } from 'commander';
import { z } from 'zod';
import type { App } from '../../app.js';
import { CLOUDFLARE_DATASETS } from '../../sources/cloudflare/datasets/catalogue.js';
import type { SearchFilter } from '../../store/search-query.js';
import type { DatasetStatus, StoredSource } from '../../store/store.js';
import { parseFlags, type CommandContext } from '../context.js';
import { writeLine } from '../io.js';
import { renderTable, visible } from '../output.js';
import { unknownSource } from './source.js';

const DAY_MS = 86_400_000;

const flagsSchema = z.object({ format: z.enum(['table', 'json']).default('table') });

export interface DatasetHealth {
  readonly source: string;
  readonly dataset: string;
  readonly kind: 'log' | 'inventory';
  readonly required: boolean;
  readonly state: DatasetStatus['state'] | 'not_collected';
  readonly lastSuccessAt: string | null;
  /** How far the stored data trails now: newest event for logs, last snapshot for inventories. */
  readonly lagSecs: number | null;
  readonly eventsLast24h: number;
  readonly lastErrorCode: string | null;
  readonly lastError: string | null;
}

export function registerSourceStatusCommand(source: Command, context: CommandContext): void {
  source
    .command('status')
    .description('Per dataset: last success, lag behind now, events in the last 24 hours and the last error')
    .argument('[name]', 'one Source Name (default every source)')
    .option('--format <format>', 'table or json (default table)')
    .action(async (name: string | undefined, rawFlags: Record<string, unknown>) => {
      const { format } = parseFlags(flagsSchema, rawFlags);
      await context.withApp(async (app) => {
        const all = await app.store.listSources();
        const sources = name === undefined ? all : all.filter((stored) => stored.name === name);
        if (name !== undefined && sources.length === 0) throw unknownSource(name, all);
        const health: DatasetHealth[] = [];
        for (const stored of sources) health.push(...(await sourceHealth(app, stored)));
        if (format === 'json') {
          writeLine(context.io.stdout, JSON.stringify(health, null, 2));
          return;
        }
        if (health.length === 0) {
          writeLine(
            context.io.stdout,
            'No data sources yet. Add one with: zerotrail source add --name NAME --account-id ID --token-stdin',
          );
          return;
        }
        const rows = health.map((row) => [
          visible(row.source),
          row.dataset,
          row.state === 'failed' && row.lastErrorCode === 'SOURCE_PERMISSION_DENIED'
            ? 'no permission'
            : row.state.replace('_', ' '),
          row.lastSuccessAt ?? '-',
          row.lagSecs === null ? '-' : formatDuration(row.lagSecs),
          String(row.eventsLast24h),
          row.lastError === null ? '-' : visible(`${row.lastErrorCode ?? ''}: ${row.lastError}`).slice(0, 120),
        ]);
        writeLine(
          context.io.stdout,
          renderTable(['source', 'dataset', 'state', 'last success', 'lag', 'events 24h', 'last error'], rows),
        );
      });
    });
}

/** The health of every dataset of one source, including those never collected. */
export async function sourceHealth(app: App, stored: StoredSource): Promise<readonly DatasetHealth[]> {
  const nowMs = app.clock.now();
  const statuses = new Map((await app.store.datasetStatuses()).map((status) => [status.id, status]));
  const rows: DatasetHealth[] = [];
  for (const [dataset, entry] of Object.entries(CLOUDFLARE_DATASETS)) {
    const status = statuses.get(`${stored.name}/${dataset}`);
    const filter = and(term('source', stored.name), term('dataset', dataset));
    const eventsLast24h = await app.store.count({ filter, fromMs: nowMs - DAY_MS });
    let freshestMs: number | null;
    if (entry.kind === 'inventory') {
      freshestMs = (await app.store.inventorySnapshot(stored.name, dataset))?.takenAt ?? null;
    } else {
      const newest = await app.store.search({ filter, order: 'desc' }, { limit: 1 });
      freshestMs = newest.events[0]?.time ?? null;
    }
    rows.push({
      source: stored.name,
      dataset,
      kind: entry.kind,
      required: entry.required,
      state: status?.state ?? 'not_collected',
      lastSuccessAt: status?.lastSuccessAt == null ? null : new Date(status.lastSuccessAt).toISOString(),
      lagSecs: freshestMs === null ? null : Math.max(0, Math.round((nowMs - freshestMs) / 1000)),
      eventsLast24h,
      lastErrorCode: status?.lastErrorCode ?? null,
      lastError: status?.lastErrorMessage ?? null,
    });
  }
  return rows;
}

function term(field: 'source' | 'dataset', value: string): SearchFilter {
  return { kind: 'term', field, value, wildcard: false };
}

function and(left: SearchFilter, right: SearchFilter): SearchFilter {
  return { kind: 'and', left, right };
}

function formatDuration(secs: number): string {
  if (secs < 120) return `${secs}s`;
  if (secs < 7200) return `${Math.round(secs / 60)}m`;
  if (secs < 172_800) return `${Math.round(secs / 3600)}h`;
  return `${Math.round(secs / 86_400)}d`;
}
