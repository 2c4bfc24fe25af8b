import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SinkError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import type { AlertNotice, Sink } from '../../src/sinks/sink.js';
import { syslogTargetSchema } from '../../src/sinks/syslog/config.js';
import { SyslogSink } from '../../src/sinks/syslog/syslog-sink.js';
import { startSyslogReceiver } from '../helpers/notify-receivers.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const NOTICE: AlertNotice = {
  seq: 1,
  reason: 'created',
  queuedAt: Date.UTC(2026, 2, 1, 8, 0, 0),
  alert: {
    id: 'al_0001',
    ruleId: 'zt-brute-force-user',
    title: 'Brute force against a user',
    severity: 'high',
    technique: 'T1110.001',
    entity: { user: 'alice@example.com', ip: '192.0.2.7', app: 'Wiki' },
    summary: 'alice@example.com was denied 3 times from 192.0.2.7',
    firstEventTime: Date.UTC(2026, 2, 1, 8, 0, 0),
    lastEventTime: Date.UTC(2026, 2, 1, 8, 2, 0),
    count: 3,
    status: 'open',
    link: '/alerts/al_0001',
  },
};

/** A TCP or TLS server that handles each connection with `onConnection` and counts the bytes it read. */
interface Collector {
  readonly port: number;
  readonly connections: number;
  readonly bytes: number;
  readonly close: () => Promise<void>;
}

type Certificate = ReturnType<typeof selfSignedCertificate>;

async function startCollector(
  onConnection: (socket: Socket) => void,
  options: { readonly tls?: Certificate; readonly allowHalfOpen?: boolean } = {},
): Promise<Collector> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let bytes = 0;
  const handle = (socket: Socket): void => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    onConnection(socket);
  };
  const halfOpen = options.allowHalfOpen ?? false;
  const server: Server =
    options.tls === undefined
      ? createTcpServer({ allowHalfOpen: halfOpen }, handle)
      : createTlsServer({ cert: options.tls.cert, key: options.tls.key, allowHalfOpen: halfOpen }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    get bytes() {
      return bytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('a syslog delivery counts only when the collector closes after reading everything', () => {
  const dir = makeTempDir('syslog-close');
  let certificate: Certificate;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(() => {
    certificate = selfSignedCertificate(dir.path);
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(() => dir.remove());

  async function sink(port: number, options: { tls?: boolean; timeoutMs?: number } = {}): Promise<Sink> {
    const tls = options.tls ?? false;
    const config = syslogTargetSchema.parse({
      type: 'syslog',
      name: 'siem',
      host: '127.0.0.1',
      port,
      tls,
      ...(tls ? { ca_file: certificate.certFile } : {}),
      timeout_ms: options.timeoutMs ?? 2_000,
    });
    const created = new SyslogSink(config, {
      logger: silentLogger(),
      clock: new ManualClock(Date.UTC(2026, 2, 1, 9, 0, 0)),
      metrics: new Metrics(),
      signal: new AbortController().signal,
    });
    await created.start();
    return created;
  }

  async function sendError(target: Sink): Promise<SinkError> {
    const error: unknown = await target.send([NOTICE], AbortSignal.timeout(10_000)).then(
      () => new Error('the send resolved'),
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SinkError);
    return error as SinkError;
  }

  it('still delivers to a collector that reads to the end and then closes, over TCP and TLS', async () => {
    const tcp = await startSyslogReceiver();
    const tls = await startSyslogReceiver({ tls: certificate });
    cleanups.push(tcp.close, tls.close);
    await (await sink(tcp.port)).send([NOTICE], AbortSignal.timeout(10_000));
    await (await sink(tls.port, { tls: true })).send([NOTICE], AbortSignal.timeout(10_000));
    expect(tcp.messages).toHaveLength(1);
    expect(tls.messages).toHaveLength(1);
  });

  it('fails, to be retried, when the collector closes as soon as it accepts (a session limit, a proxy without backend)', async () => {
    // The collector closes its side at once and never looks at what arrives, as a server at its connection limit
    // or a proxy whose backend is down does.
    const tcp = await startCollector((socket) => socket.end());
    const tls = await startCollector((socket) => socket.end(), { tls: certificate });
    cleanups.push(tcp.close, tls.close);
    for (const error of [await sendError(await sink(tcp.port)), await sendError(await sink(tls.port, { tls: true }))]) {
      expect(error.code).toBe('SINK_UNREACHABLE');
      expect(error.retryable).toBe(true);
      expect(error.details['scope']).toBe('notice');
      expect(error.message).toMatch(/closed the connection before it could have read the notifications/);
    }
  });

  it('fails as well when this process was too busy to read the early close before its own close was due', async () => {
    // The collector runs in this process: ending the connection and then holding the thread, it stands for a
    // collector process that closes at once while ours is busy (collecting, detecting) past the moment our close
    // is due, so that our timer and the collector's close are both waiting when the thread is free again.
    const hold = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const closeAndHold = (socket: Socket): void => {
      socket.end();
      hold(150);
    };
    const tcp = await startCollector(closeAndHold);
    const tls = await startCollector(closeAndHold, { tls: certificate });
    cleanups.push(tcp.close, tls.close);
    for (const target of [await sink(tcp.port), await sink(tls.port, { tls: true })]) {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        expect((await sendError(target)).code).toBe('SINK_UNREACHABLE');
      }
    }
  });

  it('fails when the collector drops the connection at once, whether its close or its reset arrives first', async () => {
    const tcp = await startCollector((socket) => socket.destroy());
    cleanups.push(tcp.close);
    const error = await sendError(await sink(tcp.port));
    expect(error.code).toBe('SINK_UNREACHABLE');
  });

  it('fails when the port answers with data, which no syslog collector sends', async () => {
    // Another service on the port: it answers our bytes, then closes after our close as a collector would.
    const other = await startCollector((socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'));
      socket.on('end', () => socket.end());
    });
    cleanups.push(other.close);
    const error = await sendError(await sink(other.port));
    expect(error.code).toBe('SINK_UNREACHABLE');
    expect(error.message).toContain('answered with data, which a syslog receiver never sends');
  });

  it('says that a TLS target on a plain TCP port got no answer to its handshake', async () => {
    // A plain TCP collector waits for a frame length and takes the TLS greeting for the start of a message.
    const plain = await startCollector((socket) => socket.on('end', () => socket.end()));
    cleanups.push(plain.close);
    const error = await sendError(await sink(plain.port, { tls: true, timeoutMs: 300 }));
    expect(error.code).toBe('SINK_TIMEOUT');
    expect(error.message).toMatch(/did not answer the TLS handshake within 300 ms: is this port a TLS port\?/);
  });

  it('sends a batch once to a collector that never closes, until it closes a test connection properly', async () => {
    let closes = false;
    const collector = await startCollector(
      (socket) => {
        socket.on('end', () => {
          if (closes) socket.end();
        });
      },
      { allowHalfOpen: true },
    );
    cleanups.push(collector.close);
    const target = await sink(collector.port, { timeoutMs: 300 });
    const first = await sendError(target);
    expect(first.code).toBe('SINK_TIMEOUT');
    expect(first.retryable).toBe(true);
    expect(first.message).toMatch(/kept the connection open for 300 ms after zerotrail finished sending/);
    const batchBytes = collector.bytes;
    expect(batchBytes).toBeGreaterThan(0);

    // The retry opens an empty connection first; while that one is not closed either, the batch is not sent again.
    const second = await sendError(target);
    expect(second.message).toMatch(/kept the connection open/);
    expect(collector.connections).toBe(2);
    expect(collector.bytes).toBe(batchBytes);

    // Once the collector closes properly again, the batch goes once more (at least once), on a new connection.
    closes = true;
    await target.send([NOTICE], AbortSignal.timeout(10_000));
    expect(collector.connections).toBe(4);
    expect(collector.bytes).toBe(2 * batchBytes);
    await target.send([NOTICE], AbortSignal.timeout(10_000));
    expect(collector.connections).toBe(5);
  });
});
