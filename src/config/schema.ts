import { z } from 'zod';
import type { NotifyTargetConfig } from '../sinks/sink.js';
import { syslogTargetSchema } from '../sinks/syslog/config.js';
import { webhookTargetSchema } from '../sinks/webhook/config.js';
import { httpUrlOrIssue } from '../core/http-url.js';
import { numberSetting } from '../core/number-setting.js';
import { rateShareProblem } from './rate-share.js';

/** The settings the rate-share check reads; it runs only when both parsed. */
const RATE_KEYS: ReadonlySet<PropertyKey | undefined> = new Set(['rate_limit', 'rate_share']);

/** `1200/300` → 1200 requests per 300 seconds. */
const RATE_LIMIT_PATTERN = /^\s*(\d+)\s*\/\s*(\d+)\s*$/;
const MAX_RATE_WINDOW_SECS = 86_400;
const MAX_RATE_REQUESTS = 1_000_000_000;

const rateLimitSchema = z
  .string()
  .regex(RATE_LIMIT_PATTERN, 'expected REQUESTS/SECONDS, for example 1200/300')
  .transform((text) => {
    const [, requests, windowSecs] = RATE_LIMIT_PATTERN.exec(text) ?? [];
    return { requests: Number(requests), windowSecs: Number(windowSecs) };
  })
  .refine((limit) => limit.requests > 0 && limit.windowSecs > 0, 'both numbers must be greater than 0')
  // Cloudflare counts over minutes: a window past a day, or a billion requests in one, is a typo.
  .refine(
    (limit) => limit.windowSecs <= MAX_RATE_WINDOW_SECS,
    `the window (after the /) is at most ${MAX_RATE_WINDOW_SECS} seconds, a day; Cloudflare's is 300`,
  )
  .refine(
    (limit) => limit.requests <= MAX_RATE_REQUESTS,
    `at most ${MAX_RATE_REQUESTS.toLocaleString('en-US')} requests per window`,
  );

/**
 * An http or https URL without credentials, query or fragment. A user name or password in it would be sent to every
 * host and printed with every network error; the URL itself is never repeated in the message for the same reason.
 * Paths are appended to these URLs, which a query or fragment would swallow (a request to the Cloudflare API then
 * reaches no route and reads as a wrong Account ID).
 */
const httpUrlSchema = z.string().superRefine((text, ctx) => {
  const url = httpUrlOrIssue(text, ctx, 'https://example.com/path');
  if (url === undefined) return;
  if (url.username !== '' || url.password !== '') {
    ctx.addIssue({
      code: 'custom',
      message: 'a user name or password in the URL (user:password@host) is not allowed; remove it',
    });
  }
  // The serialised URL writes `?` and `#` only as delimiters, even an empty query or fragment's.
  const [beforeFragment = ''] = url.href.split('#', 1);
  if (beforeFragment.includes('?')) {
    ctx.addIssue({
      code: 'custom',
      message: 'a query string (from "?" on) is not allowed, as paths are added to the end of this URL; remove it',
    });
  }
  if (url.href.includes('#')) {
    ctx.addIssue({
      code: 'custom',
      message: 'a fragment (from "#" on) is not allowed, as paths are added to the end of this URL; remove it',
    });
  }
});

/**
 * The file and environment configuration, in snake_case as users write it. Every default carries its reason.
 * Data sources are not here: they live in the store, added with `zerotrail source add`.
 */
export const configFileSchema = z
  .object({
    cloudflare: z
      .object({
        // The public API; the simulator or a proxy replaces it through CLOUDFLARE_API_BASE_URL.
        api_base_url: httpUrlSchema.default('https://api.cloudflare.com/client/v4'),
        // Cloudflare's documented global limit per token; raise it for accounts with a higher limit.
        rate_limit: rateLimitSchema.default({ requests: 1200, windowSecs: 300 }),
        // Half the budget leaves room for the customer's other tools on the same token.
        rate_share: numberSetting((n) => n.gt(0).lte(1)).default(0.5),
        // The largest page keeps requests per 1,000 events near 1.
        page_size: numberSetting((n) => n.int().min(1).max(1000)).default(1000),
        // Access events can appear in the API minutes after their created_at.
        lookback_secs: numberSetting((n) => n.int().min(0).max(86_400)).default(300),
        // Long enough for a slow 1000-event page, short enough to notice a hung connection.
        timeout_ms: numberSetting((n) => n.int().min(1000).max(600_000)).default(30_000),
      })
      .strict()
      .superRefine(
        (cloudflare, ctx) => {
          const problem = rateShareProblem(cloudflare.rate_share, cloudflare.rate_limit);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['rate_share'], message: problem });
        },
        {
          // A failed check on either value does not abort the object, so by default this runs on what failed: the
          // text of a limit that did not parse, or a limit or share of 0, would add a second, nonsense problem, and
          // a negative share would never end rateShareShortfall's search for a working limit. An issue without a
          // path is the object's own; of those, only an unknown key (continuable) leaves both values fit to check.
          when: (payload) =>
            payload.issues.every((issue) =>
              issue.path === undefined ? issue.continue === true : !RATE_KEYS.has(issue.path[0]),
            ),
        },
      )
      .default({
        api_base_url: 'https://api.cloudflare.com/client/v4',
        rate_limit: { requests: 1200, windowSecs: 300 },
        rate_share: 0.5,
        page_size: 1000,
        lookback_secs: 300,
        timeout_ms: 30_000,
      }),
    collect: z
      .object({
        // New events reach the store within about half a minute, well inside the rate budget.
        interval_secs: numberSetting((n) => n.int().min(1).max(86_400)).default(30),
        // A week of history gives an analyst context from the first minute. No upper bound here: `collect` caps
        // any longer backfill, from whichever setting, to what Cloudflare keeps, and says so.
        backfill_days: numberSetting((n) =>
          n.min(0).refine(Number.isInteger, 'expected a whole number of days'),
        ).default(7),
        // Configuration changes surface within a quarter hour for a handful of requests per snapshot.
        inventory_interval_secs: numberSetting((n) => n.int().min(60).max(86_400)).default(900),
        // While following, a dataset that failed for good (a revoked token, a wrong Account ID) is tried again this
        // often, one request per dataset: a fixed token or account is picked up without a restart.
        failed_recheck_secs: numberSetting((n) => n.int().min(1).max(86_400)).default(600),
        // A dead node's datasets move to another node after this; renewed every third of it, so a brief stall
        // of the database or the process does not hand them over.
        lease_ttl_secs: numberSetting((n) => n.int().min(3).max(3_600)).default(30),
        // Names this node in its lease ids (the machine's host name unless set, e.g. a pod name); nodes with the
        // same name are one machine, where a crashed process's leases are taken over at once.
        node_name: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'expected letters, digits, dots, dashes or underscores')
          .optional(),
      })
      .strict()
      .default({
        interval_secs: 30,
        backfill_days: 7,
        inventory_interval_secs: 900,
        failed_recheck_secs: 600,
        lease_ttl_secs: 30,
      }),
    retention: z
      .object({
        // A year covers most audit and incident-response requirements.
        max_age_days: numberSetting((n) => n.int().min(1).max(36_500)).default(365),
      })
      .strict()
      .default({ max_age_days: 365 }),
    notify: z
      .object({
        // Without it, notices carry the alert's path in the web UI; set it to the address analysts open.
        link_base_url: httpUrlSchema.optional(),
        // No target until the operator names one: nothing leaves the machine unasked.
        targets: z
          .array(z.discriminatedUnion('type', [webhookTargetSchema, syslogTargetSchema]))
          .default([])
          .refine(
            (targets) => new Set(targets.map((target) => target.name)).size === targets.length,
            'each target needs its own name',
          ),
      })
      .strict()
      .default({ targets: [] }),
    log: z
      .object({
        // Commands print their own progress; problems still show. Use info for lifecycle logs in a service.
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
      })
      .strict()
      .default({ level: 'warn' }),
  })
  .strict();

export type ConfigFile = z.input<typeof configFileSchema>;

/** The validated, camelCase configuration every component receives. Frozen after load. */
export interface AppConfig {
  readonly dataDir: string;
  readonly configFile: string | null;
  /** A PostgreSQL database (`postgres://…`) in place of the SQLite file in the data directory. */
  readonly databaseUrl?: string;
  readonly cloudflare: {
    readonly apiBaseUrl: string;
    readonly rateLimit: { readonly requests: number; readonly windowSecs: number };
    readonly rateShare: number;
    readonly pageSize: number;
    readonly lookbackSecs: number;
    readonly timeoutMs: number;
  };
  readonly collect: {
    readonly intervalSecs: number;
    readonly backfillDays: number;
    readonly inventoryIntervalSecs: number;
    readonly failedRecheckSecs: number;
    readonly leaseTtlSecs: number;
    readonly nodeName?: string;
  };
  readonly retention: { readonly maxAgeDays: number };
  readonly log: { readonly level: string };
  readonly notify: { readonly linkBaseUrl?: string; readonly targets: readonly NotifyTargetConfig[] };
}

/** `--database-url` / ZEROTRAIL_DATABASE_URL: only PostgreSQL URLs; SQLite needs none. */
export const databaseUrlSchema = z
  .string()
  .regex(/^postgres(ql)?:\/\/\S+$/, 'expected a PostgreSQL URL, for example postgres://user@host:5432/zerotrail');

export function toAppConfig(
  parsed: z.output<typeof configFileSchema>,
  dataDir: string,
  configFile: string | null,
  databaseUrl?: string,
): AppConfig {
  return deepFreeze({
    dataDir,
    configFile,
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    cloudflare: {
      apiBaseUrl: parsed.cloudflare.api_base_url,
      rateLimit: parsed.cloudflare.rate_limit,
      rateShare: parsed.cloudflare.rate_share,
      pageSize: parsed.cloudflare.page_size,
      lookbackSecs: parsed.cloudflare.lookback_secs,
      timeoutMs: parsed.cloudflare.timeout_ms,
    },
    collect: {
      intervalSecs: parsed.collect.interval_secs,
      backfillDays: parsed.collect.backfill_days,
      inventoryIntervalSecs: parsed.collect.inventory_interval_secs,
      failedRecheckSecs: parsed.collect.failed_recheck_secs,
      leaseTtlSecs: parsed.collect.lease_ttl_secs,
      ...(parsed.collect.node_name === undefined ? {} : { nodeName: parsed.collect.node_name }),
    },
    retention: { maxAgeDays: parsed.retention.max_age_days },
    log: { level: parsed.log.level },
    notify: {
      ...(parsed.notify.link_base_url === undefined ? {} : { linkBaseUrl: parsed.notify.link_base_url }),
      targets: parsed.notify.targets,
    },
  });
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child !== null && typeof child === 'object') deepFreeze(child as object);
  }
  return Object.freeze(value);
}
