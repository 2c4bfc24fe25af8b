import { z } from 'zod';

/** What the detection thread is started with: where the store is, the rule files' folder and the log level. */
export const detectionWorkerDataSchema = z.object({
  dataDir: z.string(),
  databasePath: z.string(),
  databaseUrl: z.string().optional(),
  logLevel: z.string(),
});
export type DetectionWorkerData = z.infer<typeof detectionWorkerDataSchema>;

const sharedSectionSchema = z.object({
  bytes: z.instanceof(SharedArrayBuffer),
  loadedPages: z.instanceof(SharedArrayBuffer),
});

/** The starting data as the thread receives it: with the host's IP dataset sections, shared rather than copied. */
export const detectionWorkerStartSchema = detectionWorkerDataSchema.extend({
  geolocation: z.object({ ipv4: sharedSectionSchema.optional(), ipv6: sharedSectionSchema.optional() }),
});

/** From the host to the thread. */
export const hostMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('notify') }),
  z.object({ type: z.literal('catch-up'), id: z.number().int() }),
  z.object({ type: z.literal('close') }),
]);
export type HostMessage = z.infer<typeof hostMessageSchema>;

const catchUpResultSchema = z.object({ events: z.number(), created: z.number(), updated: z.number() });

/** From the thread to the host. */
export const workerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('failed'), error: z.string() }),
  z.object({ type: z.literal('alerts'), created: z.number(), updated: z.number() }),
  z.object({
    type: z.literal('caught-up'),
    id: z.number().int(),
    result: catchUpResultSchema.optional(),
    error: z.string().optional(),
  }),
  z.object({ type: z.literal('metric'), name: z.string(), labels: z.record(z.string(), z.string()), by: z.number() }),
  z.object({ type: z.literal('log'), line: z.string() }),
  z.object({ type: z.literal('closed'), error: z.string().optional() }),
]);
export type WorkerMessage = z.infer<typeof workerMessageSchema>;
