import type { AlertNotice } from '../sink.js';

/** The JSON body of a `json` webhook: one alert, its fields named as in the alerts API. */
export function alertJsonPayload(notice: AlertNotice): Record<string, unknown> {
  const alert = notice.alert;
  return {
    type: `alert.${notice.reason}`,
    seq: notice.seq,
    alert: {
      id: alert.id,
      rule_id: alert.ruleId,
      title: alert.title,
      severity: alert.severity,
      technique: alert.technique,
      entity: alert.entity,
      summary: alert.summary,
      first_event_time: new Date(alert.firstEventTime).toISOString(),
      last_event_time: new Date(alert.lastEventTime).toISOString(),
      count: alert.count,
      status: alert.status,
      link: alert.link,
    },
  };
}

const REASON_WORDS = { created: 'New alert', escalated: 'Alert escalated', grew: 'Alert growing' } as const;

/**
 * A Slack-compatible message: `text` for notifications and clients without blocks, `blocks` for the rest.
 * Slack reads `&`, `<` and `>` as markup, so values from events are escaped
 * (https://api.slack.com/reference/surfaces/formatting#escaping).
 */
export function alertSlackPayload(notice: AlertNotice): Record<string, unknown> {
  const alert = notice.alert;
  const head = `${REASON_WORDS[notice.reason]} [${alert.severity}] ${alert.title}`;
  const fields = [
    `*Rule:* ${alert.ruleId}`,
    `*Technique:* ${alert.technique}`,
    `*Count:* ${alert.count}`,
    `*Last event:* ${new Date(alert.lastEventTime).toISOString()}`,
  ];
  return {
    text: slackEscape(`${head}: ${alert.summary}`),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${slackEscape(head)}*\n${slackEscape(alert.summary)}` } },
      { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text: slackEscape(text) })) },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `${slackEscape(alert.id)} · ${slackEscape(alert.link)}` }],
      },
    ],
  };
}

function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
