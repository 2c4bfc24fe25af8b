import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { openApp, type App } from '../../src/app.js';
import { runCli } from '../../src/cli/index.js';
import { loadConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/core/logger.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/simulator.js';
import { REPO_ROOT, runInProcess } from '../helpers/cli.js';
import { simulatorEnv } from '../helpers/collector-env.js';
import { makeTempDir } from '../helpers/temp-dir.js';

export const WEB_SOURCE = join(REPO_ROOT, 'src', 'web');
export const WEB_BUILD = join(REPO_ROOT, 'dist', 'web');
export const CHROMIUM = '/usr/bin/chromium';

// Debian's chromium as the machine runs it: no sandbox as root, and no background connections, which this
// closed network refuses (and which would make a test wait on them).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does.`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** What a page did that it must not: dialogs opened (an injected script ran) and CSP violations. */
export interface PageWatch {
  readonly dialogs: string[];
  readonly cspViolations: string[];
  readonly pageErrors: string[];
}

export function watchPage(page: Page): PageWatch {
  const watch: PageWatch = { dialogs: [], cspViolations: [], pageErrors: [] };
  page.on('dialog', (dialog) => {
    watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) {
      watch.cspViolations.push(message.text());
    }
  });
  page.on('pageerror', (error) => watch.pageErrors.push(error.message));
  return watch;
}

/**
 * Makes sure dist/web holds a build of the current src/web. `npm test` builds first, so this normally finds it
 * fresh; a direct `npx vitest run test/browser` after an edit rebuilds. Test files run in parallel processes,
 * so a lock directory keeps two builds from writing dist/web at once.
 */
export function ensureWebBuild(): void {
  const lock = join(REPO_ROOT, 'dist', '.web-build.lock');
  mkdirSync(join(REPO_ROOT, 'dist'), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (isBuildFresh()) return;
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Another test file is building: wait for it, unless its lock outlived any build.
      if (Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
  }
  try {
    if (isBuildFresh()) return;
    const result = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
        'build',
        WEB_SOURCE,
        '--config',
        join(WEB_SOURCE, 'vite.config.ts'),
        '--logLevel',
        'warn',
      ],
      // vitest sets NODE_ENV=test, which would make Vite bundle React's development build; the tests drive the
      // production build that `npm run build:web` ships.
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_ENV: 'production' } },
    );
    if (result.status !== 0) throw new Error(`vite build failed:\n${result.stderr}${result.stdout}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function isBuildFresh(): boolean {
  const index = join(WEB_BUILD, 'index.html');
  if (!existsSync(index)) return false;
  return newestSourceMs(WEB_SOURCE) <= statSync(index).mtimeMs;
}

function newestSourceMs(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export interface RunningServe {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** Everything the command wrote so far. */
  output(): string;
  stop(): Promise<number>;
}

/**
 * Runs `zerotrail serve --port 0` in this process (the same code path as the binary) and waits until it says
 * where it listens. Stopping aborts it the way Ctrl-C does.
 */
export async function startServe(
  env: Record<string, string>,
  extraArgs: readonly string[] = [],
): Promise<RunningServe> {
  const controller = new AbortController();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let text = '';
  stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  let exited: number | null = null;
  const done = runCli(['serve', '--port', '0', ...extraArgs], {
    stdin: Readable.from([]),
    stdout,
    stderr,
    env,
    signal: controller.signal,
  }).then((code) => (exited = code));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const url = /serving the API on (https?:\/\/\S+)\/api/.exec(text)?.[1];
    if (url !== undefined) return { url, output: () => text, stop: () => (controller.abort(), done) };
    if (exited !== null) throw new Error(`zerotrail serve exited with ${String(exited)}:\n${text}`);
    if (Date.now() > deadline) {
      controller.abort();
      throw new Error(`zerotrail serve did not start within 30 s:\n${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface LabUser {
  readonly name: string;
  readonly password: string;
  readonly role: 'admin' | 'analyst' | 'viewer';
}

export interface LabOptions {
  /** Prefix of the temporary data directory. */
  readonly name: string;
  readonly users: readonly LabUser[];
  /** Starts the Cloudflare API simulator with these options; without it serve runs with --no-collect. */
  readonly simulator?: SimulatorOptions;
  /** Added to the environment of every command (backfill, interval). */
  readonly env?: Readonly<Record<string, string>>;
  /** Adds a data source of this name for the simulator's account, its token in CF_TOKEN. */
  readonly source?: string;
  /** Writes to the store before serve starts (events, detections). */
  seed?(app: App): Promise<unknown>;
}

export interface OpenedPage {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly watch: PageWatch;
  close(): Promise<void>;
}

export interface PageOptions {
  readonly viewport?: { readonly width: number; readonly height: number };
  readonly acceptDownloads?: boolean;
}

export interface SignInOptions extends PageOptions {
  /** What the signed-in page shows once ready; the navigation by default. */
  readonly ready?: (page: Page) => Locator;
}

/** A data directory with users (and data), a running `zerotrail serve` on it, and chromium to look at it. */
export interface BrowserLab {
  readonly dir: { readonly path: string; remove(): void };
  readonly env: Record<string, string>;
  readonly serve: RunningServe;
  readonly browser: Browser;
  /** A new browser context and page, not signed in, with the tests' default timeout and a watch on it. */
  openPage(options?: PageOptions): Promise<OpenedPage>;
  /** A new page that has signed in as `user` through the login form shown at `path`. */
  openSignedInPage(
    user: Pick<LabUser, 'name' | 'password'>,
    path: string,
    options?: SignInOptions,
  ): Promise<OpenedPage>;
  /** Closes the pages it opened, chromium, serve and the simulator, and removes the data directory. */
  close(): Promise<void>;
}

const DEFAULT_VIEWPORT = { width: 1280, height: 800 } as const;

/** Fills and submits the login form `page` shows and waits until the app is ready. */
export async function signIn(
  page: Page,
  user: Pick<LabUser, 'name' | 'password'>,
  ready: (page: Page) => Locator = (signed) => signed.getByRole('navigation', { name: 'Pages' }),
): Promise<void> {
  await page.getByLabel('User name').fill(user.name);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await ready(page).waitFor();
}

/** A lab that collects from the Cloudflare API simulator. */
export type SimulatedLab = BrowserLab & { readonly simulator: Simulator };

/**
 * Builds the UI when stale, fills a fresh data directory and starts serve and chromium on it. What started
 * before a failure is stopped again, so a broken set-up leaves no process behind.
 */
export async function startLab(options: LabOptions & { simulator: SimulatorOptions }): Promise<SimulatedLab>;
export async function startLab(options: LabOptions): Promise<BrowserLab>;
export async function startLab(options: LabOptions): Promise<BrowserLab & { readonly simulator?: Simulator }> {
  ensureWebBuild();
  const stops: (() => Promise<unknown> | void)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    const simulator =
      options.simulator === undefined
        ? undefined
        : await startSimulator({ rateLimit: { requests: 1_000_000, windowSecs: 300 }, ...options.simulator });
    if (simulator !== undefined) stops.push(() => simulator.stop());
    const dir = makeTempDir(options.name);
    stops.push(() => dir.remove());
    const base = { ZEROTRAIL_LOG_LEVEL: 'error', ...options.env };
    const env =
      simulator === undefined
        ? { ZEROTRAIL_DATA_DIR: dir.path, ...base }
        : simulatorEnv(simulator, dir.path, {
            ...base,
            ...(options.source === undefined ? {} : { CF_TOKEN: simulator.token }),
          });
    for (const user of options.users) {
      const added = await runInProcess(['user', 'add', user.name, '--role', user.role], {
        env,
        input: `${user.password}\n`,
      });
      expect(added.code, added.stderr).toBe(0);
    }
    if (options.source !== undefined && simulator !== undefined) {
      const source = await runInProcess(
        ['source', 'add', '--name', options.source, '--account-id', simulator.accountId, '--token-env', 'CF_TOKEN'],
        { env },
      );
      expect(source.code, source.stderr).toBe(0);
    }
    if (options.seed !== undefined) {
      const app = await openApp(loadConfig({ env, dataDir: dir.path }), {
        logger: createLogger({ level: 'error', destination: new PassThrough() }),
        clock: systemClock,
      });
      try {
        await options.seed(app);
      } finally {
        await app.close();
      }
    }
    const serve = await startServe(env, simulator === undefined ? ['--no-collect'] : []);
    stops.push(() => serve.stop());
    const browser = await launchChromium();
    stops.push(() => browser.close());
    const openPage = async (pageOptions: PageOptions = {}): Promise<OpenedPage> => {
      const context = await browser.newContext({
        viewport: pageOptions.viewport ?? DEFAULT_VIEWPORT,
        ...(pageOptions.acceptDownloads === true ? { acceptDownloads: true } : {}),
      });
      const close = (): Promise<void> => context.close();
      stops.push(close);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      return { context, page, watch: watchPage(page), close };
    };
    return {
      ...(simulator === undefined ? {} : { simulator }),
      dir,
      env,
      serve,
      browser,
      openPage,
      async openSignedInPage(user, path, signInOptions = {}) {
        const opened = await openPage(signInOptions);
        await opened.page.goto(`${serve.url}${path}`);
        await signIn(opened.page, user, signInOptions.ready);
        return opened;
      },
      close: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
