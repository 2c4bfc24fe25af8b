import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../src/cli/index.js';

export interface Served {
  readonly url: Promise<string>;
  readonly exit: Promise<number>;
  stderr(): string;
  stop(): void;
}

/** Runs `zerotrail serve` in this process and resolves `url` once it prints where it listens. */
export function serve(args: readonly string[], env: Record<string, string>): Served {
  const controller = new AbortController();
  const stderr = new PassThrough();
  const stdout = new PassThrough();
  let text = '';
  let announce: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => {
    announce = resolve;
  });
  stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
    const match = /serving the API on (\S+)\/api/.exec(text);
    if (match?.[1] !== undefined) announce(match[1]);
  });
  stdout.resume();
  const exit = runCli(['serve', ...args], {
    stdin: Readable.from([]),
    stdout,
    stderr,
    env,
    signal: controller.signal,
  });
  void exit.then(() => announce('exited'));
  return { url, exit, stderr: () => text, stop: () => controller.abort() };
}
