import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { openAuthStore, refuseUnfinishedMigration, startForwarder, type App } from '../../app.js';
import { keepRetention } from '../../pipeline/retention.js';
import { untilAborted } from '../../core/abort-after.js';
import { ConfigError } from '../../core/errors.js';
import { buildServer } from '../../server/app.js';
import { closeServer, listen } from '../../server/listen.js';
import type { PageStored } from '../../pipeline/runner.js';
import type { SnapshotStored } from '../../pipeline/inventory-runner.js';
import type { AuthStore } from '../../store/auth-store.js';
import { parseFlags, type CommandContext } from '../context.js';
import { wholeNumberText } from '../../core/number-text.js';
import { listenRefused } from '../listen-refused.js';
import { writeLine } from '../io.js';
import { visible } from '../output.js';
import { collect, SOURCE_WATCH_MS, sourcesSignature, standBy, watchSources } from './collect.js';
import { fileSystemProblem } from '../../core/file-error.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
// A source added through another node's API is picked up within this long.
// The UI build (vite) writes to dist/web; this path resolves there from both src/ and dist/.
const WEB_ROOT = fileURLToPath(new URL('../../../dist/web', import.meta.url));

/** Whether dist/web holds a built UI; without it the server answers the API only. */
export function webUiBuilt(): boolean {
  return existsSync(join(WEB_ROOT, 'index.html'));
}

/** The API and, when built, the web UI, listening on an opened installation (shared by `serve` and `demo`). */
export interface RunningWebServer {
  readonly url: string;
  readonly server: FastifyInstance;
  readonly auth: AuthStore;
  readonly webBuilt: boolean;
  close(): Promise<void>;
}

export async function startWebServer(
  app: App,
  options: {
    readonly host: string;
    readonly port: number;
    readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
    readonly onSourcesChanged: () => void;
  },
): Promise<RunningWebServer> {
  const auth = await openAuthStore(app);
  const webBuilt = webUiBuilt();
  try {
    const server = await buildServer({
      app,
      auth,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(webBuilt ? { webRoot: WEB_ROOT } : {}),
      onSourcesChanged: options.onSourcesChanged,
    });
    try {
      const url = await listen(server, { host: options.host, port: options.port, tls: options.tls !== undefined });
      return {
        url,
        server,
        auth,
        webBuilt,
        close: async () => {
          try {
            await closeServer(server);
          } finally {
            await auth.close();
          }
        },
      };
    } catch (error) {
      await server.close();
      throw error;
    }
  } catch (error) {
    await auth.close();
    throw error;
  }
}

/** What `serve` prints about the UI, shared with `demo`. */
export function webUiLine(url: string, webBuilt: boolean): string {
  return webBuilt ? `Web UI: ${url}/` : `The web UI is not built (${WEB_ROOT} has no index.html); the API works.`;
}

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 8080;

const flagsSchema = z
  .object({
    // No defaults here, so that a collector node can tell flags given for an HTTP server it will not run.
    host: z.string().min(1).optional(),
    port: wholeNumberText((n) => n.max(65_535)).optional(),
    collect: z.boolean().default(true),
    role: z.enum(['all', 'collector', 'api']).default('all'),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
  })
  .refine((flags) => (flags.tlsCert === undefined) === (flags.tlsKey === undefined), {
    message: 'give both --tls-cert and --tls-key, or neither',
    path: ['tlsCert'],
  })
  .refine(
    (flags) =>
      flags.role !== 'collector' ||
      (flags.host === undefined && flags.port === undefined && flags.tlsCert === undefined),
    {
      message: 'the collector role runs no HTTP server: leave out --host, --port, --tls-cert and --tls-key',
      path: ['role'],
    },
  )
  .refine((flags) => flags.role !== 'collector' || flags.collect, {
    message: 'the collector role only collects: leave out --no-collect, or use --role api to serve without collecting',
    path: ['role'],
  });

export function registerServeCommand(program: Command, context: CommandContext): void {
  program
    .command('serve')
    .description('Run the HTTP API and, unless --no-collect, the collector, until Ctrl-C')
    .option('--host <address>', 'address to listen on (default 127.0.0.1: this machine only)')
    .option('--port <port>', 'TCP port (default 8080; 0 picks a free one)')
    .option('--no-collect', 'serve stored data only; do not collect from the data sources')
    .option(
      '--role <role>',
      'all (default): API and collection; api: API only; collector: collection only, no HTTP server',
    )
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS (needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key of the certificate')
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(flagsSchema, rawFlags);
      const tls =
        flags.tlsCert === undefined || flags.tlsKey === undefined
          ? undefined
          : readTlsPair(flags.tlsCert, flags.tlsKey);
      const host = flags.host ?? DEFAULT_HOST;
      const port = flags.port ?? DEFAULT_PORT;
      if (flags.role !== 'collector') await checkListenAddress(host, port);
      await context.withApp(async (app) => {
        await refuseUnfinishedMigration(app);
        const signal = context.io.signal;
        if (flags.role === 'collector') {
          writeLine(context.io.stderr, 'zerotrail is collecting (role collector: no HTTP server; Ctrl-C stops it).');
          await superviseCollection(app, context, signal, { watchSourcesMs: SOURCE_WATCH_MS }).done;
          return;
        }
        const collector =
          flags.collect && flags.role === 'all'
            ? superviseCollection(app, context, signal, { watchSourcesMs: SOURCE_WATCH_MS })
            : undefined;
        // A node that collects runs retention with its collection; one that does not still owns the store's
        // retention, which Settings and the API say runs hourly, and which nothing else may be left to run.
        const stopRetention = new AbortController();
        const retention =
          collector === undefined ? keepRetention(app, AbortSignal.any([signal, stopRetention.signal])) : undefined;
        try {
          const web = await startWebServer(app, {
            host,
            port,
            ...(tls === undefined ? {} : { tls }),
            onSourcesChanged: () => collector?.restart(),
          });
          const { url, auth } = web;
          try {
            writeLine(context.io.stderr, `zerotrail is serving the API on ${url}/api (Ctrl-C stops it).`);
            writeLine(context.io.stderr, webUiLine(url, web.webBuilt));
            if (!LOOPBACK.has(host)) {
              writeLine(
                context.io.stderr,
                `warning: listening on ${visible(host)}, reachable from other machines${tls === undefined ? ' without TLS: passwords and session cookies cross the network in clear text (use --tls-cert and --tls-key)' : ''}.`,
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
              collector === undefined
                ? `Collection is off (${flags.role === 'api' ? '--role api' : '--no-collect'}).`
                : 'Collecting from every data source.',
            );
            await untilAborted(signal);
          } finally {
            await web.close();
          }
        } finally {
          await collector?.done;
          stopRetention.abort();
          await retention;
        }
      });
    });
}

/** The certificate and key, refused here when HTTPS could not use them, so the refusal comes before anything opens. */
function readTlsPair(certPath: string, keyPath: string): { readonly cert: Buffer; readonly key: Buffer } {
  const cert = readPem(certPath, '--tls-cert');
  const key = readPem(keyPath, '--tls-key');
  const refuse = (problem: string, cause: unknown): ConfigError =>
    new ConfigError('CONFIG_INVALID', {
      // One line, whatever the paths and the TLS library's message hold.
      message: `${visible(problem)}.`,
      hint: 'Give --tls-cert a PEM certificate (-----BEGIN CERTIFICATE-----) and --tls-key the PEM private key it was issued for, without a passphrase.',
      cause,
    });
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw refuse(`--tls-cert ${certPath} holds no certificate`, error);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw refuse(`--tls-key ${keyPath} holds no private key readable without a passphrase`, error);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw refuse(
      `The private key in --tls-key ${keyPath} is not the key of the certificate in --tls-cert ${certPath}`,
      undefined,
    );
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw refuse(
      `--tls-cert ${certPath} and --tls-key ${keyPath} cannot serve HTTPS: ${error instanceof Error ? error.message : String(error)}`,
      error,
    );
  }
  return { cert, key };
}

/**
 * Binds the address the server is to listen on and lets it go again, so that a host that is not this machine's or
 * a port in use is refused with its reason before the installation opens, not after.
 */
async function checkListenAddress(host: string, port: number): Promise<void> {
  const probe = createNetServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host, port, exclusive: true }, resolve);
    });
  } catch (error) {
    throw listenRefused(host, port, error);
  } finally {
    // Closing a server that never listened calls back with ERR_SERVER_NOT_RUNNING: nothing is left to close then.
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError('CONFIG_INVALID', {
      message: `${flag} ${visible(path)} cannot be read: ${fileSystemProblem(error)}.`,
      cause: error,
    });
  }
}

/**
 * Follows every stored data source with `collect()` until `signal` aborts. Adding or removing a source through
 * the API calls `restart()`, which stops the current run (each dataset keeps its committed cursor) and starts
 * again with the new list; with no sources it waits for one.
 */
export function superviseCollection(
  app: App,
  context: CommandContext,
  signal: AbortSignal,
  callbacks: {
    readonly onPageStored?: (page: PageStored) => void;
    readonly onSnapshotStored?: (snapshot: SnapshotStored) => void;
    /** Also restarts when the stored list of sources changed, e.g. through another node sharing the database. */
    readonly watchSourcesMs?: number;
  } = {},
): { restart(): void; readonly done: Promise<void> } {
  let current = new AbortController();
  const restart = (): void => current.abort();
  const done = (async () => {
    // Retention runs for as long as collection is supervised, whether or not a source is stored to collect from.
    const stopRetention = new AbortController();
    const retention = keepRetention(app, AbortSignal.any([signal, stopRetention.signal]));
    // One forwarder for the whole run: collection restarts on source changes, notifications carry on.
    const notifier = await startForwarder(app, signal).catch((error: unknown) => {
      app.logger.error({ err: error }, 'Notifications did not start');
      return undefined;
    });
    try {
      await superviseLoop();
    } finally {
      await notifier?.close();
      stopRetention.abort();
      await retention;
    }
  })();
  async function superviseLoop(): Promise<void> {
    while (!signal.aborted) {
      current = new AbortController();
      const stop = AbortSignal.any([signal, current.signal]);
      const sources = await app.store.listSources();
      const watch =
        callbacks.watchSourcesMs === undefined
          ? undefined
          : watchSources(app, callbacks.watchSourcesMs, sourcesSignature(sources), restart);
      if (sources.length > 0) {
        try {
          await collect(app, context, sources, { once: false, quiet: true, notify: false, signal: stop, ...callbacks });
        } catch (error) {
          app.logger.error({ err: error }, 'Collection stopped; it restarts when a data source is added or removed');
        }
      } else {
        await standBy(app, stop);
      }
      // Whether collection ended or never started, only a source change or the end of the process moves on.
      await untilAborted(stop);
      clearInterval(watch);
    }
  }
  return { restart, done };
}
