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
});
