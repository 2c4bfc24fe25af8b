import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { fileSystemProblem } from '../core/file-error.js';
import { configFileSchema, databaseUrlSchema, toAppConfig, type AppConfig } from './schema.js';

export const DEFAULT_DATA_DIR = './zerotrail-data';
const ENV_PREFIX = 'ZEROTRAIL_';

/** Named variables from the documentation, besides the generic `ZEROTRAIL_<SECTION>__<KEY>` form. */
const NAMED_ENV: Readonly<Record<string, readonly [string, string]>> = {
  CLOUDFLARE_API_BASE_URL: ['cloudflare', 'api_base_url'],
  ZEROTRAIL_CF_RATE_LIMIT: ['cloudflare', 'rate_limit'],
  ZEROTRAIL_CF_RATE_SHARE: ['cloudflare', 'rate_share'],
  ZEROTRAIL_LOG_LEVEL: ['log', 'level'],
};

const FLAG_DEFAULTS = {
  '--data-dir': `ZEROTRAIL_DATA_DIR, or else ${DEFAULT_DATA_DIR}`,
  '--config': 'ZEROTRAIL_CONFIG, or else config.yaml in the data directory',
} as const;

export interface LoadConfigOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly dataDir?: string | undefined;
  readonly configPath?: string | undefined;
  /** `--database-url`; wins over ZEROTRAIL_DATABASE_URL. */
  readonly databaseUrl?: string | undefined;
  /** Flag values that win over file and env, in file form (`{ collect: { backfill_days: 3 } }`). */
  readonly overrides?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/**
 * Reads the optional config file, applies env then flags, and validates everything at once so the user sees
 * every problem in one message. Order of precedence: flags > env > file > defaults.
 */
export function loadConfig(options: LoadConfigOptions): AppConfig {
  // An empty variable means "unset", but an empty flag is a mistake: resolve('') is the working directory, which
  // would quietly receive the database and the secret key.
  const emptyFlags = (
    [
      ['--data-dir', options.dataDir],
      ['--config', options.configPath],
    ] as const
  )
    .filter(([, value]) => value === '')
    .map(([flag]) => flag);
  const env = withoutEmpty(options.env);
  const flagDataDir = options.dataDir === '' ? undefined : options.dataDir;
  const dataDir = resolve(flagDataDir ?? env['ZEROTRAIL_DATA_DIR'] ?? DEFAULT_DATA_DIR);
  const explicitPath = options.configPath === '' ? undefined : (options.configPath ?? env['ZEROTRAIL_CONFIG']);
  const configPath = explicitPath === undefined ? join(dataDir, 'config.yaml') : resolve(explicitPath);
  // With an empty --data-dir the default directory's file is not the one meant; only its problem is reported.
  const fromFile =
    emptyFlags.length > 0 && explicitPath === undefined
      ? { found: false, content: {} }
      : readConfigFile(configPath, explicitPath !== undefined);

  const merged: Record<string, Record<string, unknown>> = {};
  // Which environment variable set a value, so that a problem with it names the variable a user would look for.
  const fromEnv = new Map<string, string>();
  const put = (section: string, key: string, value: unknown, variable?: string): void => {
    merged[section] = { ...merged[section], [key]: value };
    if (variable === undefined) fromEnv.delete(`${section}.${key}`);
    else fromEnv.set(`${section}.${key}`, variable);
  };
  const fileIssues: z.core.$ZodIssue[] = [];
  for (const [section, values] of Object.entries(fromFile.content)) {
    if (section === 'data_dir') {
      // The file is found in the data directory unless --config names it, so it cannot be what chooses it.
      fileIssues.push({
        code: 'custom',
        path: ['data_dir'],
        message: 'a config file cannot choose the data directory; give it with --data-dir or ZEROTRAIL_DATA_DIR',
        input: values,
      });
      continue;
    }
    if (values !== null && typeof values === 'object' && !Array.isArray(values)) {
      for (const [key, value] of Object.entries(values)) put(section, key, value);
    } else {
      merged[section] = values as Record<string, unknown>;
    }
  }
  for (const [name, value] of Object.entries(env)) {
    const named = NAMED_ENV[name];
    if (named !== undefined) {
      put(named[0], named[1], value, name);
      continue;
    }
    const generic = /^ZEROTRAIL_([A-Z0-9_]+?)__([A-Z0-9_]+)$/.exec(name);
    if (generic?.[1] !== undefined && generic[2] !== undefined && name.startsWith(ENV_PREFIX)) {
      put(generic[1].toLowerCase(), generic[2].toLowerCase(), value, name);
    }
  }
  for (const [section, values] of Object.entries(options.overrides ?? {})) {
    for (const [key, value] of Object.entries(values)) if (value !== undefined) put(section, key, value);
  }

  const result = configFileSchema.safeParse(merged);
  const rawUrl = options.databaseUrl ?? env['ZEROTRAIL_DATABASE_URL'];
  const url = rawUrl === undefined ? undefined : databaseUrlSchema.safeParse(rawUrl);
  if (emptyFlags.length === 0 && fileIssues.length === 0 && result.success && url?.success !== false) {
    return toAppConfig(result.data, dataDir, fromFile.found ? configPath : null, url?.data);
  }

  const issues: z.core.$ZodIssue[] = [
    ...emptyFlags.map((flag) => ({
      code: 'custom' as const,
      path: [flag],
      message: 'is empty; give it a path, or leave the option out',
      input: '',
    })),
    ...fileIssues,
    ...(result.success ? [] : result.error.issues.flatMap((issue) => namingVariables(issue, fromEnv))),
    // The URL may carry a password, so the message names the problem but never repeats the value.
    ...(url?.success === false ? url.error.issues.map((issue) => ({ ...issue, path: ['database_url'] })) : []),
  ];
  const hints = [
    ...emptyFlags.map((flag) => `Leave ${flag} out to use ${FLAG_DEFAULTS[flag]}.`),
    ...(result.success && fileIssues.length === 0
      ? []
      : [
          fromFile.found
            ? `Fix ${configPath} or the ZEROTRAIL_* environment variables named above.`
            : 'Fix the flags or ZEROTRAIL_* environment variables named above.',
        ]),
    ...(url?.success === false
      ? ['Fix --database-url or ZEROTRAIL_DATABASE_URL (leave both unset for the SQLite file in the data directory).']
      : []),
  ];
  throw new ConfigError('CONFIG_INVALID', {
    message: `The configuration is invalid:\n${formatIssues(issues)}`,
    hint: hints.join('\n'),
    details: { problems: issues.map((issue) => issue.path.join('.')) },
  });
}

/**
 * `issue` with the environment variable that set the value named after its message. An unknown key is the
 * section's issue in zod, so each key an environment variable brought gets its own issue naming it: the key alone
 * ("bogus") would send the user looking for a setting in the config file that is not there.
 */
function namingVariables(issue: z.core.$ZodIssue, fromEnv: ReadonlyMap<string, string>): z.core.$ZodIssue[] {
  const setBy = (message: string, variables: readonly string[]): string =>
    variables.length === 0 ? message : `${message} (set by ${variables.join(', ')})`;
  if (issue.code !== 'unrecognized_keys') {
    const variable = fromEnv.get(issue.path.slice(0, 2).join('.'));
    return [variable === undefined ? issue : { ...issue, message: setBy(issue.message, [variable]) }];
  }
  // A key of the root is a whole section (ZEROTRAIL_BOGUS__X sets bogus.x); of a section, one setting.
  const variablesOf = (key: string): string[] => {
    const setting = [...issue.path, key].join('.');
    return [...fromEnv]
      .filter(([path]) => path === setting || path.startsWith(`${setting}.`))
      .map(([, variable]) => variable);
  };
  if (issue.keys.every((key) => variablesOf(key).length === 0)) return [issue];
  return issue.keys.map((key) => ({
    ...issue,
    keys: [key],
    message: setBy(`Unrecognized key: ${JSON.stringify(key)}`, variablesOf(key)),
  }));
}

function readConfigFile(path: string, required: boolean): { found: boolean; content: Record<string, unknown> } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    // A data directory that is missing, not a directory or closed to this user is reported by the data-directory
    // check, not here: the implicit config file in it may not even exist.
    const code = (error as NodeJS.ErrnoException).code;
    if (!required && (code === 'ENOENT' || code === 'ENOTDIR' || (isDenial(code) && !canLookUp(path)))) {
      return { found: false, content: {} };
    }
    throw new ConfigError('CONFIG_INVALID', {
      message: `Cannot read the config file ${path}: ${fileSystemProblem(error)}.`,
      hint: 'Name a config file this user can read with --config or ZEROTRAIL_CONFIG, or leave both unset for config.yaml in the data directory, which may be absent.',
      cause: error,
    });
  }
  let content: unknown;
  try {
    content = parseYaml(text);
  } catch (error) {
    throw new ConfigError('CONFIG_INVALID', {
      message: `The config file ${path} is not valid YAML or JSON: ${(error as Error).message}`,
      hint: 'JSON is valid YAML too; check indentation and quoting near the line named.',
      cause: error,
    });
  }
  if (content === null || content === undefined) return { found: true, content: {} };
  if (typeof content !== 'object' || Array.isArray(content)) {
    throw new ConfigError('CONFIG_INVALID', {
      message: `The config file ${path} must hold a mapping of sections (cloudflare, collect, retention, log).`,
      hint: 'Write each section name at the start of a line, followed by a colon, and its settings indented below it, as README shows.',
    });
  }
  return { found: true, content: content as Record<string, unknown> };
}

function isDenial(code: string | undefined): boolean {
  return code === 'EACCES' || code === 'EPERM';
}

// Whether this user may look `path` up in its directory. When not, a denied read says nothing about the file;
// when so, the file is there and only the file itself is closed to this user, which is the config file's problem.
function canLookUp(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    return !isDenial((error as NodeJS.ErrnoException).code);
  }
}

function withoutEmpty(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== '') result[name] = value;
  return result;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return tightestBounds(issues)
    .map((issue) => `  - ${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('\n');
}

// A whole number past 2^53 breaks both `.int()`'s own bound and the schema's maximum; showing both would give the
// user two different limits for one value. Of the bounds one value broke, only the tightest is kept.
function tightestBounds(issues: readonly z.core.$ZodIssue[]): readonly z.core.$ZodIssue[] {
  const tightest = new Map<string, z.core.$ZodIssue>();
  for (const issue of issues) {
    if (issue.code !== 'too_big' && issue.code !== 'too_small') continue;
    const key = `${issue.code} ${issue.path.join('.')}`;
    const kept = tightest.get(key);
    if (kept === undefined || isTighter(issue, kept)) tightest.set(key, issue);
  }
  return issues.filter(
    (issue) =>
      (issue.code !== 'too_big' && issue.code !== 'too_small') ||
      tightest.get(`${issue.code} ${issue.path.join('.')}`) === issue,
  );
}

function isTighter(issue: z.core.$ZodIssue, than: z.core.$ZodIssue): boolean {
  if (issue.code === 'too_big' && than.code === 'too_big') return Number(issue.maximum) < Number(than.maximum);
  if (issue.code === 'too_small' && than.code === 'too_small') return Number(issue.minimum) > Number(than.minimum);
  return false;
}
