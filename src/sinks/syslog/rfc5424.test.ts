import { describe, expect, it } from 'vitest';
import type { AlertNotice } from '../sink.js';
import { escapeParamValue, formatRfc5424, frameOctetCounted } from './rfc5424.js';

const NOTICE: AlertNotice = {
  seq: 7,
  reason: 'created',
  queuedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
  alert: {
    id: 'al_0123',
    ruleId: 'brute_force',
    title: 'Brute force',
    severity: 'high',
    technique: 'T1110',
    entity: { user: 'ali"ce]\\@example.com', ip: '192.0.2.7', app: null },
    summary: 'alice@example.com was denied 14 times from 192.0.2.7 (Zürich) in 6 minutes',
    firstEventTime: Date.UTC(2026, 0, 2, 3, 0, 0),
    lastEventTime: Date.UTC(2026, 0, 2, 3, 6, 0),
    count: 14,
    status: 'open',
    link: '/alerts/al_0123',
  },
};

const OPTIONS = {
  facility: 16,
  hostname: 'collector-1',
  procId: '4242',
  sdId: 'zerotrail@32473',
  now: Date.UTC(2026, 0, 2, 3, 7, 0, 120),
};

describe('RFC 5424 formatting', () => {
  it('writes PRI from facility and severity, the version, timestamp, hostname, app-name, procid and msgid', () => {
    const message = formatRfc5424(NOTICE, OPTIONS);
    // local0 (16) * 8 + error (3) = 131
    expect(message.startsWith('<131>1 2026-01-02T03:07:00.120Z collector-1 zerotrail 4242 alert-created [')).toBe(true);
    expect(
      formatRfc5424({ ...NOTICE, alert: { ...NOTICE.alert, severity: 'critical' } }, { ...OPTIONS, facility: 13 }),
    ).toMatch(/^<106>1 /);
    expect(formatRfc5424({ ...NOTICE, alert: { ...NOTICE.alert, severity: 'low' } }, OPTIONS)).toMatch(/^<133>1 /);
  });

  it('escapes ", \\ and ] inside parameter values and leaves out unknown entity parts', () => {
    expect(escapeParamValue('a"b\\c]d')).toBe('a\\"b\\\\c\\]d');
    const message = formatRfc5424(NOTICE, OPTIONS);
    expect(message).toContain(' user="ali\\"ce\\]\\\\@example.com"');
    expect(message).toContain('[zerotrail@32473 id="al_0123" reason="created" rule="brute_force" severity="high"');
    expect(message).toContain(' count="14" first="2026-01-02T03:00:00.000Z" last="2026-01-02T03:06:00.000Z"');
    expect(message).not.toContain(' app="');
  });

  it('writes control characters from event values as \\uXXXX, so no line break or bidi override gets through', () => {
    // A rule title and an entity an attacker shaped: a forged second syslog line, NUL, a terminal escape, a Unicode
    // line separator and a right-to-left override.
    const hostile: AlertNotice = {
      ...NOTICE,
      alert: {
        ...NOTICE.alert,
        title: 'Hostile\r\n<13>1 2020-01-01T00:00:00Z fake zerotrail - - - INJECTED\u0000\u001b[31m\u2028end',
        summary: 'user \u202Egnp.exe\u0085 \\u000a ok',
        entity: { user: 'eve\n<13>1 forged\u202E', ip: '192.0.2.7', app: 'tab\there\u007f' },
      },
    };
    const message = formatRfc5424(hostile, OPTIONS);
    expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    expect(message).toContain(
      '\u{FEFF}Hostile\\u000d\\u000a<13>1 2020-01-01T00:00:00Z fake zerotrail - - - INJECTED\\u0000\\u001b[31m\\u2028end: ' +
        'user \\u202egnp.exe\\u0085 \\u000a ok',
    );
    // In structured data a backslash of the value itself is doubled, so it never reads as one of these escapes.
    expect(message).toContain(' user="eve\\u000a<13>1 forged\\u202e"');
    expect(message).toContain(' app="tab\\u0009here\\u007f"');
    expect(escapeParamValue('a\\u000a')).toBe('a\\\\u000a');
    // One message, still valid UTF-8, still one octet-counted frame.
    const body = Buffer.from(message, 'utf8');
    expect(body.toString('utf8')).toBe(message);
    expect(frameOctetCounted(message).toString('utf8')).toBe(`${body.length} ${message}`);
  });

  it('marks the UTF-8 message with a BOM after the structured data', () => {
    const message = formatRfc5424(NOTICE, OPTIONS);
    expect(message).toContain(
      ' seq="7"] \u{FEFF}Brute force: alice@example.com was denied 14 times from 192.0.2.7 (Zürich)',
    );
  });

  it('replaces header fields that are not printable ASCII with what the grammar allows', () => {
    expect(formatRfc5424(NOTICE, { ...OPTIONS, hostname: 'hôte local' })).toContain(' htelocal zerotrail ');
    expect(formatRfc5424(NOTICE, { ...OPTIONS, hostname: '   ' })).toContain('Z - zerotrail ');
  });

  it('frames by octet count: the byte length, not the character count', () => {
    const frame = frameOctetCounted('<131>1 é');
    expect(frame.toString('utf8')).toBe('9 <131>1 é');
    const message = formatRfc5424(NOTICE, OPTIONS);
    const framed = frameOctetCounted(message).toString('utf8');
    const space = framed.indexOf(' ');
    expect(Number(framed.slice(0, space))).toBe(Buffer.byteLength(message, 'utf8'));
    expect(Buffer.byteLength(message, 'utf8')).toBeGreaterThan(message.length);
  });
});
