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
  return `${header} ${sd} ${BOM}${escapeControls(`${alert.title}: ${alert.summary}`)}`;
}

/** RFC 6587 §3.4.1 octet counting: the message's length in bytes, a space, then the message. */
export function frameOctetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

// C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidirectional marks, embeddings,
// overrides and isolates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
// The same characters, and the three that §6.3.3 escapes with a backslash.
const PARAM_ESCAPED = /["\\\]\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * §6.3.3: inside a PARAM-VALUE, `"`, `\` and `]` are escaped with a backslash. Control characters are written as
 * `\uXXXX` (see escapeControls); a backslash from the value itself is doubled, so the two never read alike.
 */
export function escapeParamValue(value: string): string {
  return value.replace(PARAM_ESCAPED, (char) =>
    char === '"' || char === '\\' || char === ']' ? `\\${char}` : unicodeEscape(char),
  );
}

// Alert titles, summaries and entities come from event fields an attacker can choose (a user name, an app name).
// Raw, a line break would let a relay that frames by newline (RFC 6587 §3.4.2) or a log file show the rest as a
// second, forged message; NUL ends strings in C parsers, ESC drives terminals, and bidirectional overrides (U+202E)
// reorder what an analyst reads. Such characters are written as `\uXXXX` instead: the text stays valid UTF-8 and
// still says what was there.
function escapeControls(text: string): string {
  return text.replace(UNSAFE, unicodeEscape);
}

function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

// Header fields are printable US-ASCII without spaces (§6.2); anything else would break the parser on the other end.
function headerField(value: string, maxLength: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '').slice(0, maxLength);
  return clean === '' ? NILVALUE : clean;
}
