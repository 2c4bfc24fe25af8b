import { z } from 'zod';
import { wholeNumberText } from '../../core/number-text.js';
import type { App } from '../../app.js';
import { AppError, NotFoundError } from '../../core/errors.js';
import type { AuditAction } from '../../store/auth-store.js';
import {
  ALERT_STATUSES,
  CLOSE_REASONS,
  SEVERITIES,
  type AlertChange,
  type AlertHistoryEntry,
  type EvidenceRef,
  type StoredAlert,
} from '../../store/detection-store.js';
import { signedIn } from '../auth/authenticate.js';
import { defineRoute, type Route, type RouteInput } from './route.js';

// The store filters by status and rule; severity and paging are applied here over at most this many alerts.
const MAX_SCANNED_ALERTS = 10_000;

const ALERT_ID = z
  .string()
  .trim()
  .regex(/^al_[0-9a-f]{1,64}$/, 'an alert id such as al_0123456789abcdef01234567');

const alertParams = z.object({ id: ALERT_ID });

/** An alert as the API shows it: ISO times, the rest as the store keeps it. */
export function describeAlert(alert: StoredAlert): Record<string, unknown> {
  return {
    id: alert.id,
    ruleId: alert.ruleId,
    title: alert.title,
    severity: alert.severity,
    technique: alert.technique,
    entity: alert.entity,
    firstEventTime: new Date(alert.firstEventTime).toISOString(),
    lastEventTime: new Date(alert.lastEventTime).toISOString(),
    count: alert.count,
    summary: alert.summary,
    status: alert.status,
    closeReason: alert.closeReason,
    assignee: alert.assignee,
    createdAt: new Date(alert.createdAt).toISOString(),
    updatedAt: new Date(alert.updatedAt).toISOString(),
  };
}

function describeEvidence(ref: EvidenceRef): Record<string, unknown> {
  return { eventId: ref.eventId, eventTime: new Date(ref.eventTime).toISOString() };
}

function describeHistory(entry: AlertHistoryEntry): Record<string, unknown> {
  return { at: new Date(entry.at).toISOString(), actor: entry.actor, action: entry.action, details: entry.details };
}

export const LIST_ALERTS_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/alerts',
  summary: 'Alerts raised by the detection rules, newest event first, filtered by status, severity and rule',
  access: ['admin', 'analyst', 'viewer'],
  query: z.object({
    status: z.enum(ALERT_STATUSES).optional(),
    severity: z.enum(SEVERITIES).optional(),
    rule: z.string().trim().min(1).max(64).optional(),
    limit: wholeNumberText((n) => n.min(1).max(500)).default(50),
    page: wholeNumberText((n) => n.min(1).max(1000)).default(1),
  }),
  handler: async ({ query, services }) => {
    const all = await services.app.store.listAlerts({
      limit: MAX_SCANNED_ALERTS,
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.rule === undefined ? {} : { ruleId: query.rule }),
    });
    const matching = query.severity === undefined ? all : all.filter((alert) => alert.severity === query.severity);
    const start = (query.page - 1) * query.limit;
    return {
      alerts: matching.slice(start, start + query.limit).map(describeAlert),
      total: matching.length,
      page: query.page,
      limit: query.limit,
      // The store answered at most MAX_SCANNED_ALERTS; beyond that the total is a lower bound.
      totalIsExact: all.length < MAX_SCANNED_ALERTS,
    };
  },
});

export const GET_ALERT_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/alerts/:id',
  summary: 'One alert with its evidence events and its history',
  access: ['admin', 'analyst', 'viewer'],
  params: alertParams,
  handler: async ({ params, services }) => {
    const alert = await knownAlert(services.app.store, params.id);
    const [evidence, history] = await Promise.all([
      services.app.store.alertEvidence(alert.id),
      services.app.store.alertHistory(alert.id),
    ]);
    return {
      alert: { ...describeAlert(alert), details: alert.details },
      evidence: evidence.map(describeEvidence),
      history: history.map(describeHistory),
    };
  },
});

async function knownAlert(store: App['store'], id: string): Promise<StoredAlert> {
  const alert = await store.getAlert(id);
  if (alert === undefined) throw new NotFoundError('ALERT_NOT_FOUND', { message: `No alert has the id ${id}.` });
  return alert;
}

const COMMENT = z.string().trim().min(1, 'a comment is required').max(2000, 'at most 2000 characters');

/** Applies an analyst's change through the store (which records it in the alert's history) and audits it. */
async function change(
  input: RouteInput<{ id: string }, unknown, unknown>,
  alertChange: AlertChange,
  action: AuditAction,
  details: Readonly<Record<string, unknown>>,
): Promise<unknown> {
  const caller = signedIn(input.principal);
  // The store refuses an unknown id with ALERT_NOT_FOUND and a close without a reason with ALERT_CHANGE_INVALID.
  const alert = await input.services.app.store
    .changeAlert(input.params.id, alertChange, caller.name)
    .catch((error: unknown) => {
      throw apiRefusal(error, input.params.id);
    });
  await input.services.audit({
    actor: caller.name,
    action,
    target: alert.id,
    outcome: 'success',
    ip: input.request.ip,
    details: { ruleId: alert.ruleId, ...details },
  });
  const history = await input.services.app.store.alertHistory(alert.id);
  return { alert: describeAlert(alert), history: history.map(describeHistory) };
}

/**
 * The store's refusal of a lifecycle change, with a hint for whoever called the API (the web UI or a script):
 * the store's own hint names the CLI command.
 */
function apiRefusal(error: unknown, id: string): unknown {
  // The request schemas leave one refusal to the store: acknowledging a closed alert.
  if (!(error instanceof AppError) || error.code !== 'ALERT_CHANGE_INVALID') return error;
  return new AppError('ALERT_CHANGE_INVALID', {
    message: error.message,
    hint: `Reopen it first (POST /api/alerts/${id}/reopen); a closed alert still takes comments (POST /api/alerts/${id}/comment).`,
    cause: error,
  });
}

export const ACK_ALERT_ROUTE = statusRoute(
  'ack',
  'Acknowledge an alert: someone is looking at it',
  'acknowledged',
  'alert_acknowledged',
);

export const CLOSE_ALERT_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/alerts/:id/close',
  summary: 'Close an alert with a reason: true_positive, benign or false_positive',
  access: ['admin', 'analyst'],
  params: alertParams,
  body: z.object({ reason: z.enum(CLOSE_REASONS), comment: COMMENT.optional() }),
  handler: (input) =>
    change(
      input,
      {
        status: 'closed',
        closeReason: input.body.reason,
        ...(input.body.comment === undefined ? {} : { comment: input.body.comment }),
      },
      'alert_closed',
      { reason: input.body.reason },
    ),
});

export const REOPEN_ALERT_ROUTE = statusRoute(
  'reopen',
  'Reopen a closed or acknowledged alert: it needs looking at again, and takes new findings again',
  'open',
  'alert_reopened',
);

/** A lifecycle route that moves an alert to `status`, with an optional comment recorded beside the change. */
function statusRoute(verb: string, summary: string, status: 'acknowledged' | 'open', action: AuditAction): Route {
  return defineRoute({
    method: 'POST',
    url: `/api/alerts/:id/${verb}`,
    summary,
    access: ['admin', 'analyst'],
    params: alertParams,
    body: z.object({ comment: COMMENT.optional() }),
    handler: (input) =>
      change(
        input,
        { status, ...(input.body.comment === undefined ? {} : { comment: input.body.comment }) },
        action,
        {},
      ),
  });
}

export const ASSIGN_ALERT_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/alerts/:id/assign',
  summary: 'Assign an alert to someone, or to nobody with user null',
  access: ['admin', 'analyst'],
  params: alertParams,
  body: z.object({
    user: z.string().trim().min(1, 'name the assignee, or send null').max(200, 'at most 200 characters').nullable(),
  }),
  handler: async (input) => {
    // An alert is assigned to someone who can open it: a misspelt name would leave it with nobody.
    const assignee = input.body.user;
    if (assignee !== null && (await input.services.auth.userByName(assignee)) === undefined) {
      throw new NotFoundError('AUTH_USER_UNKNOWN', {
        message: `No zerotrail user is named "${assignee}"; the alert keeps its assignee.`,
        hint: 'Assign it to one of the users an admin lists under Settings → Users (GET /api/users).',
      });
    }
    return change(input, { assignee }, 'alert_assigned', { assignee });
  },
});

export const COMMENT_ALERT_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/alerts/:id/comment',
  summary: "Add a comment to an alert's history",
  access: ['admin', 'analyst'],
  params: alertParams,
  body: z.object({ text: COMMENT }),
  // The comment itself stays in the alert's history; the audit trail records only that one was made.
  handler: (input) => change(input, { comment: input.body.text }, 'alert_commented', {}),
});
