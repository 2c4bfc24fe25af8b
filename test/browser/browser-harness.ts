import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runCli } from '../../src/cli/index.js';
import { REPO_ROOT } from '../helpers/cli.js';

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
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
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
