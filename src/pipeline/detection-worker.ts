import { parentPort, workerData } from 'node:worker_threads';
import { pino, type Logger } from 'pino';
import { systemClock } from '../core/clock.js';
import { REDACT_PATHS } from '../core/logger.js';
import { Metrics } from '../core/metrics.js';
import { loadBuiltinRules } from '../detect/builtin-rules.js';
import { Detector } from '../detect/detector.js';
import { adoptGeolocation } from '../detect/geolocation.js';
import { loadUserRules } from '../detect/user-rules.js';
import { SqliteStore } from '../store/sqlite/store.js';
import type { Store } from '../store/store.js';
import { lowerThreadPriority } from './thread-priority.js';
import {
  detectionWorkerStartSchema,
  hostMessageSchema,
  type WorkerMessage,
  type DetectionWorkerData,
} from './detection-thread-protocol.js';

// The detection thread's entry: it runs the one Detector of its process on its own connection to the store, so
// rule evaluation takes the second core instead of the collector's.
const port = parentPort;
if (port === null) throw new Error('detection-worker.js runs only as a worker thread');

function send(message: WorkerMessage): void {
  port?.postMessage(message);
}

/** Counts where they are shown: the host adds each increment to its process's metrics. */
class RelayedMetrics extends Metrics {
  override increment(name: string, labels: Readonly<Record<string, string>> = {}, by = 1): void {
    super.increment(name, labels, by);
    send({ type: 'metric', name, labels: { ...labels }, by });
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// The thread reads events just written, in order, and the state of a few keys: a small page cache serves that.
const DETECTION_CACHE_KIB = 4096;

// Niceness steps the thread takes below the collecting thread when both write to one SQLite file. On two cores
// the collecting thread, this one and V8's helpers want more than the machine has, and the collecting thread is
// the one that keeps up with Cloudflare; this thread evaluates committed events, so falling behind for a while
// loses nothing. bench/ingest on the 2-core machine, alternating runs: 300,000 events 11,165-12,244 events/s
// (median 11,864) against 11,054-11,146 without, at no more CPU per event.
// With PostgreSQL the server's processes do the storing, not the collecting thread, and the same setting made
// 100,000 events slower (4,690 and 4,929 events/s against 4,910 and 4,995), so the thread keeps its priority.
const DETECTION_NICENESS_STEPS = 10;

async function openStore(data: DetectionWorkerData, logger: Logger): Promise<Store> {
  return data.databaseUrl === undefined
    ? SqliteStore.open({ path: data.databasePath, logger, cacheKib: DETECTION_CACHE_KIB })
    : (await import('../store/postgres/store.js')).PostgresStore.open({ url: data.databaseUrl, logger, poolSize: 2 });
}

async function run(): Promise<void> {
  const data = detectionWorkerStartSchema.parse(workerData);
  adoptGeolocation(data.geolocation);
  // Log lines go to the host, which writes them through its own logger and destination.
  const logger = pino(
    { level: data.logLevel, base: null, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } },
    { write: (line: string) => send({ type: 'log', line }) },
  );
  if (data.databaseUrl === undefined) {
    const priority = lowerThreadPriority(DETECTION_NICENESS_STEPS);
    if (priority.lowered)
      logger.debug({ threadId: priority.threadId, niceness: priority.niceness }, 'Priority lowered');
    else logger.debug({ reason: priority.reason }, 'Priority kept');
  }
  const builtin = loadBuiltinRules();
  const rules = [...builtin, ...loadUserRules(data.dataDir, builtin).map((rule) => rule.definition)];
  const store = await openStore(data, logger);
  const detector = new Detector({ store, logger, clock: systemClock, metrics: new RelayedMetrics() }, rules);
  detector.onAlerts((committed) => send({ type: 'alerts', ...committed }));
  port?.on('message', (raw: unknown) => {
    const message = hostMessageSchema.parse(raw);
    switch (message.type) {
      case 'notify':
        detector.notify();
        return;
      case 'catch-up':
        detector.catchUp().then(
          (result) => send({ type: 'caught-up', id: message.id, result }),
          (error: unknown) => send({ type: 'caught-up', id: message.id, error: errorText(error) }),
        );
        return;
      case 'close':
        // The last pass runs before the store closes; the thread then ends.
        detector
          .close()
          .then(() => store.close())
          .then(
            () => {
              send({ type: 'closed' });
              port?.close();
            },
            (error: unknown) => {
              send({ type: 'closed', error: errorText(error) });
              port?.close();
            },
          );
        return;
    }
  });
}

run().catch((error: unknown) => {
  send({ type: 'failed', error: errorText(error) });
  port.close();
});
