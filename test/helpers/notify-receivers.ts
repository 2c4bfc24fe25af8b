import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

/** A real HTTP server that records webhook bodies and answers with the scripted statuses, then 200. */
export interface WebhookReceiver {
  readonly url: string;
  readonly bodies: unknown[];
  readonly headers: IncomingMessage['headers'][];
  /** Statuses for the next requests, in order. */
  readonly script: number[];
  readonly close: () => Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const bodies: unknown[] = [];
  const headers: IncomingMessage['headers'][] = [];
  const script: number[] = [];
  const server = createHttpServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const status = script.shift() ?? 200;
      if (status === 200 && request.method === 'POST') {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        headers.push(request.headers);
      }
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
    });
  });
  await listen(server, 0);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    headers,
    script,
    close: () => closeServer(server),
  };
}

/** A real syslog collector over TCP or TLS that splits the stream by octet counting (RFC 6587). */
export interface SyslogReceiver {
  readonly port: number;
  readonly messages: string[];
  readonly close: () => Promise<void>;
}

export async function startSyslogReceiver(
  options: { readonly port?: number; readonly tls?: { readonly cert: Buffer; readonly key: Buffer } } = {},
): Promise<SyslogReceiver> {
  const messages: string[] = [];
  const onConnection = (socket: Socket): void => {
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space < 0) break;
        const length = Number(buffer.subarray(0, space).toString('ascii'));
        if (buffer.length < space + 1 + length) break;
        messages.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
        buffer = buffer.subarray(space + 1 + length);
      }
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
  };
  const server: Server =
    options.tls === undefined
      ? createTcpServer(onConnection)
      : createTlsServer({ cert: options.tls.cert, key: options.tls.key }, onConnection);
  await listen(server, options.port ?? 0);
  return { port: (server.address() as AddressInfo).port, messages, close: () => closeServer(server) };
}

/** A port that was free a moment ago, for a receiver that starts later. */
export async function freePort(): Promise<number> {
  const server = createTcpServer();
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;
  await closeServer(server);
  return port;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}
