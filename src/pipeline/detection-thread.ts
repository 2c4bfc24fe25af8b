import { Worker } from 'node:worker_threads';
import type { Logger, Level } from 'pino';
import type { Metrics } from '../core/metrics.js';
import {
  tellAlertListeners,
  type AlertsListener,
  type CatchUpResult,
  type DetectionRunner,
} from '../detect/detector.js';
import { shareGeolocation } from '../detect/geolocation.js';
import {
  workerMessageSchema,
  type DetectionWorkerData,
  type HostMessage,
  type WorkerMessage,
} from './detection-thread-protocol.js';

export interface DetectionThreadOptions {
  readonly data: DetectionWorkerData;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The compiled worker entry; the default is the one beside this module in dist/. */
  readonly workerUrl?: URL;
  /** After the thread failed, it is started again no sooner than this. */
  readonly restartDelayMs?: number;
}

const DEFAULT_WORKER_URL = new URL('./detection-worker.js', import.meta.url);
const DEFAULT_RESTART_DELAY_MS = 10_000;

interface PendingCatchUp {
  readonly resolve: (result: CatchUpResult) => void;
  readonly reject: (error: Error) => void;
}

// The thread's young generation, instead of V8's default of about 48 MB. Its batches die young: in bench/ingest
// (300,000 events, three runs each) 12 MB took the collector's peak RSS from about 300 MB to 260-266 MB at the
// same throughput. 6 MB looked as good while heaps grew by half; with heaps grown by 30% (src/main.ts) more of a
// batch's rule state is promoted and collected again with the old generation. bench/detections-replay.js
// (300,000 events): 105-126 CPU µs per event with 6 MB (median 111), 82-113 with 12 MB (median 103), 60 with
// 48 MB. At 1,000,000 events in bench/ingest 12 MB did 6,247-6,340 events/s and peaked at 228-239 MB (two runs),
// 6 MB 5,753-5,846 events/s and 228-233 MB; 24 MB, one run, 6,118 events/s and 237 MB.
export const DETECTION_YOUNG_GENERATION_MB = 12;

/**
 * Runs the process's Detector in a worker thread with its own store connection, so evaluating rules over a
 * backfill uses the second core while this thread goes on fetching and storing. The thread starts on the first
 * notification or catch-up (a command that collects nothing never pays for it), and a thread that failed is
 * started again on a later notification; the detection offset in the store makes every start resume exactly
 * where the last commit left off.
 */
export class DetectionThread implements DetectionRunner {
  readonly #options: DetectionThreadOptions;
  readonly #log: Logger;
  readonly #listeners = new Set<AlertsListener>();
  readonly #pending = new Map<number, PendingCatchUp>();
  #worker: Worker | null = null;
  #nextId = 1;
  #failedAt = -Infinity;
  #restartTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | null = null;
  #exited: Promise<void> = Promise.resolve();

  constructor(options: DetectionThreadOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'detect', id: 'thread' });
  }

  onAlerts(listener: AlertsListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  notify(): void {
    if (this.#closing !== null) return;
    this.#send({ type: 'notify' });
  }

  catchUp(): Promise<CatchUpResult> {
    if (this.#closing !== null) return Promise.reject(new Error('The detection thread is closed'));
    const id = this.#nextId++;
    const result = new Promise<CatchUpResult>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#send({ type: 'catch-up', id });
    return result;
  }

  /**
   * Lets the thread evaluate what is stored since its last pass, for a few seconds at most (the rest waits behind
   * the offset for the next start), then ends it. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearTimeout(this.#restartTimer);
    const worker = this.#worker;
    if (worker === null) return;
    worker.ref();
    worker.postMessage({ type: 'close' } satisfies HostMessage);
    await this.#exited;
  }

  #send(message: HostMessage): void {
    const worker = this.#worker ?? this.#start();
    if (worker === null) {
      // Waiting out the restart delay; a catch-up asked for meanwhile fails now rather than hanging.
      if (message.type === 'catch-up') this.#settle(message.id, undefined, 'The detection thread is restarting');
      return;
    }
    this.#refWhileWaiting();
    // The thread's port keeps what is posted before it listens (while it opens its store) and hands it on then.
    worker.postMessage(message);
  }

  #start(): Worker | null {
    const wait = this.#failedAt + (this.#options.restartDelayMs ?? DEFAULT_RESTART_DELAY_MS) - Date.now();
    if (wait > 0) {
      this.#restartTimer ??= setTimeout(() => {
        this.#restartTimer = undefined;
        if (this.#closing === null && this.#worker === null) this.#send({ type: 'notify' });
      }, wait).unref();
      return null;
    }
    const worker = new Worker(this.#options.workerUrl ?? DEFAULT_WORKER_URL, {
      workerData: { ...this.#options.data, geolocation: shareGeolocation() },
      resourceLimits: { maxYoungGenerationSizeMb: DETECTION_YOUNG_GENERATION_MB },
    });
    this.#worker = worker;
    this.#exited = new Promise<void>((resolve) => {
      worker.on('exit', (code) => {
        this.#ended(worker, code === 0 ? undefined : `the detection thread exited with code ${code}`);
        resolve();
      });
    });
    worker.on('message', (raw: unknown) => this.#receive(worker, raw));
    worker.on('error', (error) => this.#ended(worker, error.message));
    return worker;
  }

  #receive(worker: Worker, raw: unknown): void {
    const parsed = workerMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.#log.error({ issues: parsed.error.issues.length }, 'Unreadable message from the detection thread');
      return;
    }
    const message: WorkerMessage = parsed.data;
    switch (message.type) {
      case 'failed':
        this.#ended(worker, message.error);
        return;
      case 'alerts':
        tellAlertListeners(
          this.#listeners,
          { created: message.created, updated: message.updated },
          this.#options.metrics,
          this.#log,
        );
        return;
      case 'caught-up':
        this.#settle(message.id, message.result, message.error);
        return;
      case 'metric':
        this.#options.metrics.increment(message.name, message.labels, message.by);
        return;
      case 'log':
        this.#relayLog(message.line);
        return;
      case 'closed':
        if (message.error !== undefined) this.#log.warn({ reason: message.error }, 'Detection thread closed badly');
        return;
    }
  }

  // The thread stopped, cleanly or not: what waited on it fails, and a later notification starts a new one.
  #ended(worker: Worker, reason: string | undefined): void {
    if (this.#worker !== worker) return;
    this.#worker = null;
    if (reason !== undefined && this.#closing === null) {
      this.#failedAt = Date.now();
      this.#options.metrics.increment('detect_thread_failures_total');
      this.#log.error({ reason }, 'Detection thread failed; it starts again on the next stored batch');
    }
    for (const id of [...this.#pending.keys()]) this.#settle(id, undefined, reason ?? 'The detection thread ended');
    void worker.terminate();
  }

  #settle(id: number, result: CatchUpResult | undefined, error: string | undefined): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    if (result !== undefined) pending.resolve(result);
    else pending.reject(new Error(error ?? 'The detection run failed'));
    this.#refWhileWaiting();
  }

  // A waiting catch-up or close keeps the process alive; an idle thread never does.
  #refWhileWaiting(): void {
    const worker = this.#worker;
    if (worker === null) return;
    if (this.#pending.size > 0 || this.#closing !== null) worker.ref();
    else worker.unref();
  }

  #relayLog(line: string): void {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    // The host's logger stamps its own time.
    const { level, msg, ...fields } = record;
    delete fields['time'];
    const label = typeof level === 'number' ? this.#options.logger.levels.labels[level] : undefined;
    if (label === undefined) return;
    this.#options.logger[label as Level](fields, typeof msg === 'string' ? msg : '');
  }
}
