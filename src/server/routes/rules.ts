import { z } from 'zod';
import type { App } from '../../app.js';
import { AppError, NotFoundError } from '../../core/errors.js';
import { allowEntry, checkAllowedCountries, checkAllowedIps } from '../../detect/allow-entries.js';
import { checkOverrides } from '../../detect/rule-file.js';
import { knownRules, type KnownRule } from '../../detect/known-rules.js';
import { parseStoredRule, readStoredRules, writeStoredRules, type StoredRule } from '../../detect/stored-rules.js';
import { parseAnyRuleFile } from '../../detect/user-rules.js';
import type { RuleAllowList, RuleSetting } from '../../store/detection-store.js';
import { signedIn } from '../auth/authenticate.js';
import { defineRoute, type RouteInput } from './route.js';

const MAX_RULE_TEXT_CHARS = 32_000;
const EMPTY_ALLOW: RuleAllowList = { users: [], ips: [], apps: [], countries: [] };

async function knownRule(app: App, id: string): Promise<KnownRule> {
  const rule = (await knownRules(app.config.dataDir, app.store)).find(
    (candidate) => candidate.definition.header.id === id,
  );
  if (rule === undefined) throw new NotFoundError('RULE_NOT_FOUND', { message: `No detection rule has the id ${id}.` });
  return rule;
}

function describeRule(rule: KnownRule, setting: RuleSetting | undefined): Record<string, unknown> {
  const { header, params } = rule.definition;
  return {
    id: header.id,
    title: header.title,
    type: header.type,
    severity: header.severity,
    technique: header.technique,
    description: header.description,
    summary: header.summary,
    origin: rule.origin,
    enabled: setting?.enabled ?? header.enabled,
    defaultEnabled: header.enabled,
    params,
    overrides: setting?.overrides ?? {},
    fileAllow: header.allow,
    allow: setting?.allow ?? EMPTY_ALLOW,
    updatedAt: setting === undefined ? null : new Date(setting.updatedAt).toISOString(),
    updatedBy: setting?.updatedBy ?? null,
    ...(rule.custom === null
      ? {}
      : { yaml: rule.custom.yaml, addedBy: rule.custom.addedBy, addedAt: new Date(rule.custom.addedAt).toISOString() }),
  };
}

async function settingOf(app: App, id: string): Promise<RuleSetting | undefined> {
  return (await app.store.ruleSettings()).find((setting) => setting.ruleId === id);
}

const RULE_ID = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'a rule id: lowercase letters, digits, "_", "-" and "." only');
const ruleParams = z.object({ id: RULE_ID });

export const LIST_RULES_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/rules',
  summary: 'Detection rules, built-in and added, with whether each runs and its tuning',
  access: ['admin', 'analyst', 'viewer'],
  handler: async ({ services }) => {
    const settings = new Map((await services.app.store.ruleSettings()).map((setting) => [setting.ruleId, setting]));
    const rules = await knownRules(services.app.config.dataDir, services.app.store);
    return { rules: rules.map((rule) => describeRule(rule, settings.get(rule.definition.header.id))) };
  },
});

async function setEnabled(input: RouteInput<{ id: string }, unknown, unknown>, enabled: boolean): Promise<unknown> {
  const caller = signedIn(input.principal);
  const { app } = input.services;
  const rule = await knownRule(app, input.params.id);
  const current = await settingOf(app, input.params.id);
  const setting: RuleSetting = {
    ruleId: input.params.id,
    enabled,
    overrides: current?.overrides ?? {},
    allow: current?.allow ?? EMPTY_ALLOW,
    updatedAt: app.clock.now(),
    updatedBy: caller.name,
  };
  await app.store.saveRuleSetting(setting);
  await input.services.audit({
    actor: caller.name,
    action: enabled ? 'rule_enabled' : 'rule_disabled',
    target: input.params.id,
    outcome: 'success',
    ip: input.request.ip,
    details: { from: current?.enabled ?? rule.definition.header.enabled, to: enabled },
  });
  return { rule: describeRule(rule, setting) };
}

export const ENABLE_RULE_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/rules/:id/enable',
  summary: 'Run a rule from the next evaluated batch on',
  access: ['admin'],
  params: ruleParams,
  handler: (input) => setEnabled(input, true),
});

export const DISABLE_RULE_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/rules/:id/disable',
  summary: 'Stop running a rule; events stored while it is off are not evaluated by it later',
  access: ['admin'],
  params: ruleParams,
  handler: (input) => setEnabled(input, false),
});

const allowEntries = z.array(allowEntry).max(1000).default([]);

// A parameter override: a number, a duration or other text, a flag, or a list of text (a first_seen rule's
// `values`, such as its sensitive applications).
const overrideValue = z.union([z.number(), z.string().max(200), z.boolean(), z.array(allowEntry).max(1000)]);

export const RULE_SETTINGS_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/rules/:id/settings',
  summary:
    "Replace a rule's parameter overrides (thresholds, windows, learning periods, the values a first_seen rule reports such as sensitive applications) and its added allow-list entries",
  access: ['admin'],
  params: ruleParams,
  body: z.object({
    overrides: z.record(z.string().min(1).max(64), overrideValue).default({}),
    allow: z
      .object({
        users: allowEntries,
        ips: allowEntries.superRefine(checkAllowedIps),
        apps: allowEntries,
        countries: allowEntries.superRefine(checkAllowedCountries),
      })
      .strict()
      .default({ users: [], ips: [], apps: [], countries: [] }),
  }),
  handler: async ({ params, body, principal, request, services }) => {
    const caller = signedIn(principal);
    const { app } = services;
    const rule = await knownRule(app, params.id);
    // The engine's own check: an unknown parameter or a bad value is refused with RULE_INVALID naming it.
    checkOverrides({ ...rule.definition, origin: `rule ${params.id}` }, body.overrides);
    const current = await settingOf(app, params.id);
    const setting: RuleSetting = {
      ruleId: params.id,
      enabled: current?.enabled ?? null,
      overrides: body.overrides,
      allow: body.allow,
      updatedAt: app.clock.now(),
      updatedBy: caller.name,
    };
    await app.store.saveRuleSetting(setting);
    await services.audit({
      actor: caller.name,
      action: 'rule_settings_changed',
      target: params.id,
      outcome: 'success',
      ip: request.ip,
      details: {
        overrides: body.overrides,
        allowEntries: {
          users: body.allow.users.length,
          ips: body.allow.ips.length,
          apps: body.allow.apps.length,
          countries: body.allow.countries.length,
        },
      },
    });
    return { rule: describeRule(rule, setting) };
  },
});

export const ADD_RULE_ROUTE = defineRoute({
  method: 'POST',
  url: '/api/rules',
  summary:
    'Add a rule from its YAML text (the format of docs/detections.md, or a Sigma rule), checked by the rule loader; it runs from the next evaluated batch on',
  access: ['admin'],
  status: 201,
  body: z.object({
    yaml: z
      .string()
      .min(1, 'the rule text is empty')
      .max(MAX_RULE_TEXT_CHARS, `at most ${MAX_RULE_TEXT_CHARS} characters`),
  }),
  handler: async ({ body, principal, request, services }) => {
    const caller = signedIn(principal);
    const { app } = services;
    // RULE_INVALID from the loader carries every problem with its field; it reaches the caller unchanged.
    const definition = parseAnyRuleFile(body.yaml, 'rule');
    const id = definition.header.id;
    if ((await knownRules(app.config.dataDir, app.store)).some((rule) => rule.definition.header.id === id)) {
      throw new AppError('RULE_INVALID', {
        message: `rule: id: a rule with the id ${id} exists already; choose another id.`,
        details: { origin: 'rule' },
      });
    }
    const stored: StoredRule = { yaml: body.yaml, addedBy: caller.name, addedAt: app.clock.now() };
    await writeStoredRules(app.store, [...(await readStoredRules(app.store)), stored]);
    await services.audit({
      actor: caller.name,
      action: 'rule_added',
      target: id,
      outcome: 'success',
      ip: request.ip,
      details: { type: definition.header.type, severity: definition.header.severity },
    });
    return { rule: describeRule({ definition, origin: 'custom', custom: stored }, undefined) };
  },
});

export const REMOVE_RULE_ROUTE = defineRoute({
  method: 'DELETE',
  url: '/api/rules/:id',
  summary:
    'Remove a rule added through the API; its alerts stay. Built-in rules are disabled instead, and rule files are removed with zerotrail rules remove',
  access: ['admin'],
  params: ruleParams,
  handler: async ({ params, principal, request, services }) => {
    const caller = signedIn(principal);
    const { app } = services;
    const rule = await knownRule(app, params.id);
    if (rule.origin !== 'custom') {
      throw new AppError('RULE_INVALID', {
        message:
          rule.origin === 'builtin'
            ? `${params.id} is a built-in rule; disable it instead of removing it.`
            : `${params.id} comes from a file in the data directory's rules folder; remove it with zerotrail rules remove ${params.id}.`,
        details: { origin: 'rule' },
      });
    }
    const remaining = (await readStoredRules(app.store)).filter(
      (stored) => parseStoredRule(stored).header.id !== params.id,
    );
    await writeStoredRules(app.store, remaining);
    await services.audit({
      actor: caller.name,
      action: 'rule_removed',
      target: params.id,
      outcome: 'success',
      ip: request.ip,
      details: { type: rule.definition.header.type },
    });
    return { removed: params.id };
  },
});
