import { z } from 'zod';
import type { ApiClient } from '../api-client.js';

// GET /api/notify/status through the app's ApiClient, so it shares its error wording and its sign-out on an
// ended session.

const targetSchema = z.object({
  target: z.string(),
  type: z.string(),
  configured: z.boolean(),
  minSeverity: z.string().nullable(),
  // Kept as text: a state added by a newer server is shown as it is named rather than failing the view.
  state: z.string(),
  queued: z.number(),
  oldestQueuedAt: z.string().nullable(),
  delivered: z.number(),
  refused: z.number(),
  retries: z.number(),
  attempt: z.number(),
  lastSuccessAt: z.string().nullable(),
  lastError: z.object({ code: z.string(), message: z.string(), at: z.string().nullable() }).nullable(),
  nextAttemptAt: z.string().nullable(),
  reportedBy: z.string().nullable(),
  updatedAt: z.string().nullable(),
});
export type NotifyTarget = z.infer<typeof targetSchema>;

/** Each notification target's state, queue and outcomes (admins and analysts). */
export async function fetchNotifyStatus(api: ApiClient): Promise<readonly NotifyTarget[]> {
  return (await api.request('GET', '/api/notify/status', z.object({ targets: z.array(targetSchema) }))).targets;
}
