/**
 * The start/stop half of a Cloudflare source: `stop` aborts whatever request is in flight, is idempotent and safe
 * before `start`; `start` makes a stopped source usable again. Sources buffer nothing, so stopping flushes nothing.
 */
export class Lifecycle {
  readonly #name: string;
  #stopping = new AbortController();

  /** `name` is the dataset, as the abort reason names it. */
  constructor(name: string) {
    this.#name = name;
  }

  start(): Promise<void> {
    if (this.#stopping.signal.aborted) this.#stopping = new AbortController();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (!this.#stopping.signal.aborted) this.#stopping.abort(new Error(`The ${this.#name} source was stopped.`));
    return Promise.resolve();
  }

  /** `signal` combined with this source being stopped. */
  signal(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, this.#stopping.signal]);
  }
}
