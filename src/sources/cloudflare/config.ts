import { z } from 'zod';
import { ConfigError, SourceError } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import { CLOUDFLARE_DATASET_IDS } from './datasets/catalogue.js';

/** The Account ID Cloudflare shows in the dashboard URL: 32 lower- or upper-case hex characters. */
export const ACCOUNT_ID_PATTERN = /^[0-9a-fA-F]{32}$/;

const ACCOUNT_ID_MESSAGE =
  'The Account ID must be 32 hexadecimal characters: copy it from the dashboard URL (dash.cloudflare.com/<account id>/...).';

/** Config of one Cloudflare Zero Trust data source, already in camelCase. A token string is wrapped in a `Secret`. */
export const cloudflareConfigSchema = z
  .object({
    name: z.string().min(1),
    accountId: z.string().trim().regex(ACCOUNT_ID_PATTERN, ACCOUNT_ID_MESSAGE),
    token: z.union([
      z.instanceof(Secret),
      z
        .string()
        .trim()
        .min(1)
        .transform((value) => new Secret(value)),
    ]),
    // The public API; the simulator or a proxy replaces it, and a path prefix such as /client/v4 is kept.
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.cloudflare.com/client/v4'),
    // The largest page keeps requests per 1,000 events near 1; the API documents no bigger page.
    pageSize: z.number().int().min(1).max(1000).default(1000),
    // Access events can appear in the API minutes after their created_at, so each pull rereads this much.
    lookbackMs: z.number().int().min(0).default(300_000),
    // Long enough for a slow 1000-event page, short enough to notice a hung connection.
    timeoutMs: z.number().int().min(1).default(30_000),
    // Cloudflare's documented global limit per token (API-NOTES §3).
    rateLimit: z
      .object({ requests: z.number().int().min(1), windowSecs: z.number().int().min(1) })
      .default({ requests: 1200, windowSecs: 300 }),
    // Half the budget leaves room for the customer's dashboard and other tools on the same token.
    rateShare: z.number().gt(0).lte(1).default(0.5),
    // Which datasets to build; absent means all of them, so a new dataset is collected without a config change.
    datasets: z
      .array(z.enum(CLOUDFLARE_DATASET_IDS))
      .min(1)
      .refine((ids) => new Set(ids).size === ids.length, 'lists a dataset twice')
      .optional(),
  })
  .strict();

export type CloudflareConfig = z.output<typeof cloudflareConfigSchema>;
export type CloudflareConfigInput = z.input<typeof cloudflareConfigSchema>;

/**
 * Parses a source config and reports every problem at once. A bad Account ID alone raises
 * `SOURCE_ACCOUNT_ID_INVALID`; anything else raises `CONFIG_INVALID` listing each problem with its path.
 */
export function parseCloudflareConfig(input: unknown): CloudflareConfig {
  const parsed = cloudflareConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`,
  );
  if (parsed.error.issues.every((issue) => issue.path[0] === 'accountId')) {
    throw new SourceError('SOURCE_ACCOUNT_ID_INVALID', { message: ACCOUNT_ID_MESSAGE, details: { problems } });
  }
  throw new ConfigError('CONFIG_INVALID', {
    message: `The Cloudflare source config is invalid: ${problems.join('; ')}`,
    details: { problems },
  });
}
