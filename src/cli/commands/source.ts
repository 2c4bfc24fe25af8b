import { collectionStarted, isSourcePaused } from '../../pipeline/source-health.js';
import type { Command } from 'commander';
import { z } from 'zod';
import { installationIsNew, testSourceConnection, type ConnectionTestContext } from '../../app.js';
import { AppError, NotFoundError, SourceError } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import { looksLikeApiToken, mayBeCredential } from '../../core/redact-token.js';
import { sourceNameSchema } from '../../core/source-name.js';
import { shellArgument } from '../../core/shell-argument.js';
import { ACCOUNT_ID_PATTERN } from '../../sources/cloudflare/config.js';
import type { StoredSource } from '../../store/store.js';
import { parseFlags, type CommandContext } from '../context.js';
import { decimalNumberText } from '../../core/number-text.js';
import { readAll, writeLine } from '../io.js';
import { renderTable, visible } from '../output.js';
import { registerSourceStatusCommand } from './source-status.js';
import { failUnlessRequiredReadable } from '../../sources/cloudflare/connection-test.js';
import { printConnectionReport, registerSourceTestCommand } from './source-test.js';
import { datasetJobId, isDatasetJobOf } from '../../core/job-id.js';
import { CLOUDFLARE_DATASETS } from '../../sources/cloudflare/datasets/catalogue.js';
import { datasetStateText, noteWhenNothingCollects } from './source-status.js';
import { rateShareProblem } from '../../config/rate-share.js';

// Where `source add` and `source set-token` read the token from, and whether they check it online.
const TOKEN_FLAGS = {
  tokenStdin: z.boolean().optional(),
  tokenEnv: z.string().min(1).optional(),
  verify: z.boolean().default(true),
};
const oneTokenSource = (flags: { tokenStdin?: boolean | undefined; tokenEnv?: string | undefined }): boolean =>
  (flags.tokenStdin === true) !== (flags.tokenEnv !== undefined);
const ONE_TOKEN_SOURCE = {
  message: 'give the token with exactly one of --token-stdin or --token-env VAR',
  path: ['tokenStdin'],
};

const addFlagsSchema = z
  .object({
    name: sourceNameSchema,
    accountId: z.string().trim(),
    ...TOKEN_FLAGS,
    rateShare: decimalNumberText((n) => n.gt(0).lte(1)).optional(),
  })
  .refine(oneTokenSource, ONE_TOKEN_SOURCE);

const setTokenFlagsSchema = z.object(TOKEN_FLAGS).refine(oneTokenSource, ONE_TOKEN_SOURCE);

const formatSchema = z.object({ format: z.enum(['table', 'json']).default('table') });

export const NO_SOURCES =
  'No data sources yet. Add one with: zerotrail source add --name NAME --account-id ID --token-stdin';

export function registerSourceCommand(program: Command, context: CommandContext): void {
  const source = program.command('source').description('Manage Cloudflare Zero Trust data sources');

  source
    .command('add')
    .description(
      'Add a data source: API Token, Account ID and Source Name (the token is verified, then stored encrypted)',
    )
    .requiredOption('--name <name>', 'Source Name, e.g. "Cloudflare Zero Trust Logs"')
    .requiredOption('--account-id <id>', 'Cloudflare Account ID (32 hexadecimal characters)')
    .option('--token-stdin', 'read the API token from standard input')
    .option('--token-env <var>', 'read the API token from this environment variable')
    .option('--no-verify', 'store without checking the token against Cloudflare')
    .option('--rate-share <share>', 'share of the token rate limit this source may use (0-1]')
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(addFlagsSchema, rawFlags);
      if (!ACCOUNT_ID_PATTERN.test(flags.accountId)) {
        const credential = mayBeCredential(flags.accountId);
        const given = credential
          ? `given (${flags.accountId.length} characters, not shown: it looks like an API token)`
          : `"${visible(flags.accountId).slice(0, 80)}"`;
        throw new SourceError('SOURCE_ACCOUNT_ID_INVALID', {
          message: `The Account ID ${given} is not 32 hexadecimal characters.`,
          hint:
            (credential ? 'The token goes in with --token-stdin or --token-env VAR, never on the command line. ' : '') +
            'Copy the Account ID from the Cloudflare dashboard URL (dash.cloudflare.com/<account id>/...) or the account home page sidebar.',
        });
      }
      const accountId = flags.accountId.toLowerCase();
      const token = await readToken(context, flags);
      const config = context.loadConfig();
      const shareProblem =
        flags.rateShare === undefined ? undefined : rateShareProblem(flags.rateShare, config.cloudflare.rateLimit);
      if (shareProblem !== undefined) {
        throw new AppError('CLI_USAGE', {
          message: `--rate-share: ${shareProblem}.`,
          hint: 'Give a share between that and 1; the limit itself is ZEROTRAIL_CF_RATE_LIMIT (default 1200/300).',
        });
      }
      const verify = async (app: ConnectionTestContext): Promise<void> => {
        const report = await testSourceConnection(app, {
          accountId,
          token,
          ...(flags.rateShare === undefined ? {} : { rateShare: flags.rateShare }),
        });
        printConnectionReport(context.io, report, 'table');
        failUnlessRequiredReadable(report, 'run the same zerotrail source add again');
        const readable = report.datasets.filter((row) => row.ok).length;
        writeLine(
          context.io.stderr,
          `Token verified (status ${visible(report.token.status)}); ${readable} of ${report.datasets.length} datasets are readable.`,
        );
      };
      // With nothing stored there is no name or account to compare first, and a token Cloudflare refuses must not
      // leave a new installation behind.
      const verifiedBeforeOpening = flags.verify && (await installationIsNew(config));
      if (verifiedBeforeOpening) await verify(context.connectionContext(config));
      await context.withApp(async (app) => {
        if ((await app.store.getSource(flags.name)) !== undefined) {
          throw new SourceError('SOURCE_ALREADY_EXISTS', {
            message: `A data source named "${visible(flags.name)}" already exists.`,
            hint: `Pick another name, or remove it first with: zerotrail source remove ${visible(shellArgument(flags.name))}`,
          });
        }
        // An event has one identity whichever source fetched it, so two sources of one account store each event
        // once, under the source that fetched it first: each source's counts would then be a part of the truth.
        const sameAccount = (await app.store.listSources()).filter((other) => other.accountId === accountId);
        if (flags.verify) {
          if (!verifiedBeforeOpening) await verify(app);
        } else {
          writeLine(
            context.io.stderr,
            'Not verified online (--no-verify): the first collection will tell whether the token works.',
          );
        }
        await app.store.saveSource({
          name: flags.name,
          type: 'cloudflare_zero_trust',
          accountId,
          tokenCiphertext: app.secrets.encrypt(token),
          tokenLastFour: token.lastFour(),
          createdAt: context.clock.now(),
          settings: flags.rateShare === undefined ? {} : { rate_share: flags.rateShare },
        });
        // Said only once the source exists: a refused add changed nothing. Removing the older source instead
        // would drop its cursors and inventory, so the way to give it this token is set-token.
        for (const other of sameAccount) {
          writeLine(
            context.io.stderr,
            `warning: the source "${visible(other.name)}" already collects account ${accountId}. Events both fetch are stored once, under whichever fetches them first. To give "${visible(other.name)}" this token instead, keeping its cursors, remove the source just added (zerotrail source remove ${visible(shellArgument(flags.name))}) and run: printf %s "$TOKEN" | zerotrail source set-token ${visible(shellArgument(other.name))} --token-stdin`,
          );
        }
        writeLine(
          context.io.stdout,
          `Added data source "${visible(flags.name)}" for account ${accountId}. The token is stored encrypted.`,
        );
        writeLine(context.io.stdout, 'Next: zerotrail collect');
      }, config);
    });

  source
    .command('list')
    .description('List data sources with the health of each dataset (tokens are never shown)')
    .option('--format <format>', 'table or json (default table)')
    .action(async (rawFlags: Record<string, unknown>) => {
      const { format } = parseFlags(formatSchema, rawFlags);
      const noSources = (): void => {
        if (format === 'json') writeLine(context.io.stdout, '[]');
        else writeLine(context.io.stdout, NO_SOURCES);
      };
      await context.withStoredApp(async (app) => {
        const sources = await app.store.listSources();
        const statuses = await app.store.datasetStatuses();
        if (sources.length > 0) await noteWhenNothingCollects(app, context.io);
        // A dataset gets a status row only once a pull caught up or failed; one whose first backfill is under way,
        // or was stopped, has only its cursor, and is listed as backfilling rather than left out.
        const backfilling = new Map<string, readonly string[]>();
        for (const stored of sources) {
          const started: string[] = [];
          for (const [dataset, info] of Object.entries(CLOUDFLARE_DATASETS)) {
            const id = datasetJobId(stored.name, dataset);
            if (info.kind !== 'log' || statuses.some((status) => status.id === id)) continue;
            if ((await collectionStarted(app.store, stored.name, dataset)) === 'backfilling') started.push(dataset);
          }
          backfilling.set(stored.name, started);
        }
        const describe = (stored: StoredSource): Record<string, unknown> => ({
          name: stored.name,
          type: stored.type,
          account_id: stored.accountId,
          token_last4: stored.tokenLastFour,
          created_at: new Date(stored.createdAt).toISOString(),
          paused: isSourcePaused(stored),
          datasets: [
            ...statuses
              .filter((status) => isDatasetJobOf(status.id, stored.name))
              .map((status) => ({
                dataset: status.id.slice(stored.name.length + 1),
                state: status.state,
                last_success_at: status.lastSuccessAt === null ? null : new Date(status.lastSuccessAt).toISOString(),
                last_error_code: status.lastErrorCode,
                last_error_message: status.lastErrorMessage,
              })),
            ...(backfilling.get(stored.name) ?? []).map((dataset) => ({
              dataset,
              state: 'backfilling',
              last_success_at: null,
              last_error_code: null,
              last_error_message: null,
            })),
          ],
        });
        if (format === 'json') {
          writeLine(context.io.stdout, JSON.stringify(sources.map(describe), null, 2));
          return;
        }
        if (sources.length === 0) {
          noSources();
          return;
        }
        const rows = sources.map((stored) => {
          const described = describe(stored);
          const datasets = described['datasets'] as readonly {
            dataset: string;
            state: string;
            last_error_code: string | null;
          }[];
          return [
            visible(stored.name),
            stored.accountId,
            stored.tokenLastFour === '' ? '(hidden)' : `…${stored.tokenLastFour}`,
            (isSourcePaused(stored) ? 'PAUSED (resume it in the web UI); ' : '') +
              (datasets.length === 0
                ? 'not collected yet'
                : datasets
                    .map((d) => {
                      const state = datasetStateText(d.state, d.last_error_code);
                      const code =
                        d.last_error_code === null || state === 'no permission' ? '' : ` (${d.last_error_code})`;
                      return `${d.dataset}: ${state}${code}`;
                    })
                    .join(', ')),
          ];
        });
        writeLine(context.io.stdout, renderTable(['name', 'account id', 'token', 'datasets'], rows));
      }, noSources);
    });

  registerSourceTestCommand(source, context);
  registerSourceStatusCommand(source, context);

  // A source removed and added again starts over from the backfill: whatever Cloudflare served while its token
  // was refused and is older than that would never be fetched. Replacing the token keeps every cursor.
  source
    .command('set-token')
    .description('Replace the API token of a data source, keeping its cursors, so collection resumes where it stopped')
    .argument('<name>', 'the Source Name')
    .option('--token-stdin', 'read the API token from standard input')
    .option('--token-env <var>', 'read the API token from this environment variable')
    .option('--no-verify', 'store without checking the token against Cloudflare')
    .action(async (name: string, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(setTokenFlagsSchema, rawFlags);
      const token = await readToken(context, flags);
      await context.withExistingApp(
        async (app) => {
          const stored = await app.store.getSource(name);
          if (stored === undefined) throw unknownSource(name, await app.store.listSources());
          if (flags.verify) {
            const rateShare = stored.settings['rate_share'];
            const baseUrl = stored.settings['api_base_url'];
            const report = await testSourceConnection(app, {
              accountId: stored.accountId,
              token,
              ...(typeof rateShare === 'number' ? { rateShare } : {}),
              ...(typeof baseUrl === 'string' ? { baseUrl } : {}),
            });
            printConnectionReport(context.io, report, 'table');
            // The refused token was not stored: testing the source again would test the old one.
            failUnlessRequiredReadable(report, 'run the same zerotrail source set-token again');
          } else {
            writeLine(
              context.io.stderr,
              'Not verified online (--no-verify): the next collection will tell whether the token works.',
            );
          }
          const updated = { ...stored, tokenCiphertext: app.secrets.encrypt(token), tokenLastFour: token.lastFour() };
          if (!(await app.store.updateSource(updated, { resetCollection: false }))) {
            throw unknownSource(name, await app.store.listSources());
          }
          writeLine(
            context.io.stdout,
            `Replaced the API token of data source "${visible(name)}"; its cursors stay, so the next collection resumes ` +
              'where it stopped. A running zerotrail collect or serve takes it up within 15 seconds.',
          );
        },
        () => {
          throw unknownSource(name, []);
        },
      );
    });

  source
    .command('remove')
    .description('Remove a data source and its collection state; events already stored stay searchable')
    .argument('<name>', 'the Source Name')
    .action(async (name: string) => {
      await context.withExistingApp(
        async (app) => {
          if (!(await app.store.removeSource(name))) throw unknownSource(name, await app.store.listSources());
          writeLine(
            context.io.stdout,
            `Removed data source "${visible(name)}". Its stored events stay searchable until retention deletes them.`,
          );
        },
        () => {
          throw unknownSource(name, []);
        },
      );
    });
}

// A name stored before token-shaped names were refused is described, never shown.
function shownSourceName(name: string): string {
  return looksLikeApiToken(name)
    ? `(a name of ${name.length} characters that looks like an API token)`
    : `"${visible(name)}"`;
}

export function unknownSource(name: string, known: readonly StoredSource[]): NotFoundError {
  // `source set-token "$TOKEN"` puts the token where the name belongs: it is described, never shown.
  const named = mayBeCredential(name)
    ? `the name given (${name.length} characters, not shown: it looks like an API token)`
    : `"${visible(name).slice(0, 100)}"`;
  return new NotFoundError('SOURCE_NOT_FOUND', {
    message: `No data source is named ${named}.`,
    hint:
      known.length === 0
        ? 'No sources exist yet; add one with zerotrail source add.'
        : `Known sources: ${known.map((source) => shownSourceName(source.name)).join(', ')}.`,
  });
}

async function readToken(
  context: CommandContext,
  flags: { tokenStdin?: boolean | undefined; tokenEnv?: string | undefined },
): Promise<Secret> {
  let text: string;
  if (flags.tokenEnv !== undefined) {
    const value = context.io.env[flags.tokenEnv];
    if (value === undefined && mayBeCredential(flags.tokenEnv)) {
      throw new SourceError('SOURCE_TOKEN_INVALID', {
        message: `--token-env was given a value that looks like the API token itself (${flags.tokenEnv.length} characters, not shown), not the name of an environment variable.`,
        hint: 'Pass the variable\'s name, without a $: --token-env CLOUDFLARE_API_TOKEN, not --token-env "$CLOUDFLARE_API_TOKEN". Or pipe the token in with --token-stdin.',
      });
    }
    if (value === undefined) {
      throw new SourceError('SOURCE_TOKEN_INVALID', {
        message: `The environment variable ${flags.tokenEnv} is not set.`,
        hint: `Set it in this shell first (read -rs ${shellVariable(flags.tokenEnv)} && export …), or pipe the token in with --token-stdin.`,
      });
    }
    text = value;
  } else {
    text = await readAll(context.io.stdin);
  }
  let token = text.trim();
  if (/^bearer\s+/i.test(token)) {
    token = token.replace(/^bearer\s+/i, '').trim();
    writeLine(context.io.stderr, 'notice: removed a pasted "Bearer " prefix from the token.');
  }
  if (token === '' && flags.tokenEnv !== undefined) {
    const variable = shellVariable(flags.tokenEnv);
    throw new SourceError('SOURCE_TOKEN_INVALID', {
      message: `The environment variable ${visible(flags.tokenEnv)} named by --token-env is empty: it holds no API token.`,
      hint: `Put the token in it first (read -rs ${variable} && export ${variable}), or pipe the token in with --token-stdin.`,
    });
  }
  if (token === '') {
    throw new SourceError('SOURCE_TOKEN_INVALID', {
      message: 'The API token is empty.',
      hint: 'Create a read-only token in the Cloudflare dashboard (My Profile → API Tokens) and pass it on standard input.',
    });
  }
  // Cloudflare tokens are printable ASCII without spaces; anything else is a paste accident, and sending it
  // would only earn an opaque "Invalid request headers" (6003) from the API.
  if (!/^[\x21-\x7e]+$/.test(token) || token.length < 20 || token.length > 1000) {
    throw new SourceError('SOURCE_TOKEN_INVALID', {
      message:
        'The API token is malformed: it must be one word of printable characters (20 or more), without spaces or quotes inside.',
      hint: 'Copy the token again from the Cloudflare dashboard; it is shown only once, when created.',
    });
  }
  if (/["']/.test(token)) {
    throw new SourceError('SOURCE_TOKEN_INVALID', {
      message: 'The API token contains quotes: remove the quoting around it.',
      hint: 'A Cloudflare API token is letters, digits, - and _ only; paste it without the quotes around it.',
    });
  }
  return new Secret(token);
}

/** The variable's name as a shell command may use it, or VAR where it could not be one. */
function shellVariable(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : 'VAR';
}
