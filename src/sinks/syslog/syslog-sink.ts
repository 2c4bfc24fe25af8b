import { hostname } from 'node:os';
import { isIP, connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import type { ComponentContext } from '../../core/context.js';
import { SinkError } from '../../core/errors.js';
import { readCaFile } from '../read-ca-file.js';
import type { AlertNotice, Sink, SinkFactory } from '../sink.js';
import { transportError } from '../transport-error.js';
import { syslogTargetSchema, SYSLOG_FACILITIES, type SyslogTargetConfig } from './config.js';
import { formatRfc5424, frameOctetCounted } from './rfc5424.js';

type ExchangePhase = 'connecting' | 'handshake' | 'sending' | 'closing' | 'done';

// The least time our close is held back after writing; see #exchange.
const CLOSE_GRACE_FLOOR_MS = 25;

/**
 * Sends alert notices as RFC 5424 messages over TCP or TLS, framed by octet counting (RFC 6587). Each send
 * opens a connection, writes the batch, half-closes and waits for the collector to close in turn: syslog has
 * no acknowledgement, and a clean close after reading to the end is the closest thing to one. A collector that
 * answers with data, or closes before it could have seen our close, has not taken the batch.
 */
export class SyslogSink implements Sink {
  readonly type = 'syslog';
  readonly id: string;
  readonly maxBatch = 100;
  readonly #config: SyslogTargetConfig;
  readonly #ctx: ComponentContext;
  #ca: string[] | undefined;
  /**
   * The last send timed out after writing its messages, so the collector may hold them. Before they are written
   * again, an empty connection must be closed properly: a collector that never closes gets a batch once, not once
   * per retry.
   */
  #unconfirmed = false;

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
    if (this.#unconfirmed) {
      await this.#exchange(Buffer.alloc(0), signal);
      this.#unconfirmed = false;
    }
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
    const { host, port, tls, timeoutMs } = this.#config;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([outer, timeout]);
    return new Promise<void>((resolve, reject) => {
      let phase: ExchangePhase = 'connecting';
      let dialedAt = performance.now();
      let peerClosed = false;
      let grace: NodeJS.Timeout | undefined;
      let closeAfterIo: NodeJS.Immediate | undefined;
      // Half-open, so that the collector's close does not close our side for us: whether it came before or after
      // our own close is what tells a read batch from a lost one.
      // tls.connect hands allowHalfOpen to its socket as net.connect does; @types/node leaves it out.
      const tlsOptions: ConnectionOptions & { readonly allowHalfOpen: boolean } = {
        host,
        port,
        allowHalfOpen: true,
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ...(this.#ca === undefined ? {} : { ca: this.#ca }),
        rejectUnauthorized: true,
      };
      const socket: Socket = tls ? connectTls(tlsOptions) : connectTcp({ host, port, allowHalfOpen: true });
      const settle = (): boolean => {
        if (phase === 'done') return false;
        phase = 'done';
        clearTimeout(grace);
        clearImmediate(closeAfterIo);
        signal.removeEventListener('abort', onAbort);
        return true;
      };
      const fail = (error: SinkError): void => {
        if (!settle()) return;
        socket.destroy();
        reject(error);
      };
      const onAbort = (): void => {
        const timedOutIn = phase;
        if (!settle()) return;
        socket.destroy();
        if (outer.aborted) {
          reject(outer.reason as Error);
          return;
        }
        if (payload.length > 0 && (timedOutIn === 'sending' || timedOutIn === 'closing')) this.#unconfirmed = true;
        reject(this.#timeoutError(timedOutIn, timeout.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('lookup', () => {
        dialedAt = performance.now();
      });
      if (tls) {
        socket.once('connect', () => {
          if (phase === 'connecting') phase = 'handshake';
        });
      }
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        if (phase === 'done') return;
        phase = 'sending';
        if (payload.length > 0) socket.write(payload);
        // Our close is held back a moment. A collector that closes at once (at its session limit, a proxy without a
        // backend) does so about a round trip after the connection, and our close must not cross its close: after
        // ours, its close reads as an acknowledgement. Twice what the connection took covers that round trip and
        // the collector's own delay; the floor, a busy machine's scheduling. Only the close waits: the messages are
        // on their way already.
        const readyMs = performance.now() - dialedAt;
        const graceMs = Math.min(Math.max(CLOSE_GRACE_FLOOR_MS, 2 * readyMs), timeoutMs / 2);
        grace = setTimeout(() => {
          grace = undefined;
          // Timers run before I/O in each turn of the event loop, so after a busy stretch (collection, detection)
          // this one fires while the collector's early close may be waiting unread. An immediate runs after that
          // turn's I/O: such a close is then seen for what it was.
          closeAfterIo = setImmediate(() => {
            closeAfterIo = undefined;
            socket.end(() => {
              if (phase === 'sending') phase = 'closing';
            });
          });
        }, graceMs);
      });
      socket.on('data', (chunk: Buffer) => fail(this.#answeredError(chunk)));
      socket.once('end', () => {
        // The collector closed its side. Only after it read our close, at the end of everything we sent, is that
        // an acknowledgement; before, whatever it had not read yet is lost.
        if (phase !== 'closing') {
          fail(this.#closedEarlyError());
          return;
        }
        peerClosed = true;
      });
      socket.on('error', (error) => {
        if (phase === 'done') return;
        fail(transportError(this.id, this.#endpoint(), error, false));
      });
      socket.once('close', (hadError) => {
        if (phase === 'done') return;
        if (hadError || !peerClosed) {
          fail(this.#closedEarlyError());
          return;
        }
        settle();
        resolve();
      });
    });
  }

  #timeoutError(phase: ExchangePhase, cause: unknown): SinkError {
    const within = `within ${this.#config.timeoutMs} ms`;
    let what: string;
    switch (phase) {
      case 'handshake':
        what = `accepted the connection but did not answer the TLS handshake ${within}: is this port a TLS port? For syslog over plain TCP set tls: false.`;
        break;
      case 'sending':
        what = `did not read the notifications ${within}.`;
        break;
      case 'closing':
        what = `kept the connection open for ${this.#config.timeoutMs} ms after zerotrail finished sending. A syslog receiver closes once it has read everything, the only sign that it did, so the notices count as not delivered; they are sent again once it closes an empty test connection. Check that the receiver, or a proxy in front of it, closes a connection when the sender does, and that it is not stalled.`;
        break;
      default:
        what = `did not accept the connection ${within}.`;
    }
    return new SinkError('SINK_TIMEOUT', {
      message: `Notification target ${this.id} (${this.#endpoint()}) ${what}`,
      details: { target: this.id, scope: 'notice' },
      cause,
    });
  }

  #closedEarlyError(): SinkError {
    return new SinkError('SINK_UNREACHABLE', {
      message: `Notification target ${this.id} (${this.#endpoint()}) closed the connection before it could have read the notifications (a receiver at its connection limit, a proxy without a backend${this.#config.tls ? '' : ', a port that expects TLS'}?); they are sent again.`,
      details: { target: this.id, scope: 'notice' },
    });
  }

  #answeredError(chunk: Buffer): SinkError {
    // 0x15 and 0x16 open a TLS alert and handshake record: a TLS port answering our plain text.
    const tlsAnswer = !this.#config.tls && (chunk[0] === 0x15 || chunk[0] === 0x16);
    const what = tlsAnswer
      ? 'answered in TLS: this port takes syslog over TLS, set tls: true.'
      : 'answered with data, which a syslog receiver never sends: is this port another service?';
    return new SinkError('SINK_UNREACHABLE', {
      message: `Notification target ${this.id} (${this.#endpoint()}) ${what}`,
      details: { target: this.id, scope: 'notice' },
    });
  }
}

export const syslogSinkFactory = {
  type: 'syslog',
  configSchema: syslogTargetSchema,
  create: (config: SyslogTargetConfig, ctx: ComponentContext): Sink => new SyslogSink(config, ctx),
} as const satisfies SinkFactory<SyslogTargetConfig>;
