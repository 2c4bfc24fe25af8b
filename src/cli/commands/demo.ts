import type { Command } from 'commander';
import { relative } from 'node:path';
import { testSourceConnection, type App } from '../../app.js';
import { Secret } from '../../core/secret.js';
import { startSimulator } from '../../simulator/simulator.js';
import type { StoredSource } from '../../store/store.js';
import type { CommandContext } from '../context.js';
import { writeLine } from '../io.js';
import { eventsToTable, renderTable } from '../output.js';
import { collect } from './collect.js';

export const DEMO_SOURCE_NAME = 'Cloudflare Zero Trust Logs (demo)';
const DAY_MS = 86_400_000;

export function registerDemoCommand(program: Command, context: CommandContext): void {
  program
    .command('demo')
    .description(
      'Run zerotrail end to end on the built-in Cloudflare API simulator: backfill 7 days, then follow live events',
    )
    .action(async () => {
      const out = context.io.stdout;
      const simulator = await startSimulator({ seed: 1 });
      try {
        writeLine(
          out,
          `zerotrail demo: a simulated Cloudflare Zero Trust account is answering at ${simulator.baseUrl}`,
        );
        writeLine(out, '(no Cloudflare account needed; every event below is synthetic)');
        writeLine(out, '');
        await context.withApp(async (app) => {
          const source = await addDemoSource(app, context, simulator);
          const caughtUp = await collect(app, context, [source], { once: true });
          if (context.io.signal.aborted) return;
          const failed = caughtUp.filter((outcome) => outcome.state === 'failed');
          if (failed.length > 0) {
            for (const outcome of failed)
              writeLine(context.io.stderr, `${outcome.jobId}: error[${outcome.error?.code}] ${outcome.error?.message}`);
          }
          await printSummary(app, context);
          writeLine(out, '');
          writeLine(out, 'Following live events now (new ones appear every few seconds); press Ctrl-C to stop.');
          let live = 0;
          await collect(app, context, [source], {
            once: false,
            quiet: true,
            onPageStored: (page) => {
              if (page.inserted === 0) return;
              live += page.inserted;
              writeLine(
                out,
                `+${page.inserted} new event${page.inserted === 1 ? '' : 's'} (${live} since the backfill)`,
              );
            },
          });
        });
      } finally {
        await simulator.stop();
      }
      writeLine(out, 'Demo stopped. The events stay in the data directory; search them any time.');
    });
}

async function addDemoSource(
  app: App,
  context: CommandContext,
  simulator: { readonly baseUrl: string; readonly token: string; readonly accountId: string },
): Promise<StoredSource> {
  const token = new Secret(simulator.token);
  // The simulator listens on a new port each run, so an earlier demo source is replaced; its events stay.
  const previous = await app.store.getSource(DEMO_SOURCE_NAME);
  const report = await testSourceConnection(app, { accountId: simulator.accountId, token, baseUrl: simulator.baseUrl });
  const source: StoredSource = {
    name: DEMO_SOURCE_NAME,
    type: 'cloudflare_zero_trust',
    accountId: simulator.accountId,
    tokenCiphertext: app.secrets.encrypt(token),
    tokenLastFour: token.lastFour(),
    createdAt: previous?.createdAt ?? context.clock.now(),
    settings: { api_base_url: simulator.baseUrl },
  };
  if (previous !== undefined) await app.store.removeSource(DEMO_SOURCE_NAME);
  await app.store.saveSource(source);
  writeLine(
    context.io.stdout,
    `Added data source "${DEMO_SOURCE_NAME}" (account ${simulator.accountId}); token verified, status ${report.token.status}, stored encrypted.`,
  );
  return source;
}

async function printSummary(app: App, context: CommandContext): Promise<void> {
  const out = context.io.stdout;
  const fromMs = app.clock.now() - 7 * DAY_MS;
  const total = await app.store.count({ filter: null });
  const byOutcome = await app.store.aggregate({ filter: null, fromMs, groupBy: 'outcome', limit: 10 });
  const topUsers = await app.store.aggregate({
    filter: { kind: 'term', field: 'outcome', value: 'failure', wildcard: false },
    fromMs,
    groupBy: 'user',
    limit: 5,
  });
  const sample = await app.store.search({ filter: null, order: 'desc' }, { limit: 5 });
  writeLine(out, '');
  writeLine(out, `Stored ${total} Access authentication events (a 7-day backfill).`);
  writeLine(
    out,
    renderTable(
      ['outcome', 'events'],
      byOutcome.map((bucket) => [bucket.key ?? '-', String(bucket.count)]),
    ),
  );
  if (topUsers.length > 0) {
    writeLine(out, '');
    writeLine(out, 'Users with the most denied logins:');
    writeLine(
      out,
      renderTable(
        ['user', 'denied'],
        topUsers.map((bucket) => [bucket.key ?? '-', String(bucket.count)]),
      ),
    );
  }
  writeLine(out, '');
  writeLine(out, 'Latest events:');
  writeLine(out, eventsToTable(sample.events));
  const dataDir = relative(process.cwd(), app.config.dataDir) || '.';
  const dirFlag = dataDir === 'zerotrail-data' ? '' : ` --data-dir ${dataDir}`;
  const someUser = topUsers[0]?.key ?? 'alice@example.com';
  writeLine(out, '');
  writeLine(out, 'Next commands to try (in another shell):');
  writeLine(out, `  npx zerotrail${dirFlag} search 'outcome:failure' --from -24h`);
  writeLine(out, `  npx zerotrail${dirFlag} search 'user:${someUser}' --from -7d --format ndjson`);
  writeLine(out, `  npx zerotrail${dirFlag} search 'src_ip:203.0.113.0/24 AND NOT outcome:success' --format csv`);
  writeLine(out, `  npx zerotrail${dirFlag} source list`);
}
