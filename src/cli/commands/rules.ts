import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import type { App } from '../../app.js';
import { AppError, NotFoundError } from '../../core/errors.js';
import { parseTimeExpression } from '../../core/time-expression.js';
import { loadBuiltinRules } from '../../detect/builtin-rules.js';
import { replayRules } from '../../detect/replay.js';
import { compileRule, parseRuleFile, type RuleDefinition } from '../../detect/rule-file.js';
import type { RuleSetting } from '../../store/detection-store.js';
import { parseFlags, type CommandContext } from '../context.js';
import { writeLine } from '../io.js';
import { renderTable, visible } from '../output.js';

const listFlagsSchema = z.object({ format: z.enum(['table', 'json']).default('table') });
const testFlagsSchema = z.object({
  from: z.string().min(1).default('-24h'),
  to: z.string().min(1).default('now'),
  format: z.enum(['table', 'json']).default('table'),
});

function ruleOrFail(rules: readonly RuleDefinition[], id: string): RuleDefinition {
  const rule = rules.find((candidate) => candidate.header.id === id);
  if (rule === undefined) {
    throw new NotFoundError('RULE_NOT_FOUND', {
      message: `No detection rule has the id ${id}.`,
      hint: `zerotrail rules list shows them: ${rules.map((candidate) => candidate.header.id).join(', ')}.`,
    });
  }
  return rule;
}

async function setEnabled(app: App, context: CommandContext, id: string, enabled: boolean): Promise<void> {
  const rule = ruleOrFail(loadBuiltinRules(), id);
  const current = (await app.store.ruleSettings()).find((setting) => setting.ruleId === id);
  const setting: RuleSetting = {
    ruleId: id,
    enabled,
    overrides: current?.overrides ?? {},
    allow: current?.allow ?? { users: [], ips: [], apps: [], countries: [] },
    updatedAt: app.clock.now(),
    updatedBy: `cli:${context.io.env['USER'] ?? context.io.env['USERNAME'] ?? 'unknown'}`,
  };
  await app.store.saveRuleSetting(setting);
  writeLine(
    context.io.stdout,
    `Rule ${rule.header.id} ${enabled ? 'enabled' : 'disabled'}; a running collector applies it from its next batch.`,
  );
}

export function registerRulesCommand(program: Command, context: CommandContext): void {
  const rules = program.command('rules').description('Detection rules: list, enable, disable, and test a rule file');

  rules
    .command('list')
    .description('Every detection rule with its severity, technique and whether it runs')
    .option('--format <format>', 'table or json (default table)')
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(listFlagsSchema, rawFlags);
      await context.withApp(async (app) => {
        const settings = new Map((await app.store.ruleSettings()).map((setting) => [setting.ruleId, setting]));
        const rows = loadBuiltinRules().map((definition) => {
          const setting = settings.get(definition.header.id);
          return {
            id: definition.header.id,
            title: definition.header.title,
            type: definition.header.type,
            severity: definition.header.severity,
            technique: definition.header.technique,
            enabled: setting?.enabled ?? definition.header.enabled,
            overrides: setting?.overrides ?? {},
            description: definition.header.description,
          };
        });
        if (flags.format === 'json') {
          writeLine(context.io.stdout, JSON.stringify(rows, null, 2));
          return;
        }
        writeLine(
          context.io.stdout,
          renderTable(
            ['id', 'enabled', 'severity', 'technique', 'type', 'title'],
            rows.map((row) => [row.id, row.enabled ? 'yes' : 'no', row.severity, row.technique, row.type, row.title]),
          ),
        );
      });
    });

  rules
    .command('enable')
    .description('Run a rule')
    .argument('<id>', 'the rule id')
    .action(async (id: string) => {
      await context.withApp((app) => setEnabled(app, context, id, true));
    });

  rules
    .command('disable')
    .description('Stop running a rule; events stored while it is off are not evaluated by it later')
    .argument('<id>', 'the rule id')
    .action(async (id: string) => {
      await context.withApp((app) => setEnabled(app, context, id, false));
    });

  rules
    .command('test')
    .description('Replay stored events through a rule file and print what it would have raised; creates nothing')
    .argument('<file>', 'a rule file (YAML, the format of docs/detections.md)')
    .option('--from <time>', 'start, ISO 8601 or relative (default -24h)')
    .option('--to <time>', 'end, exclusive (default now)')
    .option('--format <format>', 'table or json (default table)')
    .action(async (file: string, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(testFlagsSchema, rawFlags);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new AppError('CLI_USAGE', {
          message: `The rule file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`,
          cause: error,
        });
      }
      const definition = parseRuleFile(text, file);
      // The file is tested as written: enabled, without stored overrides or allow-list additions.
      const rule = compileRule({ ...definition, header: { ...definition.header, enabled: true } }, undefined);
      const nowMs = context.clock.now();
      const fromMs = parseTimeExpression(flags.from, nowMs, '--from');
      const toMs = parseTimeExpression(flags.to, nowMs, '--to');
      await context.withApp(async (app) => {
        const raised = await replayRules(app.store, [rule], { fromMs, toMs });
        writeLine(
          context.io.stderr,
          `${raised.length} alert${raised.length === 1 ? '' : 's'} would have been raised; nothing was stored.`,
        );
        if (flags.format === 'json') {
          writeLine(
            context.io.stdout,
            JSON.stringify(
              raised.map((alert) => ({
                id: alert.id,
                rule_id: alert.ruleId,
                severity: alert.severity,
                technique: alert.technique,
                entity: alert.entity,
                first_event_time: new Date(alert.firstEventTime).toISOString(),
                last_event_time: new Date(alert.lastEventTime).toISOString(),
                count: alert.count,
                summary: alert.summary,
                evidence_event_ids: alert.evidence,
              })),
              null,
              2,
            ),
          );
          return;
        }
        writeLine(
          context.io.stdout,
          raised.length === 0
            ? `${definition.header.id} would have raised no alert between ${new Date(fromMs).toISOString()} and ${new Date(toMs).toISOString()}.`
            : renderTable(
                ['first event', 'severity', 'count', 'summary'],
                raised.map((alert) => [
                  new Date(alert.firstEventTime).toISOString(),
                  alert.severity,
                  String(alert.count),
                  visible(alert.summary).slice(0, 160),
                ]),
              ),
        );
      });
    });
}
