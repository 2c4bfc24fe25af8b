import { ConfigError } from '../core/errors.js';
import { visible } from './output.js';

/** Whether `error` is the operating system refusing to bind an address (or to resolve the host to bind). */
export function isListenError(error: unknown): boolean {
  const syscall = (error as NodeJS.ErrnoException | undefined)?.syscall;
  return syscall === 'listen' || syscall === 'bind' || syscall === 'getaddrinfo';
}

/** A refusal to listen on `host:port` as CONFIG_INVALID, saying why in words and what to give instead. */
export function listenRefused(typedHost: string, port: number, error: unknown): ConfigError {
  const host = visible(typedHost);
  const refuse = (message: string, hint: string): ConfigError =>
    new ConfigError('CONFIG_INVALID', { message: `${message}.`, hint, cause: error });
  const otherHost =
    'Give --host an address of this machine: 127.0.0.1 (this machine only, the default) or 0.0.0.0 (every interface).';
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return refuse(`--host ${host} is neither an address nor a host name this machine can resolve`, otherHost);
    case 'EADDRNOTAVAIL':
      return refuse(`--host ${host} is not an address of this machine`, otherHost);
    case 'EADDRINUSE':
      return refuse(
        `Port ${port} on ${host} is in use by another program`,
        'Stop that program, or choose another port with --port (0 picks a free one).',
      );
    case 'EACCES':
      if (port < 1024) {
        return refuse(
          `This user may not listen on port ${port}: ports below 1024 need privileges`,
          'Choose a port from 1024 up with --port, and put a reverse proxy in front if it must be 80 or 443.',
        );
      }
      break;
  }
  return refuse(
    `zerotrail cannot listen on port ${port} of ${host}: ${visible(error instanceof Error ? error.message : String(error))}`,
    'Check --host and --port.',
  );
}
