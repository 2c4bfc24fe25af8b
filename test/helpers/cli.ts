import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../src/cli/index.js';
import type { Clock } from '../../src/core/clock.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(REPO_ROOT, 'bin', 'zerotrail.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in this process with its own streams: the same code path as the binary, minus process start-up. */
export async function runInProcess(
  args: readonly string[],
  options: {
    readonly env?: Record<string, string | undefined>;
    readonly input?: string;
    readonly clock?: Clock;
    readonly signal?: AbortSignal;
  } = {},
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await runCli(
    args,
    {
      stdin: Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]),
      stdout,
      stderr,
      env: { ...options.env },
      signal: options.signal ?? new AbortController().signal,
    },
    options.clock === undefined ? {} : { clock: options.clock },
  );
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/**
 * Starts the built binary as a real process (needs `npm run build`, which `npm test` does first), executing the
 * file as `npx zerotrail` does, so its interpreter line and the Node.js flags on it apply.
 */
export function spawnCli(args: readonly string[], env: Record<string, string | undefined>): ChildProcess {
  return spawn(BIN, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export async function runBinary(
  args: readonly string[],
  env: Record<string, string | undefined>,
  input?: string,
): Promise<CliResult> {
  const child = spawnCli(args, env);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  child.stdin?.end(input ?? '');
  const code = await new Promise<number>((resolvePromise) =>
    child.on('close', (exitCode) => resolvePromise(exitCode ?? -1)),
  );
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** `source add` of `name` for `accountId` without asking Cloudflare anything, the token in the variable `tokenEnv`. */
export function addUnverified(name: string, accountId: string, tokenEnv = 'CF_TOKEN'): readonly string[] {
  return ['source', 'add', '--name', name, '--account-id', accountId, '--token-env', tokenEnv, '--no-verify'];
}

/** Sets up an installation without asking Cloudflare anything (token in CF_TOKEN): for tests of the data directory. */
export const ADD_UNVERIFIED = addUnverified('Logs', '0123456789abcdef0123456789abcdef');

/** A zerotrail process left running (a following `collect`, say), with what it writes to stderr so far. */
export interface RunningCli {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  /** The exit code, once it has exited. */
  readonly exited: Promise<number | null>;
  /** Sends SIGTERM and resolves with the exit code. */
  readonly stop: () => Promise<number | null>;
}

export function startCli(args: readonly string[], env: Record<string, string | undefined>): RunningCli {
  const child = spawnCli(args, env);
  child.stdin?.end();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stderr: () => stderr,
    exited,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
