import type { Command } from 'commander';
import { z } from 'zod';
import { openNotifyQueue } from '../../app.js';
import { notifyTargetViews, type NotifyTargetSetting, type NotifyTargetView } from '../../pipeline/notify-status.js';
import { parseFlags, type CommandContext } from '../context.js';
import { writeLine } from '../io.js';
import { renderTable, visible } from '../output.js';

const statusFlagsSchema = z.object({ format: z.enum(['table', 'json']).default('table') });

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The JSON shape of a target's status for scripts: snake_case and ISO times, as `alerts list` prints. */
export function notifyTargetToJson(view: NotifyTargetView): Record<string, unknown> {
  return {
    target: view.target,
    type: view.type,
    configured: view.configured,
    min_severity: view.minSeverity,
    state: view.state,
    queued: view.queued,
    oldest_queued_at: iso(view.oldestQueuedAt),
    offset: view.offset,
    delivered: view.delivered,
    refused: view.refused,
    retries: view.retries,
    attempt: view.attempt,
    last_success_at: iso(view.lastSuccessAt),
    last_error:
      view.lastError === null
        ? null
        : { code: view.lastError.code, message: view.lastError.message, at: iso(view.lastError.at) },
    next_attempt_at: iso(view.nextAttemptAt),
    reported_by: view.reportedBy,
    updated_at: iso(view.updatedAt),
  };
}

function seconds(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function stateText(view: NotifyTargetView): string {
  const state = view.state === 'retrying' ? `retrying (try ${view.attempt + 1})` : view.state;
  return view.configured ? state : `${state}, not configured`;
}

export function registerNotifyCommand(program: Command, context: CommandContext): void {
  const notify = program.command('notify').description('Alert notification targets (notify.targets in the config)');

  notify
    .command('status')
    .description(
      'Each notification target: its state, queued notices, last delivery, last error and retries, as the process delivering for it last wrote them',
    )
    .option('--format <format>', 'table or json (default table)')
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(statusFlagsSchema, rawFlags);
      const config = context.loadConfig();
      const show = (views: readonly NotifyTargetView[]): void => {
        if (flags.format === 'json') {
          writeLine(context.io.stdout, JSON.stringify(views.map(notifyTargetToJson), null, 2));
          return;
        }
        if (views.length === 0) {
          writeLine(
            context.io.stdout,
            'No notification target is configured; add them under notify.targets in the config file (docs/notifications.md).',
          );
          return;
        }
        writeLine(
          context.io.stdout,
          renderTable(
            [
              'target',
              'type',
              'state',
              'queued',
              'oldest queued',
              'delivered',
              'last success',
              'retries',
              'last error',
            ],
            views.map((view) => [
              visible(view.target),
              view.type,
              stateText(view),
              String(view.queued),
              seconds(view.oldestQueuedAt),
              view.refused === 0 ? String(view.delivered) : `${view.delivered} (${view.refused} refused)`,
              seconds(view.lastSuccessAt),
              String(view.retries),
              view.lastError === null
                ? '-'
                : `${view.lastError.code} at ${seconds(view.lastError.at)}: ${visible(view.lastError.message).slice(0, 100)}`,
            ]),
          ),
        );
        for (const view of views.filter((candidate) => candidate.state === 'stopped')) {
          writeLine(
            context.io.stdout,
            `${visible(view.target)} stopped: fix what its last error names, then restart zerotrail; it resumes with the first notice it could not deliver.`,
          );
        }
      };
      await context.withStoredApp(
        async (app) => {
          const queue = await openNotifyQueue(app);
          try {
            show(await notifyTargetViews(queue, app.config.notify.targets));
          } finally {
            await queue.close();
          }
        },
        () => show(config.notify.targets.map(unstartedView)),
        config,
      );
    });
}

/** A configured target before any process has delivered for it, as a new installation has them: nothing queued. */
function unstartedView(target: NotifyTargetSetting): NotifyTargetView {
  return {
    target: target.name,
    type: target.type,
    configured: true,
    minSeverity: target.minSeverity,
    state: 'never_started',
    queued: 0,
    oldestQueuedAt: null,
    offset: null,
    delivered: 0,
    refused: 0,
    retries: 0,
    attempt: 0,
    lastSuccessAt: null,
    lastError: null,
    nextAttemptAt: null,
    reportedBy: null,
    updatedAt: null,
  };
}
