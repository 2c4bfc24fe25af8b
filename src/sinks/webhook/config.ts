import { z } from 'zod';
import type { Severity } from '../../store/detection-store.js';
import { httpUrlOrIssue } from '../../core/http-url.js';
import { minSeveritySchema, notifyTimeoutSchema, targetNameSchema } from '../severity-threshold.js';

export const WEBHOOK_FORMATS = ['json', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

const urlSchema = z.string().superRefine((text, ctx) => {
  httpUrlOrIssue(text, ctx, 'https://hooks.example.com/x');
});

/** One `notify.targets` entry of type `webhook`, as users write it. */
export const webhookTargetSchema = z
  .object({
    type: z.literal('webhook'),
    name: targetNameSchema,
    url: urlSchema,
    // The alert as JSON is what automation reads; `slack` suits Slack and the chat tools that accept its format.
    format: z.enum(WEBHOOK_FORMATS).default('json'),
    min_severity: minSeveritySchema,
    timeout_ms: notifyTimeoutSchema,
    // A receiver behind a private CA is trusted through this file, in addition to the system's CAs.
    ca_file: z.string().min(1).optional(),
    // A shared secret the receiver checks; the value comes from the environment, never from the file.
    secret_header: z
      .object({
        name: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'expected an HTTP header name'),
        value_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .transform((raw): WebhookTargetConfig => ({
    type: 'webhook',
    name: raw.name,
    url: raw.url,
    format: raw.format,
    minSeverity: raw.min_severity,
    timeoutMs: raw.timeout_ms,
    ...(raw.ca_file === undefined ? {} : { caFile: raw.ca_file }),
    ...(raw.secret_header === undefined
      ? {}
      : { secretHeader: { name: raw.secret_header.name, valueEnv: raw.secret_header.value_env } }),
  }));

export interface WebhookTargetConfig {
  readonly type: 'webhook';
  readonly name: string;
  readonly url: string;
  readonly format: WebhookFormat;
  readonly minSeverity: Severity;
  readonly timeoutMs: number;
  readonly caFile?: string;
  readonly secretHeader?: { readonly name: string; readonly valueEnv: string };
}
