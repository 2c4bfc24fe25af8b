import { hostname } from 'node:os';
import { isIP, connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { ComponentContext } from '../../core/context.js';
import { SinkError } from '../../core/errors.js';
import { readCaFile } from '../read-ca-file.js';
import type { AlertNotice, Sink, SinkFactory } from '../sink.js';
import { transportError } from '../transport-error.js';
import { syslogTargetSchema, SYSLOG_FACILITIES, type SyslogTargetConfig } from './config.js';
import { formatRfc5424, frameOctetCounted } from './rfc5424.js';

/**
 * Sends alert notices as RFC 5424 messages over TCP or TLS, framed by octet counting (RFC 6587). Each send
 * opens a connection, writes the batch, half-closes and waits for the collector to close in turn: syslog has
 * no acknowledgement, and a clean close after reading to the end is the closest thing to one.
 */
export class SyslogSink implements Sink {
  readonly type = 'syslog';
  readonly id: string;
  readonly maxBatch = 100;
  readonly #config: SyslogTargetConfig;
  readonly #ctx: ComponentContext;
  #ca: string[] | undefined;

  constructor(config: SyslogTargetConfig, ctx: ComponentContext) {
    this.id = config.name;
    this.#config = config;
    this.#ctx = ctx;
  }

  async start(): Promise<void> {
    this.#ca = await readCaFile(this.id, this.#config.caFile);
  }

  async send(batch: readonly AlertNotice[], signal: AbortSignal): Promise<void> {
    const host = hostname();
    const frames = batch.map((notice) =>
      frameOctetCounted(
        formatRfc5424(notice, {
          facility: SYSLOG_FACILITIES[this.#config.facility],
          hostname: host,
          procId: String(process.pid),
          sdId: this.#config.sdId,
          now: this.#ctx.clock.now(),
        }),
      ),
    );
    await this.#exchange(Buffer.concat(frames), signal);
  }

  async healthcheck(signal: AbortSignal): Promise<void> {
    await this.#exchange(Buffer.alloc(0), signal);
  }

  async stop(): Promise<void> {
    // Every send owns its connection, so nothing stays open to flush.
  }

  #endpoint(): string {
    return `${this.#config.tls ? 'tls' : 'tcp'}://${this.#config.host}:${this.#config.port}`;
  }

  #exchange(payload: Buffer, outer: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.#config.timeoutMs);
    const signal = AbortSignal.any([outer, timeout]);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const { host, port } = this.#config;
      const socket: Socket = this.#config.tls
        ? connectTls({
            host,
            port,
            ...(isIP(host) === 0 ? { servername: host } : {}),
            ...(this.#ca === undefined ? {} : { ca: this.#ca }),
            rejectUnauthorized: true,
          })
        : connectTcp({ host, port });
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        if (outer.aborted) reject(outer.reason as Error);
        else reject(transportError(this.id, this.#endpoint(), error, timeout.aborted));
      };
      const onAbort = (): void => fail(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('error', fail);
      socket.once(this.#config.tls ? 'secureConnect' : 'connect', () => {
        if (payload.length > 0) socket.write(payload);
        socket.end();
      });
      // Collectors rarely answer; whatever they send is read and ignored so the close can complete.
      socket.on('data', () => undefined);
      socket.once('close', (hadError) => {
        if (hadError) {
          fail(new SinkError('SINK_UNREACHABLE', { message: 'The connection closed with an error.' }));
          return;
        }
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}

export const syslogSinkFactory = {
  type: 'syslog',
  configSchema: syslogTargetSchema,
  create: (config: SyslogTargetConfig, ctx: ComponentContext): Sink => new SyslogSink(config, ctx),
} as const satisfies SinkFactory<SyslogTargetConfig>;
