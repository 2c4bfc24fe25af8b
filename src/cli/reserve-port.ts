import { createServer } from 'node:net';

export interface PortReservation {
  /** Frees the port for the server that is to listen on it; safe to call more than once. */
  release(): Promise<void>;
}

/**
 * Listens on `host:port` until released, so that a command which serves only after long work (the demo's
 * backfill) finds the port taken before it starts that work rather than after, and nobody takes it meanwhile.
 * Rejects with the operating system's listen error (EADDRINUSE, EACCES, …).
 */
export async function reservePort(host: string, port: number): Promise<PortReservation> {
  // A connection made while the port is held has nobody to answer it: closed at once rather than left hanging.
  const holder = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.listen({ host, port, exclusive: true }, () => {
      holder.off('error', reject);
      resolve();
    });
  });
  // Holding the port never keeps the process alive by itself.
  holder.unref();
  let released: Promise<void> | undefined;
  return {
    release: () => (released ??= new Promise<void>((resolve) => holder.close(() => resolve()))),
  };
}
