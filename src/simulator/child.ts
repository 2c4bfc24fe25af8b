import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { startSimulator } from './simulator.js';

// Runs the simulator in its own process (benchmarks keep its CPU apart from the collector's). Options arrive as
// JSON in ZEROTRAIL_SIMULATOR_OPTIONS; the clock is the system clock. One JSON line on stdout says where it listens.

const trigger = {
  routes: z.array(z.string()).optional(),
  everyNth: z.number().int().positive().optional(),
  probability: z.number().min(0).max(1).optional(),
  maxTimes: z.number().int().nonnegative().optional(),
};

const optionsSchema = z.strictObject({
  host: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  pathPrefix: z.string().optional(),
  seed: z.number().int().optional(),
  accountId: z.string().optional(),
  tokens: z
    .array(
      z.strictObject({
        value: z.string().min(1),
        name: z.string().optional(),
        status: z.enum(['active', 'disabled', 'expired']).optional(),
        permissions: z.array(z.string()).optional(),
        accountIds: z.array(z.string()).optional(),
        expiresOn: z.string().optional(),
      }),
    )
    .optional(),
  traffic: z
    .discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('organic'),
        eventsPerDay: z.number().positive().optional(),
        historyDays: z.number().nonnegative().optional(),
      }),
      z.strictObject({
        kind: z.literal('fixed'),
        fromMs: z.number(),
        toMs: z.number(),
        count: z.number().int().nonnegative(),
      }),
    ])
    .optional(),
  adminTraffic: z
    .strictObject({
      historyDays: z.number().nonnegative().optional(),
      scimUpdatesPerDay: z.number().nonnegative().optional(),
      auditEntriesPerDay: z.number().nonnegative().optional(),
    })
    .optional(),
  inventoryChanges: z.boolean().optional(),
  maxPageSize: z.number().int().positive().optional(),
  requestLogSize: z.number().int().positive().optional(),
  rateLimit: z.strictObject({ requests: z.number().int().positive(), windowSecs: z.number().positive() }).optional(),
  faults: z
    .strictObject({
      rateLimit: z.strictObject({ ...trigger, retryAfterSecs: z.number().int().nonnegative().optional() }).optional(),
      serverError: z
        .strictObject({ ...trigger, statuses: z.array(z.number().int().min(500).max(599)).optional() })
        .optional(),
      connectionReset: z.strictObject(trigger).optional(),
      slow: z.strictObject({ ...trigger, delayMs: z.number().nonnegative() }).optional(),
      truncatedJson: z.strictObject(trigger).optional(),
      lateEvents: z.strictObject({ fraction: z.number().min(0).max(1), delayMs: z.number().nonnegative() }).optional(),
      bursts: z.array(z.strictObject({ atMs: z.number(), count: z.number().int().nonnegative() })).optional(),
      hostileValues: z.strictObject({ fraction: z.number().min(0).max(1) }).optional(),
      timestampOffsets: z.boolean().optional(),
    })
    .optional(),
});

/** Parses the options JSON the parent passes; throws with every problem listed. */
export function parseChildOptions(raw: string | undefined): z.infer<typeof optionsSchema> {
  const json: unknown = raw === undefined || raw.trim() === '' ? {} : JSON.parse(raw);
  const parsed = optionsSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `ZEROTRAIL_SIMULATOR_OPTIONS is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

async function main(): Promise<void> {
  const simulator = await startSimulator(parseChildOptions(process.env['ZEROTRAIL_SIMULATOR_OPTIONS']));
  process.stdout.write(
    `${JSON.stringify({ baseUrl: simulator.baseUrl, token: simulator.token, accountId: simulator.accountId })}\n`,
  );
  // The closing line tells a benchmark how many requests the run cost.
  const shutdown = (): void => {
    process.stdout.write(`${JSON.stringify({ stats: simulator.stats })}\n`);
    void simulator.stop();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

// Only run when executed as a script, so tests can import parseChildOptions.
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
