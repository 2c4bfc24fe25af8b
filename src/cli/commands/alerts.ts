import type { Command } from 'commander';
import { z } from 'zod';
import type { App } from '../../app.js';
import { AppError, NotFoundError } from '../../core/errors.js';
import type { AuthStore } from '../../store/auth-store.js';
import { ALERT_STATUSES, CLOSE_REASONS, type StoredAlert } from '../../store/detection-store.js';
import { alertNotFound } from '../../store/rows/alert-rows.js';
import { parseFlags, type CommandContext } from '../context.js';
import { wholeNumberText } from '../../core/number-text.js';
import { writeLine } from '../io.js';
import { renderTable, truncate, visible } from '../output.js';
import { withAuthStore } from './user.js';

const listFlagsSchema = z.object({
  status: z.enum(ALERT_STATUSES).optional(),
  rule: z.string().min(1).optional(),
  limit: wholeNumberText((n) => n.min(1).max(10_000)).default(100),
  format: z.enum(['table', 'json']).default('table'),
});
const showFlagsSchema = z.object({ format: z.enum(['table', 'json']).default('table') });
const MAX_COMMENT_CHARS = 2000;
const closeFlagsSchema = z.object({
  reason: z.enum(CLOSE_REASONS),
  comment: z.string().trim().min(1).max(MAX_COMMENT_CHARS).optional(),
});
const commentFlagsSchema = z.object({ comment: z.string().trim().min(1).max(MAX_COMMENT_CHARS).optional() });
// The rest of the row takes about 110 columns; the whole summary is in `alerts show`.
const SUMMARY_WIDTH = 140;
const assigneeSchema = z.string().min(1).max(200);

/** The JSON shape of an alert for scripts: snake_case, ISO times, and the evidence event ids. */
export function alertToJson(alert: StoredAlert, evidence: readonly string[]): Record<string, unknown> {
  return {
    id: alert.id,
    rule_id: alert.ruleId,
    title: alert.title,
    severity: alert.severity,
    technique: alert.technique,
    entity: alert.entity,
    first_event_time: new Date(alert.firstEventTime).toISOString(),
    last_event_time: new Date(alert.lastEventTime).toISOString(),
    count: alert.count,
    summary: alert.summary,
    status: alert.status,
    close_reason: alert.closeReason,
    assignee: alert.assignee,
    evidence_event_ids: evidence,
  };
}

// Who the CLI acts as in alert history: the operating-system account running it.
function cliActor(context: CommandContext): string {
  return `cli:${context.io.env['USER'] ?? context.io.env['USERNAME'] ?? 'unknown'}`;
}

async function alertOrFail(app: App, id: string): Promise<StoredAlert> {
  const alert = await app.store.getAlert(id);
  if (alert === undefined) throw alertNotFound(id);
  return alert;
}

/** Runs `work` on the installation, or refuses the alert `id` at once while nothing is stored. */
function withAlert<T>(context: CommandContext, id: string, work: (app: App) => Promise<T>): Promise<T> {
  return context.withExistingApp(work, () => {
    throw alertNotFound(id);
  });
}

export function registerAlertsCommand(program: Command, context: CommandContext): void {
  const alerts = program.command('alerts').description('Alerts raised by the detection rules');

  alerts
    .command('list')
    .description('Alerts, newest event first')
    .option('--status <status>', 'open, acknowledged or closed (default every status)')
    .option('--rule <id>', 'only this rule')
    .option('--limit <n>', 'at most this many (default 100)')
    .option('--format <format>', 'table or json (default table)')
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(listFlagsSchema, rawFlags);
      const noAlerts = (): void => writeLine(context.io.stdout, flags.format === 'json' ? '[]' : 'No alerts.');
      await context.withStoredApp(async (app) => {
        const list = await app.store.listAlerts({
          limit: flags.limit,
          ...(flags.status === undefined ? {} : { status: flags.status }),
          ...(flags.rule === undefined ? {} : { ruleId: flags.rule }),
        });
        if (flags.format === 'json') {
          const rows = [];
          for (const alert of list) {
            const evidence = await app.store.alertEvidence(alert.id);
            rows.push(
              alertToJson(
                alert,
                evidence.map((ref) => ref.eventId),
              ),
            );
          }
          writeLine(context.io.stdout, JSON.stringify(rows, null, 2));
          return;
        }
        if (list.length === 0) {
          noAlerts();
          return;
        }
        writeLine(
          context.io.stdout,
          renderTable(
            ['id', 'last event', 'severity', 'status', 'rule', 'count', 'summary'],
            list.map((alert) => [
              alert.id,
              new Date(alert.lastEventTime).toISOString(),
              alert.severity,
              alert.status,
              alert.ruleId,
              String(alert.count),
              truncate(visible(alert.summary), SUMMARY_WIDTH),
            ]),
          ),
        );
      }, noAlerts);
    });

  alerts
    .command('show')
    .description('One alert: what, who, when, the evidence events and its history')
    .argument('<id>', 'the alert id')
    .option('--format <format>', 'table or json (default table)')
    .action(async (id: string, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(showFlagsSchema, rawFlags);
      await withAlert(context, id, async (app) => {
        const alert = await alertOrFail(app, id);
        const evidence = await app.store.alertEvidence(id);
        const history = await app.store.alertHistory(id);
        if (flags.format === 'json') {
          writeLine(
            context.io.stdout,
            JSON.stringify(
              {
                ...alertToJson(
                  alert,
                  evidence.map((ref) => ref.eventId),
                ),
                description: alert.details,
                history: history.map((entry) => ({ ...entry, at: new Date(entry.at).toISOString() })),
              },
              null,
              2,
            ),
          );
          return;
        }
        const lines = [
          `${alert.id}  ${alert.severity.toUpperCase()}  ${alert.status}${alert.closeReason === null ? '' : ` (${alert.closeReason})`}`,
          visible(alert.summary),
          '',
          `rule        ${alert.ruleId}: ${visible(alert.title)}`,
          `technique   ${alert.technique}`,
          `user        ${visible(alert.entity.user ?? '-')}`,
          `ip          ${visible(alert.entity.ip ?? '-')}`,
          `app         ${visible(alert.entity.app ?? '-')}`,
          `events      ${alert.count}, ${new Date(alert.firstEventTime).toISOString()} to ${new Date(alert.lastEventTime).toISOString()}`,
          `assignee    ${visible(alert.assignee ?? '-')}`,
          '',
          'evidence (zerotrail search id:ID shows one):',
          ...evidence.map((ref) => `  ${new Date(ref.eventTime).toISOString()}  ${ref.eventId}`),
          '',
          'history:',
          ...history.map(
            (entry) =>
              `  ${new Date(entry.at).toISOString()}  ${visible(entry.actor)}  ${entry.action}  ${visible(JSON.stringify(entry.details))}`,
          ),
        ];
        writeLine(context.io.stdout, lines.join('\n'));
      });
    });

  alerts
    .command('ack')
    .description('Acknowledge an alert: someone is looking at it')
    .argument('<id>', 'the alert id')
    .option('--comment <text>', 'a note kept in the history')
    .action(async (id: string, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(commentFlagsSchema, rawFlags);
      await withAlert(context, id, async (app) => {
        const alert = await app.store.changeAlert(
          id,
          { status: 'acknowledged', ...(flags.comment === undefined ? {} : { comment: flags.comment }) },
          cliActor(context),
        );
        writeLine(context.io.stdout, `Alert ${alert.id} acknowledged.`);
      });
    });

  alerts
    .command('close')
    .description('Close an alert with a reason: true_positive, benign or false_positive')
    .argument('<id>', 'the alert id')
    .requiredOption('--reason <reason>', 'true_positive, benign or false_positive')
    .option('--comment <text>', 'a note kept in the history')
    .action(async (id: string, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(closeFlagsSchema, rawFlags);
      await withAlert(context, id, async (app) => {
        const alert = await app.store.changeAlert(
          id,
          {
            status: 'closed',
            closeReason: flags.reason,
            ...(flags.comment === undefined ? {} : { comment: flags.comment }),
          },
          cliActor(context),
        );
        writeLine(context.io.stdout, `Alert ${alert.id} closed as ${flags.reason}.`);
      });
    });

  alerts
    .command('reopen')
    .description('Reopen a closed or acknowledged alert: it needs looking at again')
    .argument('<id>', 'the alert id')
    .option('--comment <text>', 'a note kept in the history, such as why')
    .action(async (id: string, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(commentFlagsSchema, rawFlags);
      await withAlert(context, id, async (app) => {
        const before = await alertOrFail(app, id);
        const alert = await app.store.changeAlert(
          id,
          { status: 'open', ...(flags.comment === undefined ? {} : { comment: flags.comment }) },
          cliActor(context),
        );
        writeLine(
          context.io.stdout,
          before.status === 'open' ? `Alert ${alert.id} is open already.` : `Alert ${alert.id} reopened.`,
        );
      });
    });

  alerts
    .command('assign')
    .description('Assign an alert to someone, or --none to clear it')
    .argument('<id>', 'the alert id')
    .argument('[assignee]', 'who takes it')
    .option('--none', 'nobody')
    .action(async (id: string, assignee: string | undefined, rawFlags: Record<string, unknown>) => {
      const none = rawFlags['none'] === true;
      if (none === (assignee !== undefined)) {
        throw new AppError('CLI_USAGE', {
          message: 'Name the assignee, or pass --none to clear it.',
          hint: 'zerotrail alerts assign ID alice',
        });
      }
      const who = none ? null : parseFlags(assigneeSchema, assignee);
      const assign = async (app: App, auth: AuthStore): Promise<void> => {
        await alertOrFail(app, id);
        // As in the API: an alert goes to someone who can open it, so a misspelt name never leaves it with nobody.
        if (who !== null && (await auth.userByName(who)) === undefined) {
          throw new NotFoundError('AUTH_USER_UNKNOWN', {
            message: `No zerotrail user is named "${visible(who)}"; the alert keeps its assignee.`,
            hint: 'zerotrail user list shows the users; zerotrail user add creates one.',
          });
        }
        const alert = await app.store.changeAlert(id, { assignee: who }, cliActor(context));
        writeLine(
          context.io.stdout,
          `Alert ${alert.id} ${who === null ? 'unassigned' : `assigned to ${visible(who)}`}.`,
        );
      };
      await withAuthStore(context, assign, {
        missing: () => {
          throw alertNotFound(id);
        },
      });
    });

  alerts
    .command('comment')
    .description('Add a comment to an alert')
    .argument('<id>', 'the alert id')
    .argument('<text>', 'the comment')
    .action(async (id: string, text: string) => {
      const comment = commentText(text);
      await withAlert(context, id, async (app) => {
        const alert = await app.store.changeAlert(id, { comment }, cliActor(context));
        writeLine(context.io.stdout, `Comment added to alert ${alert.id}.`);
      });
    });
}

// The text is an argument, not an option, so the usual "Invalid command-line value" for flags would mislead.
function commentText(text: string): string {
  const comment = text.trim();
  if (comment.length > 0 && comment.length <= MAX_COMMENT_CHARS) return comment;
  throw new AppError('CLI_USAGE', {
    message:
      comment.length === 0
        ? 'The comment is empty.'
        : `The comment has ${comment.length.toLocaleString('en-US')} characters; an alert comment takes at most ${MAX_COMMENT_CHARS.toLocaleString('en-US')}.`,
    hint: 'zerotrail alerts comment ID "what you found" (quote text with spaces)',
  });
}
