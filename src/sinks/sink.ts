import type { z } from 'zod';
import type { ComponentContext } from '../core/context.js';
import type { AlertEntity, Severity } from '../store/detection-store.js';
import type { SyslogTargetConfig } from './syslog/config.js';
import { syslogSinkFactory } from './syslog/syslog-sink.js';
import type { WebhookTargetConfig } from './webhook/config.js';
import { webhookSinkFactory } from './webhook/webhook-sink.js';

export const NOTICE_REASONS = ['created', 'escalated', 'grew'] as const;
/** Why an alert is notified: it was raised, its severity rose, or its count passed a power of ten. */
export type NoticeReason = (typeof NOTICE_REASONS)[number];

/** One alert to notify, as it stands when the notice is sent. */
export interface AlertNotice {
  /** Position in the notification queue; a receiver may use it with `alert.id` to drop a redelivery. */
  readonly seq: number;
  readonly reason: NoticeReason;
  readonly queuedAt: number;
  readonly alert: {
    readonly id: string;
    readonly ruleId: string;
    readonly title: string;
    readonly severity: Severity;
    readonly technique: string;
    readonly entity: AlertEntity;
    readonly summary: string;
    readonly firstEventTime: number;
    readonly lastEventTime: number;
    readonly count: number;
    readonly status: string;
    /** Path of the alert in the web UI, or a full URL when `notify.link_base_url` is set. */
    readonly link: string;
  };
}

/**
 * A notification destination. `send` resolves only once the destination has accepted the whole batch and
 * otherwise throws a SinkError whose `retryable` says whether the same batch may succeed later. `scope` in the
 * error's details is `notice` when only this batch is refused (the forwarder records it and moves on) and
 * `target` when nothing can be delivered until the operator acts (the forwarder stops that target, keeping its
 * place in the queue). `healthcheck` makes the same connection as a send but delivers nothing.
 */
export interface Sink {
  readonly type: string;
  readonly id: string;
  /** The most notices one `send` takes. */
  readonly maxBatch: number;
  start(): Promise<void>;
  send(batch: readonly AlertNotice[], signal: AbortSignal): Promise<void>;
  healthcheck(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

export interface SinkFactory<Config> {
  readonly type: string;
  readonly configSchema: z.ZodType<Config>;
  create(config: Config, ctx: ComponentContext): Sink;
}

/** Every notification sink, by its `type` in the `notify.targets` configuration. */
export const SINKS = {
  webhook: webhookSinkFactory,
  syslog: syslogSinkFactory,
} as const satisfies {
  readonly [Type in NotifyTargetConfig['type']]: SinkFactory<Extract<NotifyTargetConfig, { type: Type }>>;
};

/** One validated `notify.targets` entry. */
export type NotifyTargetConfig = WebhookTargetConfig | SyslogTargetConfig;

/** The sink for one configured target; pure, as every factory's `create` is. */
export function createSink(config: NotifyTargetConfig, ctx: ComponentContext): Sink {
  return config.type === 'webhook' ? SINKS.webhook.create(config) : SINKS.syslog.create(config, ctx);
}
