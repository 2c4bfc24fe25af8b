import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { z } from 'zod';
import { DATABASE_FILE, KEY_CHECK_PLAIN, KEY_CHECK_SETTING, KEY_FILE } from '../../app.js';
import { AppError } from '../../core/errors.js';
import { SecretBox } from '../../core/secret-box.js';
import {
  checkCounts,
  migrateStore,
  type MigrateProgress,
  type MigrateResult,
} from '../../store/migrate/migrate-store.js';
import { openMigrationSource, type MigrationSource } from '../../store/migrate/migration-source.js';
import { parseFlags, type CommandContext } from '../context.js';
import { wholeNumberText } from '../../core/number-text.js';
import { writeLine, type CliIo } from '../io.js';
import { renderTable } from '../output.js';
import { fileSystemProblem } from '../../core/file-error.js';

const migrateFlagsSchema = z.object({
  from: z.string().min(1),
  to: z.string().min(1),
  // Large enough that each transaction's overhead is small, small enough that a chunk commits within a second.
  chunkRows: wholeNumberText((n) => n.min(1).max(50_000)).default(5_000),
});

// Plain (non-TTY) output stays readable in a log file: at most one progress line per table this often.
const PLAIN_LINE_INTERVAL_MS = 5_000;

/** Where the secret key came from, to say how to give the PostgreSQL nodes the same one without printing it. */
type KeyOrigin =
  | { readonly kind: 'none' }
  | { readonly kind: 'env' }
  | { readonly kind: 'file'; readonly path: string; readonly variable: 'ZEROTRAIL_SECRET_KEY_FILE' | null };

export function registerStoreCommand(program: Command, context: CommandContext): void {
  const store = program.command('store').description('Move an installation between stores');

  store
    .command('migrate')
    .description(
      'Copy a SQLite installation (its data directory) into PostgreSQL; resumable, and checked table by table',
    )
    .requiredOption('--from <dir>', 'the SQLite data directory, e.g. ./zerotrail-data (read only, never changed)')
    .requiredOption('--to <url>', 'the PostgreSQL database, postgres://user@host:5432/db, optionally ?schema=name')
    .option('--chunk-rows <n>', 'rows copied per transaction (default 5000)')
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(migrateFlagsSchema, rawFlags);
      const dataDir = resolve(flags.from);
      const source = openMigrationSource({
        dataDir,
        databaseFile: DATABASE_FILE,
        keyCheckSetting: KEY_CHECK_SETTING,
        nowMs: context.clock.now(),
      });
      try {
        // A key file is made only when a token is first stored: an installation that never stored one has none.
        const holdsSecrets =
          source.reader.setting(KEY_CHECK_SETTING) !== undefined || source.reader.sources().length > 0;
        const key = findKey(context.io.env, dataDir, holdsSecrets);
        if (key !== null) checkKey(key.box, source);
        const reporter = createReporter(context.io);
        let result: MigrateResult;
        try {
          result = await migrateStore({
            source,
            targetUrl: flags.to,
            chunkRows: flags.chunkRows,
            clock: context.clock,
            logger: context.logger(),
            signal: context.io.signal,
            progress: reporter,
          });
        } finally {
          reporter.stop();
        }
        printCounts(context.io, result);
        checkCounts(result.counts);
        printNextSteps(context.io, flags.to, dataDir, key?.origin ?? { kind: 'none' });
      } finally {
        source.reader.close();
      }
    });
}

/** The key as a node of this installation finds it, read only: ZEROTRAIL_SECRET_KEY, _FILE, or secret.key. */
function findKey(
  env: Readonly<Record<string, string | undefined>>,
  dataDir: string,
  holdsSecrets: boolean,
): { readonly box: SecretBox; readonly origin: KeyOrigin } | null {
  const supplied = env['ZEROTRAIL_SECRET_KEY'];
  if (supplied !== undefined && supplied !== '') {
    return {
      box: new SecretBox(SecretBox.parseKey(supplied, 'The secret key in ZEROTRAIL_SECRET_KEY')),
      origin: { kind: 'env' },
    };
  }
  const keyFile = env['ZEROTRAIL_SECRET_KEY_FILE'];
  const fromEnv = keyFile !== undefined && keyFile !== '';
  const path = fromEnv ? resolve(keyFile) : join(dataDir, KEY_FILE);
  if (!fromEnv && !existsSync(path)) {
    if (!holdsSecrets) return null;
    throw new AppError('SECRET_KEY_INVALID', {
      message: `${dataDir} holds no ${KEY_FILE}, and neither ZEROTRAIL_SECRET_KEY nor ZEROTRAIL_SECRET_KEY_FILE is set; without the key the PostgreSQL nodes could not use the stored tokens. Nothing was copied.`,
      hint: `Put the installation's key back as ${join(dataDir, KEY_FILE)}, or point ZEROTRAIL_SECRET_KEY_FILE at it.`,
    });
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AppError('SECRET_KEY_INVALID', {
      message: `The secret key file ${path} cannot be read: ${fileSystemProblem(error)}. Nothing was copied.`,
      cause: error,
    });
  }
  return {
    box: new SecretBox(SecretBox.parseKey(text)),
    origin: { kind: 'file', path, variable: fromEnv ? 'ZEROTRAIL_SECRET_KEY_FILE' : null },
  };
}

/** Refuses a key that does not open the installation's check value and every stored token. */
function checkKey(box: SecretBox, source: MigrationSource): void {
  const refuse = (what: string, cause: unknown): AppError =>
    new AppError('SECRET_KEY_INVALID', {
      message: `The secret key given does not decrypt ${what} of ${source.dataDir}, so the PostgreSQL nodes could not use the stored tokens with it. Nothing was copied.`,
      hint: `Use this installation's key: the ${KEY_FILE} file in its data directory, or the ZEROTRAIL_SECRET_KEY it runs with.`,
      cause,
    });
  const check = source.reader.setting(KEY_CHECK_SETTING);
  if (check !== undefined) {
    let plain: string | undefined;
    try {
      plain = box.decryptText(check);
    } catch (error) {
      throw refuse('the key check value', error);
    }
    if (plain !== KEY_CHECK_PLAIN) throw refuse('the key check value', undefined);
  }
  for (const stored of source.reader.sources()) {
    try {
      box.decrypt(stored.tokenCiphertext);
    } catch (error) {
      throw refuse(`the token of the source "${stored.name}"`, error);
    }
  }
}

interface Reporter extends MigrateProgress {
  stop(): void;
}

/** A bar per table on a terminal; otherwise a line when a table starts and ends, and every few seconds between. */
function createReporter(io: CliIo): Reporter {
  const out = io.stderr;
  const tty = out.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
  let tableStart = 0;
  let startCopied = 0;
  let lastLine = 0;
  const rate = (copied: number): string => {
    const seconds = (Date.now() - tableStart) / 1000;
    return seconds <= 0 ? '-' : formatNumber(Math.round((copied - startCopied) / seconds));
  };
  return {
    resumed(startedAt) {
      writeLine(out, `Resuming the copy started ${new Date(startedAt).toISOString()}.`);
    },
    tableStarted(table, copied, total) {
      tableStart = Date.now();
      startCopied = copied;
      lastLine = tableStart;
      if (tty) {
        bar = new cliProgress.SingleBar(
          {
            stream: out,
            format: ' {table} [{bar}] {value}/{total} rows | {rate} rows/s',
            hideCursor: true,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(total, copied), copied, { table: table.padEnd(19), rate: '-' });
      } else if (total > copied) {
        writeLine(out, `${table}: copying ${formatNumber(total - copied)} of ${formatNumber(total)} rows`);
      }
    },
    chunkCopied(table, copied, total) {
      if (bar !== undefined) {
        bar.setTotal(Math.max(total, copied));
        bar.update(copied, { rate: rate(copied) });
        return;
      }
      const now = Date.now();
      if (now - lastLine < PLAIN_LINE_INTERVAL_MS) return;
      lastLine = now;
      const percent = total === 0 ? 100 : Math.floor((copied / total) * 100);
      writeLine(
        out,
        `${table}: ${formatNumber(copied)} of ${formatNumber(total)} rows (${percent}%), ${rate(copied)} rows/s`,
      );
    },
    tableDone(table, copiedNow, total, elapsedMs) {
      const perSecond = elapsedMs <= 0 ? copiedNow : Math.round(copiedNow / (elapsedMs / 1000));
      if (bar !== undefined) {
        bar.stop();
        bar = undefined;
        return;
      }
      writeLine(
        out,
        `${table}: done, ${formatNumber(total)} rows (${formatNumber(copiedNow)} copied now in ${(elapsedMs / 1000).toFixed(1)} s, ${formatNumber(perSecond)} rows/s)`,
      );
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

function printCounts(io: CliIo, result: MigrateResult): void {
  const out = io.stdout;
  const rows = result.counts.map((count) => [
    count.table,
    formatNumber(count.source),
    formatNumber(count.target),
    count.source === count.target ? 'ok' : 'DIFFERS',
  ]);
  writeLine(out, renderTable(['table', 'sqlite', 'postgresql', 'check'], rows));
  writeLine(out);
  if (result.alreadyComplete && result.copiedRows === 0) {
    writeLine(out, 'The copy was already complete; only the counts were checked again.');
    return;
  }
  const perSecond = (rows: number, ms: number): string => formatNumber(ms <= 0 ? rows : Math.round(rows / (ms / 1000)));
  writeLine(
    out,
    `Copied ${formatNumber(result.copiedRows)} rows in ${(result.copyMs / 1000).toFixed(1)} s ` +
      `(${perSecond(result.copiedRows, result.copyMs)} rows/s; events ${perSecond(result.copiedEvents, result.eventsMs)}/s).`,
  );
}

/** How to start the PostgreSQL nodes with the same key; neither the key nor the URL's password is printed. */
function printNextSteps(io: CliIo, url: string, dataDir: string, origin: KeyOrigin): void {
  const out = io.stdout;
  const shown = new URL(url);
  const hadPassword = shown.password !== '';
  shown.password = '';
  const databaseUrl = `--database-url '${shown.toString().replace(/'/g, "'\\''")}'`;
  writeLine(out, 'The PostgreSQL database now holds the whole installation; the SQLite data directory is unchanged.');
  writeLine(out, 'Start every PostgreSQL node with the same secret key (the key itself is not printed here):');
  if (origin.kind === 'none') {
    writeLine(out, `  zerotrail serve ${databaseUrl}`);
    writeLine(
      out,
      '  Nothing was encrypted yet, so there is no key to carry over; give every node the same ZEROTRAIL_SECRET_KEY_FILE before the first token is stored.',
    );
  } else if (origin.kind === 'env') {
    writeLine(out, `  ZEROTRAIL_SECRET_KEY="$ZEROTRAIL_SECRET_KEY" zerotrail serve ${databaseUrl}`);
    writeLine(out, '  with ZEROTRAIL_SECRET_KEY set to the same value this command was given.');
  } else {
    writeLine(out, `  ZEROTRAIL_SECRET_KEY_FILE=${origin.path} zerotrail serve ${databaseUrl}`);
    writeLine(
      out,
      `  On other machines, copy ${origin.path} there (readable by the zerotrail user only: chmod 600) and point ZEROTRAIL_SECRET_KEY_FILE at the copy.`,
    );
  }
  if (hadPassword)
    writeLine(out, '  (The database URL is shown without its password; add it back, or use PGPASSWORD.)');
  writeLine(
    out,
    `Do not run collect or serve on ${dataDir} any more: what it collected from now on would stay in SQLite only.`,
  );
}

function formatNumber(value: number): string {
  return value.toLocaleString('en-US');
}
