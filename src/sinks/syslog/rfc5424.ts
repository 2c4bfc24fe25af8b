import type { Severity } from '../../store/detection-store.js';
import type { AlertNotice } from '../sink.js';

/** RFC 5424 §6.2.1 severities for alert severities: critical → 2 (critical), high → 3 (error), and so on. */
export const SYSLOG_SEVERITY: Readonly<Record<Severity, number>> = { critical: 2, high: 3, medium: 4, low: 5 };

const BOM = '\u{FEFF}';
const NILVALUE = '-';

export interface Rfc5424Options {
  readonly facility: number;
  readonly hostname: string;
  readonly procId: string;
  readonly sdId: string;
  readonly now: number;
}

/**
 * One alert notice as an RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME zerotrail PROCID MSGID [SD] BOM MSG`.
 * The structured data carries the alert's fields; MSG is its human summary in UTF-8, marked by a BOM as §6.4
 * requires for UTF-8 text.
 */
export function formatRfc5424(notice: AlertNotice, options: Rfc5424Options): string {
  const alert = notice.alert;
  const pri = options.facility * 8 + SYSLOG_SEVERITY[alert.severity];
  const params: [string, string | number | null][] = [
    ['id', alert.id],
    ['reason', notice.reason],
    ['rule', alert.ruleId],
    ['severity', alert.severity],
    ['technique', alert.technique],
    ['user', alert.entity.user],
    ['ip', alert.entity.ip],
    ['app', alert.entity.app],
    ['count', alert.count],
    ['first', new Date(alert.firstEventTime).toISOString()],
    ['last', new Date(alert.lastEventTime).toISOString()],
    ['status', alert.status],
    ['link', alert.link],
    ['seq', notice.seq],
  ];
  const sd = `[${options.sdId}${params
    .filter((param): param is [string, string | number] => param[1] !== null)
    .map(([name, value]) => ` ${name}="${escapeParamValue(String(value))}"`)
    .join('')}]`;
  const header = [
    `<${pri}>1`,
    new Date(options.now).toISOString(),
    headerField(options.hostname, 255),
    'zerotrail',
    headerField(options.procId, 128),
    `alert-${notice.reason}`,
  ].join(' ');
  return `${header} ${sd} ${BOM}${alert.title}: ${alert.summary}`;
}

/** RFC 6587 §3.4.1 octet counting: the message's length in bytes, a space, then the message. */
export function frameOctetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/** §6.3.3: inside a PARAM-VALUE, `"`, `\` and `]` are escaped with a backslash. */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (char) => `\\${char}`);
}

// Header fields are printable US-ASCII without spaces (§6.2); anything else would break the parser on the other end.
function headerField(value: string, maxLength: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '').slice(0, maxLength);
  return clean === '' ? NILVALUE : clean;
}
