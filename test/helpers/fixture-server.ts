import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A canned answer: status, headers and the body exactly as bytes on the wire (HTML, truncated JSON, anything). */
export interface FixtureResponse {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Wait this long before answering, to exercise client timeouts. */
  readonly delayMs?: number;
  /** Destroy the socket instead of answering, as a connection reset does. */
  readonly reset?: boolean;
}

/** What the server saw; `url` is path plus query string, `headers` lower-cased as Node gives them. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export type FixtureHandler = (request: RecordedRequest) => FixtureResponse | Promise<FixtureResponse>;

/** One entry of a script: a fixed answer, or a function of the request. */
export type FixtureStep = FixtureResponse | FixtureHandler;

export interface FixtureServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly requests: readonly RecordedRequest[];
  /** Answers the next requests in order; once the script is used up, `fallback` answers. */
  enqueue(...steps: readonly FixtureStep[]): void;
  /** Answers every request the script does not cover. */
  setFallback(step: FixtureStep): void;
  close(): Promise<void>;
}

const NOT_SCRIPTED: FixtureResponse = {
  status: 599,
  headers: { 'content-type': 'text/plain' },
  body: 'fixture server: no scripted response left',
};

/** A real HTTP server on 127.0.0.1 and an ephemeral port that answers from a script and records every request. */
export async function startFixtureServer(...initial: readonly FixtureStep[]): Promise<FixtureServer> {
  const script: FixtureStep[] = [...initial];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let fallback: FixtureStep = NOT_SCRIPTED;

  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const parsed = new URL(req.url ?? '/', 'http://127.0.0.1');
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      path: parsed.pathname,
      query: parsed.searchParams,
      headers: { ...req.headers },
    };
    requests.push(recorded);
    const step = script.shift() ?? fallback;
    const response = typeof step === 'function' ? await step(recorded) : step;
    if (response.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, response.delayMs));
    if (response.reset === true) {
      req.socket.destroy();
      return;
    }
    if (res.destroyed) return;
    res.writeHead(response.status ?? 200, { 'content-type': 'application/json', ...response.headers });
    res.end(response.body ?? '');
  };

  const server = createServer((req, res) => {
    answer(req, res).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...steps) => {
      script.push(...steps);
    },
    setFallback: (step) => {
      fallback = step;
    },
    close: async () => {
      // Keep-alive sockets would hold close() open until they time out.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** A Cloudflare v4 success envelope around `result`, as a JSON string. */
export function envelope(result: unknown, extra: Readonly<Record<string, unknown>> = {}): string {
  return JSON.stringify({ success: true, errors: [], messages: [], result, ...extra });
}

/** A Cloudflare v4 failure envelope, as a JSON string. */
export function failure(errors: readonly { readonly code: number; readonly message: string }[]): string {
  return JSON.stringify({ success: false, errors, messages: [], result: null });
}
