import { describe, expect, it } from 'vitest';
import { deniedAccess } from '../../test/helpers/events.js';
import { csvHeader, eventsToCsvRows } from './event-export.js';

describe('CSV export', () => {
  it('keeps the class and the OCSF message, the only description of a change, SCIM or audit event', () => {
    const change = deniedAccess(
      {
        time: Date.parse('2026-11-25T10:00:00Z'),
        dataset: 'inventory_changes',
        classUid: 5019,
        ocsf: { message: 'Device "dana-ios" revoked: active_registrations 1 → 0, =cmd' },
      },
      1,
    );
    const header = csvHeader().trimEnd().split(',');
    expect(eventsToCsvRows([change])).toBe(
      `${change.id},2026-11-25T10:00:00.000Z,failure,alice@example.com,203.0.113.7,ru,wiki.example.com,okta,logon,,cf,` +
        `0123456789abcdef0123456789abcdef,inventory_changes,app-1,5019,` +
        '"Device ""dana-ios"" revoked: active_registrations 1 → 0, =cmd"\n',
    );
    // Columns are only ever added at the end: scripts read them by position.
    expect(header).toEqual([
      'id',
      'time',
      'outcome',
      'user',
      'src_ip',
      'country',
      'app',
      'idp',
      'activity',
      'ray_id',
      'source',
      'account_id',
      'dataset',
      'app_uid',
      'class_uid',
      'message',
    ]);
  });

  it('neutralises a message a spreadsheet would run as a formula', () => {
    const event = deniedAccess({ time: 0, ocsf: { message: '=HYPERLINK("http://203.0.113.9")' } }, 1);
    expect(eventsToCsvRows([event]).trimEnd().endsWith(',"\'=HYPERLINK(""http://203.0.113.9"")"')).toBe(true);
  });

  it('escapes controls, line breaks and bidi characters, so a row is one line that cannot drive a terminal', () => {
    const event = deniedAccess(
      { time: 0, user: 'evil\u001b]0;PWNED\u0007\u0000\u009b2J\u202eabc\r\nfake,row', app: '\u200b=cmd' },
      1,
    );
    const row = eventsToCsvRows([event]);
    expect(row).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b\u202e]/);
    expect(row.trimEnd().split('\n')).toHaveLength(1);
    expect(row).toContain('"evil\\u001b]0;PWNED\\u0007\\u0000\\u009b2J\\u202eabc\\u000d\\u000afake,row"');
    // Escaped first, so an invisible character cannot hide a formula from the check.
    expect(row).toContain(',\\u200b=cmd,');
    expect(eventsToCsvRows([deniedAccess({ time: 0, app: '\t=cmd' }, 1)])).toContain(',\\u0009=cmd,');
  });
});
