import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { z } from 'zod';
import { DATABASE_FILE, type App } from '../../app.js';
import { ConfigError } from '../../core/errors.js';
import { buildServer } from '../../server/app.js';
import { closeServer, listen } from '../../server/listen.js';
import { SqliteAuthStore } from '../../store/sqlite/auth-store.js';
import { parseFlags, type CommandContext } from '../context.js';
import { writeLine } from '../io.js';
import { collect } from './collect.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
// The UI build (vite) writes to dist/web; this path resolves there from both src/ and dist/.
const WEB_ROOT = fileURLToPath(new URL('../../../dist/web', import.meta.url));

const flagsSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65_535).default(8080),
    collect: z.boolean().default(true),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
  })
  .refine((flags) => (flags.tlsCert === undefined) === (flags.tlsKey === undefined), {
    message: 'give both --tls-cert and --tls-key, or neither',
    path: ['tlsCert'],
  });

export function registerServeCommand(program: Command, context: CommandContext): void {
  program
    .command('serve')
    .description('Run the HTTP API and, unless --no-collect, the collector, until Ctrl-C')
    .option('--host <address>', 'address to listen on (default 127.0.0.1: this machine only)')
    .option('--port <port>', 'TCP port (default 8080; 0 picks a free one)')
    .option('--no-collect', 'serve stored data only; do not collect from the data sources')
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS (needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key of the certificate')
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(flagsSchema, rawFlags);
      const tls =
        flags.tlsCert === undefined || flags.tlsKey === undefined
          ? undefined
          : { cert: readPem(flags.tlsCert, '--tls-cert'), key: readPem(flags.tlsKey, '--tls-key') };
      await context.withApp(async (app) => {
        const auth = await SqliteAuthStore.open({ path: join(app.config.dataDir, DATABASE_FILE) });
        const signal = context.io.signal;
        const collector = flags.collect ? superviseCollection(app, context, signal) : undefined;
        const webBuilt = existsSync(join(WEB_ROOT, 'index.html'));
        try {
          const server = await buildServer({
            app,
            auth,
            ...(tls === undefined ? {} : { tls }),
            ...(webBuilt ? { webRoot: WEB_ROOT } : {}),
            onSourcesChanged: () => collector?.restart(),
          });
          try {
            const url = await listen(server, { host: flags.host, port: flags.port, tls: tls !== undefined });
            writeLine(context.io.stderr, `zerotrail is serving the API on ${url}/api (Ctrl-C stops it).`);
            writeLine(
              context.io.stderr,
              webBuilt ? `Web UI: ${url}/` : `The web UI is not built (${WEB_ROOT} has no index.html); the API works.`,
            );
            if (!LOOPBACK.has(flags.host)) {
              writeLine(
                context.io.stderr,
                `warning: listening on ${flags.host}, reachable from other machines${tls === undefined ? ' without TLS: passwords and session cookies cross the network in clear text (use --tls-cert and --tls-key)' : ''}.`,
              );
            }
            if ((await auth.listUsers()).length === 0) {
              writeLine(
                context.io.stderr,
                'No users yet: create the first admin with: zerotrail user add NAME --role admin (password on stdin)',
              );
            }
            writeLine(
              context.io.stderr,
              collector === undefined ? 'Collection is off (--no-collect).' : 'Collecting from every data source.',
            );
            await untilAborted(signal);
          } finally {
            await closeServer(server);
          }
        } finally {
          await collector?.done;
          await auth.close();
        }
      });
    });
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError('CONFIG_INVALID', {
      message: `${flag} ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}.`,
      cause: error,
    });
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/**
 * Follows every stored data source with `collect()` until `signal` aborts. Adding or removing a source through
 * the API calls `restart()`, which stops the current run (each dataset keeps its committed cursor) and starts
 * again with the new list; with no sources it waits for one.
 */
function superviseCollection(
  app: App,
  context: CommandContext,
  signal: AbortSignal,
): { restart(): void; readonly done: Promise<void> } {
  let current = new AbortController();
  const restart = (): void => current.abort();
  const done = (async () => {
    while (!signal.aborted) {
      current = new AbortController();
      const stop = AbortSignal.any([signal, current.signal]);
      const sources = await app.store.listSources();
      if (sources.length > 0) {
        try {
          await collect(app, context, sources, { once: false, quiet: true, signal: stop });
        } catch (error) {
          app.logger.error({ err: error }, 'Collection stopped; it restarts when a data source is added or removed');
        }
      }
      // Whether collection ended or never started, only a source change or the end of the process moves on.
      await untilAborted(stop);
    }
  })();
  return { restart, done };
}
