import type { Command } from 'commander';
import { z } from 'zod';
import { testSourceConnection, type App } from '../../app.js';
import { failUnlessRequiredReadable, type ConnectionReport } from '../../sources/cloudflare/connection-test.js';
import { datasetStatus } from '../../core/dataset-status.js';
import { SourceError } from '../../core/errors.js';
import { CLOUDFLARE_DATASET_IDS, CLOUDFLARE_DATASETS } from '../../sources/cloudflare/datasets/catalogue.js';
import type { StoredSource } from '../../store/store.js';
import { parseFlags, type CommandContext } from '../context.js';
import { writeLine, type CliIo } from '../io.js';
import { renderTable, visible } from '../output.js';
import { shellArgument } from '../../core/shell-argument.js';
import { unknownSource } from './source.js';

const flagsSchema = z.object({ format: z.enum(['table', 'json']).default('table') });

export function registerSourceTestCommand(source: Command, context: CommandContext): void {
  source
    .command('test')
    .description('Test the connection: token, account, and one request per dataset with the permission each needs')
    .argument('<name>', 'the Source Name')
    .option('--format <format>', 'table or json (default table)')
    .action(async (name: string, rawFlags: Record<string, unknown>) => {
      const { format } = parseFlags(flagsSchema, rawFlags);
      await context.withExistingApp(
        async (app) => {
          const stored = await app.store.getSource(name);
          if (stored === undefined) throw unknownSource(name, await app.store.listSources());
          let report: ConnectionReport;
          try {
            report = await testStoredSource(app, stored);
          } catch (error) {
            // Cloudflare refused the token or the account before any dataset was probed. The error says why; a
            // script reading the JSON still gets its row per dataset, each saying it was not checked and why.
            if (format === 'json' && error instanceof SourceError) printUncheckedDatasets(context.io, error);
            throw error;
          }
          printConnectionReport(context.io, report, format);
          failUnlessRequiredReadable(report, `run zerotrail source test ${visible(shellArgument(name))} again`);
        },
        () => {
          throw unknownSource(name, []);
        },
      );
    });
}

async function testStoredSource(app: App, stored: StoredSource): Promise<ConnectionReport> {
  const rateShare = stored.settings['rate_share'];
  const baseUrl = stored.settings['api_base_url'];
  return testSourceConnection(app, {
    accountId: stored.accountId,
    token: app.secrets.decrypt(stored.tokenCiphertext),
    ...(typeof rateShare === 'number' ? { rateShare } : {}),
    ...(typeof baseUrl === 'string' ? { baseUrl } : {}),
  });
}

/** The JSON array of `source test` when no dataset could be probed: what each needs, and why it was not checked. */
function printUncheckedDatasets(io: CliIo, error: SourceError): void {
  const rows = CLOUDFLARE_DATASET_IDS.map((dataset) => ({
    dataset,
    ok: false,
    state: 'unchecked',
    permission: CLOUDFLARE_DATASETS[dataset].permission,
    message: `Not checked: ${error.message}`,
  }));
  writeLine(io.stdout, JSON.stringify(rows, null, 2));
}

/** The table (or JSON array) of datasets, then the warnings, as `source test` and `source add` show them. */
export function printConnectionReport(io: CliIo, report: ConnectionReport, format: 'table' | 'json'): void {
  if (format === 'json') {
    const rows = report.datasets.map((row) => ({
      dataset: row.dataset,
      ok: row.ok,
      state: row.state,
      permission: row.permission,
      message: row.message,
    }));
    writeLine(io.stdout, JSON.stringify(rows, null, 2));
  } else {
    const rows = report.datasets.map((row) => [
      row.dataset,
      datasetStatus(row, 'MISSING'),
      row.permission,
      row.required ? 'required' : 'optional',
      row.ok ? '-' : visible(row.message),
    ]);
    writeLine(io.stdout, renderTable(['dataset', 'status', 'permission', 'need', 'what to do'], rows));
  }
  for (const warning of report.warnings) writeLine(io.stderr, `warning: ${visible(warning)}`);
}
