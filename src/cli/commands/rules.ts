import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { installationIsNew, type App } from '../../app.js';
import type { AppConfig } from '../../config/schema.js';
import { AppError, NotFoundError } from '../../core/errors.js';
import { checkPeriodNotEmpty, parseTimeExpression } from '../../core/time-expression.js';
import { loadBuiltinRules } from '../../detect/builtin-rules.js';
import { parseDuration } from '../../detect/duration.js';
import { allowEntry, checkAllowedCountries, checkAllowedIps } from '../../detect/allow-entries.js';
import { replayRules, type ReplayedAlert } from '../../detect/replay.js';
import { checkOverrides, compileRule, type RuleDefinition } from '../../detect/rule-file.js';
import { knownFileRules, knownRules, type KnownRule } from '../../detect/known-rules.js';
import { isRuleFileName, parseAnyRuleFile, userRulesDir } from '../../detect/user-rules.js';
import type { RuleAllowList, RuleSetting } from '../../store/detection-store.js';
import { parseFlags, type CommandContext } from '../context.js';
import { wholeNumberText } from '../../core/number-text.js';
import { writeLine } from '../io.js';
import { renderTable, truncate, visible } from '../output.js';
import { fileSystemProblem } from '../../core/file-error.js';

const listFlagsSchema = z.object({ format: z.enum(['table', 'json']).default('table') });
const testFlagsSchema = z.object({
  from: z.string().min(1).default('-24h'),
  to: z.string().min(1).default('now'),
  format: z.enum(['table', 'json']).default('table'),
});

const durationFlag = (flag: string) =>
  z
    .string()
    .refine((text) => parseDuration(text) !== null, `${flag} must be a number and s, m, h or d (10m, 1h, 7d)`)
    .refine((text) => parseDuration(text) !== 0, `${flag} must be more than zero (1s at least)`)
    .optional();

const setFlagsSchema = z
  .object({
    threshold: wholeNumberText((n) => n.min(1)).optional(),
    window: durationFlag('--window'),
    learning: durationFlag('--learning'),
    learningEvents: wholeNumberText((n) => n.min(1)).optional(),
    value: z.array(allowEntry).max(1000).optional(),
    // Commander gives `--no-values` as values: false (and true without it).
    values: z.boolean().optional(),
    reset: z.boolean().optional(),
  })
  .refine((flags) => !(flags.value !== undefined && flags.values === false), {
    message: 'give either --value or --no-values, not both',
  })
  .refine(
    (flags) =>
      flags.threshold !== undefined ||
      flags.window !== undefined ||
      flags.learning !== undefined ||
      flags.learningEvents !== undefined ||
      flags.value !== undefined ||
      flags.values === false ||
      flags.reset === true,
    {
      message:
        'give --threshold N, --window DURATION, --learning DURATION, --learning-events N, --value V, --no-values or --reset',
    },
  );

const entryList = z.array(allowEntry).max(1000).default([]);
const allowFlagsSchema = z
  .object({
    user: entryList,
    ip: entryList.superRefine(checkAllowedIps),
    app: entryList,
    country: entryList.superRefine(checkAllowedCountries),
  })
  .refine((flags) => flags.user.length + flags.ip.length + flags.app.length + flags.country.length > 0, {
    message: 'give at least one of --user, --ip, --app or --country',
  });

const EMPTY_ALLOW: RuleAllowList = { users: [], ips: [], apps: [], countries: [] };
// The full list is in --format json; the table says what kinds of exception a rule has.
const ALLOW_WIDTH = 40;

function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function actor(context: CommandContext): string {
  return `cli:${context.io.env['USER'] ?? context.io.env['USERNAME'] ?? 'unknown'}`;
}

/**
 * The rule `id`, wherever it comes from. The files are read first, so an unknown id on a new installation creates
 * nothing; the rules added through the API are in the store, which is opened only when the files lack the id.
 */
async function findRule(context: CommandContext, config: AppConfig, id: string): Promise<RuleDefinition> {
  const files = knownFileRules(config.dataDir).map((rule) => rule.definition);
  if (files.some((rule) => rule.header.id === id) || (await installationIsNew(config))) return ruleOrFail(files, id);
  const all = await context.withApp(async (app) => await knownRules(config.dataDir, app.store), config);
  return ruleOrFail(
    all.map((rule) => rule.definition),
    id,
  );
}

function readRuleText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new AppError('CLI_USAGE', {
      message: `The rule file ${file} cannot be read: ${fileSystemProblem(error)}.`,
      hint: 'Give the path of a rule file (.yaml or .json) as the argument, relative to the current directory or absolute.',
      cause: error,
    });
  }
}

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

async function setEnabled(app: App, context: CommandContext, rule: RuleDefinition, enabled: boolean): Promise<void> {
  const id = rule.header.id;
  const current = (await app.store.ruleSettings()).find((setting) => setting.ruleId === id);
  const setting: RuleSetting = {
    ruleId: id,
    enabled,
    overrides: current?.overrides ?? {},
    allow: current?.allow ?? { users: [], ips: [], apps: [], countries: [] },
    updatedAt: app.clock.now(),
    updatedBy: actor(context),
  };
  await app.store.saveRuleSetting(setting);
  writeLine(
    context.io.stdout,
    `Rule ${rule.header.id} ${enabled ? 'enabled' : 'disabled'}; a running collector applies it from its next batch.`,
  );
}

/** The overrides `rules set` leaves: the stored ones (unless --reset) with the flags' values over them. */
function overridesAfter(
  flags: z.infer<typeof setFlagsSchema>,
  stored: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> {
  const overrides: Record<string, unknown> = flags.reset === true ? {} : { ...stored };
  if (flags.threshold !== undefined) overrides['threshold'] = flags.threshold;
  if (flags.window !== undefined) overrides['window'] = flags.window;
  if (flags.learning !== undefined) overrides['learning'] = flags.learning;
  if (flags.learningEvents !== undefined) overrides['learning_events'] = flags.learningEvents;
  // The values a first_seen rule reports (the sensitive applications): the flags replace the whole list.
  if (flags.value !== undefined) overrides['values'] = [...new Set(flags.value)];
  if (flags.values === false) overrides['values'] = [];
  return overrides;
}

async function setParams(
  app: App,
  context: CommandContext,
  rule: RuleDefinition,
  flags: z.infer<typeof setFlagsSchema>,
): Promise<void> {
  const id = rule.header.id;
  const current = (await app.store.ruleSettings()).find((setting) => setting.ruleId === id);
  const overrides = overridesAfter(flags, current?.overrides);
  // The rule type's own check: a rule without a threshold or window refuses it with RULE_INVALID naming it.
  checkOverrides(rule, overrides);
  await app.store.saveRuleSetting({
    ruleId: id,
    enabled: current?.enabled ?? null,
    overrides,
    allow: current?.allow ?? EMPTY_ALLOW,
    updatedAt: app.clock.now(),
    updatedBy: actor(context),
  });
  const shown = Object.entries(overrides).map(
    ([key, value]) => `${key}=${Array.isArray(value) ? `[${value.map(String).join(', ')}]` : String(value)}`,
  );
  writeLine(
    context.io.stdout,
    `Rule ${id} ${shown.length === 0 ? 'uses the parameters of its file' : `overrides ${visible(shown.join(', '))}`}; a running collector applies it from its next batch.`,
  );
}

async function changeAllowList(
  app: App,
  context: CommandContext,
  rule: RuleDefinition,
  flags: z.infer<typeof allowFlagsSchema>,
  add: boolean,
): Promise<void> {
  const id = rule.header.id;
  const current = (await app.store.ruleSettings()).find((setting) => setting.ruleId === id);
  const allow = current?.allow ?? EMPTY_ALLOW;
  const change = (list: readonly string[], entries: readonly string[], normalise: (v: string) => string) => {
    const wanted = entries.map(normalise);
    if (add) return [...list, ...wanted.filter((entry) => !list.includes(entry))];
    return list.filter((entry) => !wanted.includes(entry));
  };
  const same = (value: string) => value;
  const next: RuleAllowList = {
    users: change(allow.users, flags.user, (value) => value.toLowerCase()),
    ips: change(allow.ips, flags.ip, same),
    apps: change(allow.apps, flags.app, same),
    countries: change(allow.countries, flags.country, (value) => value.toUpperCase()),
  };
  await app.store.saveRuleSetting({
    ruleId: id,
    enabled: current?.enabled ?? null,
    overrides: current?.overrides ?? {},
    allow: next,
    updatedAt: app.clock.now(),
    updatedBy: actor(context),
  });
  const listed = allowListText(next);
  writeLine(
    context.io.stdout,
    `Rule ${id} ignores ${listed === '' ? 'nothing beyond its file' : visible(listed)} (besides its file's allow-list); a running collector applies it from its next batch.`,
  );
}

// "users a@example.com; ips 192.0.2.0/24", or '' for an empty list.
function allowListText(allow: RuleAllowList): string {
  return (Object.entries(allow) as [string, readonly string[]][])
    .filter(([, entries]) => entries.length > 0)
    .map(([kind, entries]) => `${kind} ${entries.join(', ')}`)
    .join('; ');
}

export function registerRulesCommand(program: Command, context: CommandContext): void {
  const rules = program.command('rules').description('Detection rules: list, enable, disable, and test a rule file');

  rules
    .command('list')
    .description('Every detection rule with its severity, technique and whether it runs')
    .option('--format <format>', 'table or json (default table)')
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(listFlagsSchema, rawFlags);
      const { dataDir } = context.loadConfig();
      // Without an installation the rules are still known, as their files state them: nothing tunes them yet.
      const show = (known: readonly KnownRule[], stored: readonly RuleSetting[]): void => {
        const settings = new Map(stored.map((setting) => [setting.ruleId, setting]));
        const rows = known.map(({ definition, origin }) => {
          const setting = settings.get(definition.header.id);
          return {
            id: definition.header.id,
            origin: origin === 'builtin' ? 'builtin' : definition.origin,
            title: definition.header.title,
            type: definition.header.type,
            severity: definition.header.severity,
            technique: definition.header.technique,
            enabled: setting?.enabled ?? definition.header.enabled,
            overrides: setting?.overrides ?? {},
            // What the rule does not report: its file's allow-list, and what `rules allow` added to it.
            file_allow: definition.header.allow,
            allow: setting?.allow ?? EMPTY_ALLOW,
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
            ['id', 'enabled', 'severity', 'technique', 'type', 'origin', 'ignores (added)', 'title'],
            rows.map((row) => [
              row.id,
              row.enabled ? 'yes' : 'no',
              row.severity,
              row.technique,
              row.type,
              visible(row.origin.startsWith(`${dataDir}${sep}`) ? relative(dataDir, row.origin) : row.origin),
              truncate(visible(allowListText(row.allow)), ALLOW_WIDTH) || '-',
              visible(row.title),
            ]),
          ),
        );
      };
      await context.withStoredApp(
        async (app) => show(await knownRules(dataDir, app.store), await app.store.ruleSettings()),
        () => show(knownFileRules(dataDir), []),
      );
    });

  rules
    .command('enable')
    .description('Run a rule')
    .argument('<id>', 'the rule id')
    .action(async (id: string) => {
      // The rule is found before the installation opens, so an unknown id creates nothing.
      const config = context.loadConfig();
      const rule = await findRule(context, config, id);
      await context.withApp((app) => setEnabled(app, context, rule, true), config);
    });

  rules
    .command('disable')
    .description('Stop running a rule; events stored while it is off are not evaluated by it later')
    .argument('<id>', 'the rule id')
    .action(async (id: string) => {
      const config = context.loadConfig();
      const rule = await findRule(context, config, id);
      await context.withApp((app) => setEnabled(app, context, rule, false), config);
    });

  rules
    .command('set')
    .description(
      "Tune a rule: override its threshold, window, learning period or reported values (kept in the store, over the file's params)",
    )
    .argument('<id>', 'the rule id')
    .option('--threshold <n>', 'events (or distinct values) that make an alert')
    .option('--window <duration>', 'the time window, such as 10m, 1h or 7d')
    .option('--learning <duration>', 'history a key needs before it alerts (first_seen and rate_spike rules)')
    .option('--learning-events <n>', 'events a key needs in its history before it alerts (first_seen rules)')
    .option(
      '--value <value>',
      'a value a first_seen rule reports, such as a sensitive application (repeatable; replaces the list)',
      collect,
    )
    .option('--no-values', 'empty the list of reported values (the rule reports none)')
    .option('--reset', "drop every override and use the file's parameters again")
    .action(async (id: string, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(setFlagsSchema, rawFlags);
      const config = context.loadConfig();
      const rule = await findRule(context, config, id);
      // With nothing stored the flags alone make the overrides, so a value the rule refuses creates nothing.
      if (await installationIsNew(config)) checkOverrides(rule, overridesAfter(flags, undefined));
      await context.withApp((app) => setParams(app, context, rule, flags), config);
    });

  for (const [name, add] of [
    ['allow', true],
    ['unallow', false],
  ] as const) {
    rules
      .command(name)
      .description(
        add
          ? 'Make a rule ignore events of a user, an address or CIDR range, an application or a country'
          : 'Take entries off the allow-list that `rules allow` added',
      )
      .argument('<id>', 'the rule id')
      .option('--user <email>', 'a user (repeatable)', collect)
      .option('--ip <cidr>', 'an address or CIDR range (repeatable)', collect)
      .option('--app <app>', 'an application name or id (repeatable)', collect)
      .option('--country <cc>', 'a two-letter country code (repeatable)', collect)
      .action(async (id: string, rawFlags: Record<string, unknown>) => {
        const flags = parseFlags(allowFlagsSchema, rawFlags);
        const config = context.loadConfig();
        const rule = await findRule(context, config, id);
        await context.withApp((app) => changeAllowList(app, context, rule, flags, add), config);
      });
  }

  rules
    .command('add')
    .description(
      'Check a rule file (engine format or Sigma) and copy it into <data dir>/rules; the collector loads it at its next start',
    )
    .argument('<file>', 'a rule file: the format of docs/detections.md, or a Sigma rule (docs/sigma.md)')
    .action(async (file: string) => {
      const text = readRuleText(file);
      // RULE_INVALID from the loader names the file, the field and what is accepted.
      const definition = parseAnyRuleFile(text, file);
      const config = context.loadConfig();
      const { dataDir } = config;
      // A rule added through the API with the same id would stop running once the file is loaded.
      const known = (await installationIsNew(config))
        ? knownFileRules(dataDir)
        : await context.withApp(async (app) => await knownRules(dataDir, app.store), config);
      const existing = known
        .map((rule) => ({
          id: rule.definition.header.id,
          where: rule.origin === 'builtin' ? 'a built-in rule' : rule.definition.origin,
        }))
        .find((rule) => rule.id === definition.header.id);
      if (existing !== undefined) {
        throw new AppError('RULE_INVALID', {
          message: `${file}: id: ${existing.where} has the id ${definition.header.id} already; choose another id.`,
          hint: `Rule ids are unique: give this rule its own id, or replace the other with zerotrail rules remove ${definition.header.id} (built-in rules cannot be removed, only disabled).`,
          details: { origin: file },
        });
      }
      const dir = userRulesDir(dataDir);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const target = join(dir, `${definition.header.id}.yaml`);
      if (existsSync(target)) {
        throw new AppError('RULE_INVALID', {
          message: `${file}: ${target} exists already; remove it first with zerotrail rules remove ${definition.header.id}.`,
          details: { origin: file },
        });
      }
      copyFileSync(file, target);
      writeLine(
        context.io.stdout,
        `Added rule ${definition.header.id} (${visible(definition.header.title)}) as ${target}; a collector loads it when it starts.`,
      );
    });

  rules
    .command('remove')
    .description(
      'Delete a rule file of <data dir>/rules by its rule id (or its file name); built-in rules can only be disabled',
    )
    .argument('<id>', 'the rule id')
    .action((id: string) => {
      const dir = userRulesDir(context.loadConfig().dataDir);
      if (loadBuiltinRules().some((rule) => rule.header.id === id)) {
        throw new AppError('CLI_USAGE', {
          message: `${id} is a built-in rule; it cannot be removed.`,
          hint: `zerotrail rules disable ${id} stops it.`,
        });
      }
      const names = existsSync(dir) ? readdirSync(dir).filter(isRuleFileName) : [];
      // A file that does not parse any more is found by its name, so a broken rule can always be removed.
      const matches = names.filter((name) => {
        if (basename(name).replace(/\.ya?ml$/, '') === id) return true;
        try {
          return parseAnyRuleFile(readFileSync(join(dir, name), 'utf8'), name).header.id === id;
        } catch (error) {
          if (error instanceof AppError) return false;
          throw error;
        }
      });
      if (matches.length === 0) {
        throw new NotFoundError('RULE_NOT_FOUND', {
          message: `No rule file in ${dir} has the id ${id}.`,
          hint: 'zerotrail rules list shows the rules and where each comes from.',
        });
      }
      for (const name of matches) unlinkSync(join(dir, name));
      writeLine(
        context.io.stdout,
        `Removed ${matches.map((name) => join(dir, name)).join(', ')}; a collector drops the rule when it starts.`,
      );
    });

  rules
    .command('test')
    .description('Replay stored events through a rule file and print what it would have raised; creates nothing')
    .argument('<file>', 'a rule file: the format of docs/detections.md, or a Sigma rule (docs/sigma.md)')
    .option('--from <time>', 'start, ISO 8601 or relative (default -24h)')
    .option('--to <time>', 'end, exclusive (default now)')
    .option('--format <format>', 'table or json (default table)')
    .action(async (file: string, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(testFlagsSchema, rawFlags);
      const definition = parseAnyRuleFile(readRuleText(file), file);
      // The file is tested as written: enabled, without stored overrides or allow-list additions.
      const rule = compileRule({ ...definition, header: { ...definition.header, enabled: true } }, undefined);
      const nowMs = context.clock.now();
      const fromMs = parseTimeExpression(flags.from, nowMs, '--from');
      const toMs = parseTimeExpression(flags.to, nowMs, '--to', 'exclusive-end');
      checkPeriodNotEmpty(fromMs, toMs, { from: '--from', to: '--to' });
      const report = (raised: readonly ReplayedAlert[]): void => {
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
      };
      // Without an installation there is nothing stored to replay: the rule would raise nothing.
      await context.withStoredApp(
        async (app) => report(await replayRules(app.store, [rule], { fromMs, toMs })),
        () => report([]),
      );
    });
}
