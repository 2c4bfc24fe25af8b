import type { Readable, Writable } from 'node:stream';

/** The process edges a command may touch; tests pass their own streams and environment. */
export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable & { isTTY?: boolean; columns?: number };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborts on SIGINT/SIGTERM so long-running commands stop cleanly. */
  readonly signal: AbortSignal;
}

/**
 * The reason `CliIo.signal` is aborted with when the process receives a stop signal: a command stopped by it
 * before it finished exits as a shell reports a program that signal ended (128 + its number).
 */
export class StopSignalReceived extends DOMException {
  constructor(readonly signalName: NodeJS.Signals) {
    super(`Received ${signalName}`, 'AbortError');
  }
}

export function writeLine(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}

/** Waits until everything written so far has been handed to the OS, so a pipe reader sees it all. */
export function drain(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write('')) resolve();
    else stream.once('drain', () => resolve());
  });
}

export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
