import { z } from 'zod';
import type { ApiClient } from '../api-client.js';

// The Alerts and Rules pages' calls to /api/alerts and /api/rules, made through the app's ApiClient so they
// share its CSRF token, its error wording and its sign-out on an ended session.

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const ALERT_STATUSES = ['open', 'acknowledged', 'closed'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];
export const CLOSE_REASONS = ['true_positive', 'benign', 'false_positive'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

const alertSchema = z.object({
  id: z.string(),
  ruleId: z.string(),
  title: z.string(),
  severity: z.enum(SEVERITIES),
  technique: z.string(),
  entity: z.object({ user: z.string().nullable(), ip: z.string().nullable(), app: z.string().nullable() }),
  firstEventTime: z.string(),
  lastEventTime: z.string(),
  count: z.number(),
  summary: z.string(),
  status: z.enum(ALERT_STATUSES),
  closeReason: z.enum(CLOSE_REASONS).nullable(),
  assignee: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Alert = z.infer<typeof alertSchema>;

const historySchema = z.object({
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type AlertHistoryLine = z.infer<typeof historySchema>;

const evidenceSchema = z.object({ eventId: z.string(), eventTime: z.string() });
export type Evidence = z.infer<typeof evidenceSchema>;

const alertPageSchema = z.object({
  alerts: z.array(alertSchema),
  total: z.number(),
  page: z.number(),
  limit: z.number(),
  totalIsExact: z.boolean(),
});
export type AlertPage = z.infer<typeof alertPageSchema>;

const alertDetailSchema = z.object({
  alert: alertSchema.extend({ details: z.record(z.string(), z.unknown()) }),
  evidence: z.array(evidenceSchema),
  history: z.array(historySchema),
});
export type AlertDetail = z.infer<typeof alertDetailSchema>;

const changedSchema = z.object({ alert: alertSchema, history: z.array(historySchema) });

const allowSchema = z.object({
  users: z.array(z.string()),
  ips: z.array(z.string()),
  apps: z.array(z.string()),
  countries: z.array(z.string()),
});
export type AllowList = z.infer<typeof allowSchema>;

const ruleSchema = z.object({
  id: z.string(),
  title: z.string(),
  type: z.string(),
  severity: z.enum(SEVERITIES),
  technique: z.string(),
  description: z.string(),
  summary: z.string(),
  // builtin: shipped; file: a file in the data directory's rules folder; custom: added through the API.
  origin: z.enum(['builtin', 'file', 'custom']),
  enabled: z.boolean(),
  defaultEnabled: z.boolean(),
  params: z.record(z.string(), z.unknown()),
  overrides: z.record(z.string(), z.unknown()),
  fileAllow: allowSchema,
  allow: allowSchema,
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
  yaml: z.string().optional(),
});
export type Rule = z.infer<typeof ruleSchema>;

/** A parameter override as POST /api/rules/:id/settings takes it: a number, text, a flag or a list of text. */
export type RuleOverride = string | number | boolean | readonly string[];

export interface AlertFilter {
  readonly status: AlertStatus | null;
  readonly severity: Severity | null;
  readonly rule: string | null;
  readonly page: number;
}

export const ALERTS_PAGE_SIZE = 50;

export class AlertsClient {
  readonly #api: ApiClient;

  constructor(api: ApiClient) {
    this.#api = api;
  }

  async listAlerts(filter: AlertFilter): Promise<AlertPage> {
    const params = new URLSearchParams({ limit: String(ALERTS_PAGE_SIZE), page: String(filter.page) });
    if (filter.status !== null) params.set('status', filter.status);
    if (filter.severity !== null) params.set('severity', filter.severity);
    if (filter.rule !== null) params.set('rule', filter.rule);
    return this.#api.request('GET', `/api/alerts?${params.toString()}`, alertPageSchema);
  }

  async getAlert(id: string): Promise<AlertDetail> {
    return this.#api.request('GET', `/api/alerts/${encodeURIComponent(id)}`, alertDetailSchema);
  }

  async acknowledge(id: string): Promise<void> {
    await this.#api.request('POST', `/api/alerts/${encodeURIComponent(id)}/ack`, changedSchema, {});
  }

  async reopen(id: string): Promise<void> {
    await this.#api.request('POST', `/api/alerts/${encodeURIComponent(id)}/reopen`, changedSchema, {});
  }

  async close(id: string, reason: CloseReason, comment: string): Promise<void> {
    const body = comment.trim() === '' ? { reason } : { reason, comment };
    await this.#api.request('POST', `/api/alerts/${encodeURIComponent(id)}/close`, changedSchema, body);
  }

  async assign(id: string, user: string | null): Promise<void> {
    await this.#api.request('POST', `/api/alerts/${encodeURIComponent(id)}/assign`, changedSchema, { user });
  }

  async comment(id: string, text: string): Promise<void> {
    await this.#api.request('POST', `/api/alerts/${encodeURIComponent(id)}/comment`, changedSchema, { text });
  }

  async listRules(): Promise<readonly Rule[]> {
    return (await this.#api.request('GET', '/api/rules', z.object({ rules: z.array(ruleSchema) }))).rules;
  }

  async setRuleEnabled(id: string, enabled: boolean): Promise<Rule> {
    const path = `/api/rules/${encodeURIComponent(id)}/${enabled ? 'enable' : 'disable'}`;
    return (await this.#api.request('POST', path, z.object({ rule: ruleSchema }))).rule;
  }

  async saveRuleSettings(
    id: string,
    settings: { readonly overrides: Readonly<Record<string, RuleOverride>>; readonly allow: AllowList },
  ): Promise<Rule> {
    const path = `/api/rules/${encodeURIComponent(id)}/settings`;
    return (await this.#api.request('POST', path, z.object({ rule: ruleSchema }), settings)).rule;
  }

  async addRule(yaml: string): Promise<Rule> {
    return (await this.#api.request('POST', '/api/rules', z.object({ rule: ruleSchema }), { yaml })).rule;
  }
}
