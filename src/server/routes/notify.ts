import { openNotifyQueue } from '../../app.js';
import { notifyTargetViews, type NotifyTargetView } from '../../pipeline/notify-status.js';
import { defineRoute } from './route.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function describeTarget(view: NotifyTargetView): Record<string, unknown> {
  return {
    ...view,
    oldestQueuedAt: iso(view.oldestQueuedAt),
    lastSuccessAt: iso(view.lastSuccessAt),
    lastError: view.lastError === null ? null : { ...view.lastError, at: iso(view.lastError.at) },
    nextAttemptAt: iso(view.nextAttemptAt),
    updatedAt: iso(view.updatedAt),
  };
}

export const NOTIFY_STATUS_ROUTE = defineRoute({
  method: 'GET',
  url: '/api/notify/status',
  summary:
    'Each alert notification target: its state, queued notices, deliveries, last success, last error and retries (never its configuration or secret)',
  // Error messages name the receiving hosts; the analysts who act on alerts need to know whether they arrive.
  access: ['admin', 'analyst'],
  handler: async ({ services }) => {
    const { app } = services;
    // The queue is opened per request: the status is read rarely, and the server may run no forwarder itself.
    const queue = await openNotifyQueue(app);
    try {
      return { targets: (await notifyTargetViews(queue, app.config.notify.targets)).map(describeTarget) };
    } finally {
      await queue.close();
    }
  },
});
