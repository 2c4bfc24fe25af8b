import type { FastifyInstance } from 'fastify';

export interface ListenOptions {
  /** Loopback unless the operator asks otherwise: the API holds customer security data. */
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
}

// In-flight requests get this long to finish when the process stops; an export may be cut short after it.
const CLOSE_DEADLINE_MS = 10_000;

/** Starts listening and returns the base URL a person can open. */
export async function listen(server: FastifyInstance, options: ListenOptions): Promise<string> {
  await server.listen({ host: options.host, port: options.port });
  const address = server.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return `${options.tls ? 'https' : 'http'}://${host}:${port}`;
}

/** Closes the server, bounded by a deadline so a stuck connection cannot hold the process open. */
export async function closeServer(server: FastifyInstance): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.server.closeAllConnections();
      resolve();
    }, CLOSE_DEADLINE_MS);
  });
  try {
    await Promise.race([server.close(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
