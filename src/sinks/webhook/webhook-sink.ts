import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ConfigError, SinkError } from '../../core/errors.js';
import { readCaFile } from '../read-ca-file.js';
import type { AlertNotice, Sink, SinkFactory } from '../sink.js';
import { transportError } from '../transport-error.js';
import { webhookTargetSchema, type WebhookTargetConfig } from './config.js';
import { alertJsonPayload, alertSlackPayload } from './payload.js';

// A receiver that answers these may take the same request later; every other 4xx refuses this body for good.
const RETRY_STATUSES = new Set([408, 425, 429]);
// These say the URL or credentials are wrong: nothing will pass until the operator fixes the target.
const TARGET_STATUSES = new Set([401, 403, 404, 405, 407, 410]);
const MAX_RETRY_AFTER_MS = 300_000;

/** Posts each alert notice as one JSON request; a 2xx answer is the acceptance. */
export class WebhookSink implements Sink {
  readonly type = 'webhook';
  readonly id: string;
  // One alert per request: a chat message per alert, and a refusal names exactly one notice.
  readonly maxBatch = 1;
  readonly #config: WebhookTargetConfig;
  readonly #url: URL;
  #ca: string[] | undefined;
  #secret: string | undefined;

  constructor(config: WebhookTargetConfig) {
    this.id = config.name;
    this.#config = config;
    this.#url = new URL(config.url);
  }

  async start(): Promise<void> {
    this.#ca = await readCaFile(this.id, this.#config.caFile);
    const header = this.#config.secretHeader;
    if (header !== undefined) {
      const value = process.env[header.valueEnv];
      if (value === undefined || value === '') {
        throw new ConfigError('CONFIG_INVALID', {
          message: `notify.targets ${this.id}: the environment variable ${header.valueEnv} for its ${header.name} header is not set.`,
        });
      }
      this.#secret = value;
    }
  }

  async send(batch: readonly AlertNotice[], signal: AbortSignal): Promise<void> {
    for (const notice of batch) {
      const body = this.#config.format === 'slack' ? alertSlackPayload(notice) : alertJsonPayload(notice);
      await this.#post(JSON.stringify(body), signal);
    }
  }

  async healthcheck(signal: AbortSignal): Promise<void> {
    // A HEAD request makes the same connection and TLS checks without delivering anything.
    await this.#request('HEAD', undefined, signal).catch((error: unknown) => {
      if (error instanceof SinkError && error.code !== 'SINK_TLS_FAILED' && error.code !== 'SINK_UNREACHABLE') return;
      throw error;
    });
  }

  async stop(): Promise<void> {
    // Requests are awaited by send, so none is left in flight to flush.
  }

  async #post(body: string, signal: AbortSignal): Promise<void> {
    await this.#request('POST', body, signal);
  }

  #endpoint(): string {
    // Always with the ellipsis, as logs and statuses have shown it so far.
    return `${safeUrl(this.#url).replace(/…$/, '')}…`;
  }

  #request(method: 'POST' | 'HEAD', body: string | undefined, outer: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.#config.timeoutMs);
    const signal = AbortSignal.any([outer, timeout]);
    const headers: Record<string, string> = { 'user-agent': 'zerotrail' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    if (this.#secret !== undefined && this.#config.secretHeader !== undefined) {
      headers[this.#config.secretHeader.name.toLowerCase()] = this.#secret;
    }
    const secure = this.#url.protocol === 'https:';
    const request = secure ? httpsRequest : httpRequest;
    return new Promise<void>((resolve, reject) => {
      const req = request(this.#url, {
        method,
        headers,
        signal,
        ...(secure ? { rejectUnauthorized: true, ...(this.#ca === undefined ? {} : { ca: this.#ca }) } : {}),
      });
      req.once('error', (error) => {
        if (outer.aborted) reject(outer.reason as Error);
        else reject(transportError(this.id, this.#endpoint(), error, timeout.aborted));
      });
      req.once('response', (response: IncomingMessage) => {
        // The answer's body is not needed; reading it lets the socket close or return to the pool.
        response.resume();
        response.once('end', () => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else if (status >= 300 && status < 400) reject(this.#redirectError(status, response.headers.location));
          else reject(this.#statusError(status, response.headers['retry-after']));
        });
        response.once('error', (error) => reject(transportError(this.id, this.#endpoint(), error, timeout.aborted)));
      });
      req.end(body);
    });
  }

  /**
   * Redirects are not followed: a POST turned into a GET (301, 302) would lose its body, and following one would
   * send the secret header to wherever the receiver points. A redirect means the configured URL is out of date, so
   * the target stops where it is until the operator puts the new URL in the configuration.
   */
  #redirectError(status: number, location: string | undefined): SinkError {
    let where = 'without saying where to';
    if (location !== undefined) {
      try {
        const target = new URL(location, this.#url);
        const same = target.pathname === this.#url.pathname && target.search === this.#url.search;
        where = `to ${safeUrl(target)}${same ? ' (the same path)' : ''}`;
      } catch {
        where = 'to an address that is not a URL';
      }
    }
    return new SinkError('SINK_REJECTED', {
      message: `Notification target ${this.id} (${this.#endpoint()}) answered HTTP ${status}, a redirect ${where}: put the address it moved to in the target's url.`,
      hint: 'Redirects are not followed. Delivery resumes from the same alert after a restart with the new URL.',
      details: { target: this.id, scope: 'target', status },
    });
  }

  #statusError(status: number, retryAfter: string | undefined): SinkError {
    const retryAfterMs = parseRetryAfter(retryAfter);
    if (status >= 500 || RETRY_STATUSES.has(status)) {
      return new SinkError('SINK_UNAVAILABLE', {
        message: `Notification target ${this.id} (${this.#endpoint()}) answered HTTP ${status}.`,
        details: { target: this.id, scope: 'notice', status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
      });
    }
    const scope = TARGET_STATUSES.has(status) ? 'target' : 'notice';
    return new SinkError('SINK_REJECTED', {
      message: `Notification target ${this.id} (${this.#endpoint()}) refused the notification with HTTP ${status}.`,
      hint:
        scope === 'target'
          ? 'Check the URL and the secret header of this target; delivery resumes from the same alert after a restart.'
          : 'The receiver refused this alert; it stays in zerotrail and the refusal is recorded.',
      details: { target: this.id, scope, status },
    });
  }
}

/**
 * The origin and first path segment only: a query string may hold a token, and so may the rest of the path (Slack's
 * incoming webhooks put theirs there). An ellipsis marks what was left out.
 */
function safeUrl(url: URL): string {
  const segments = url.pathname.split('/');
  const cut = segments.length > 2 || url.search !== '';
  return `${url.origin}${segments.slice(0, 2).join('/')}${cut ? '…' : ''}`;
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const secs = Number(value);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS) : undefined;
}

export const webhookSinkFactory = {
  type: 'webhook',
  configSchema: webhookTargetSchema,
  create: (config: WebhookTargetConfig): Sink => new WebhookSink(config),
} as const satisfies SinkFactory<WebhookTargetConfig>;
