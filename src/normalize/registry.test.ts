import { describe, expect, it } from 'vitest';
import { isRejected } from '../core/event.js';
import { NORMALIZERS } from './registry.js';

describe('NORMALIZERS', () => {
  it('maps an access_requests record to OCSF Authentication', () => {
    const result = NORMALIZERS.access_requests(
      { action: 'logout', allowed: true, created_at: '2026-11-20T09:15:02Z', user_email: 'alice@example.com' },
      { sourceName: 'cf-main', accountId: '0123456789abcdef0123456789abcdef', dataset: 'access_requests' },
    );
    expect(isRejected(result)).toBe(false);
    if (isRejected(result)) return;
    expect(result.classUid).toBe(3002);
    expect(result.activity).toBe('logoff');
    expect(result.ocsf['metadata']).toMatchObject({ version: '1.9.0' });
  });

  it('lists only datasets that have a mapper', () => {
    expect(Object.keys(NORMALIZERS)).toEqual(['access_requests']);
  });
});
