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

  it('maps a scim_updates record to OCSF User Management', () => {
    const result = NORMALIZERS.scim_updates(
      {
        logged_at: '2026-11-20T09:15:02Z',
        request_method: 'DELETE',
        resource_type: 'USER',
        resource_user_email: 'alice@example.com',
        status: 'SUCCESS',
      },
      { sourceName: 'cf-main', accountId: '0123456789abcdef0123456789abcdef', dataset: 'scim_updates' },
    );
    expect(isRejected(result)).toBe(false);
    if (isRejected(result)) return;
    expect(result.classUid).toBe(3007);
    expect(result.activity).toBe('delete');
  });

  it('maps an audit_logs record to OCSF API Activity', () => {
    const result = NORMALIZERS.audit_logs(
      {
        id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
        action: { result: 'success', time: '2026-11-20T09:15:02Z', type: 'view' },
      },
      { sourceName: 'cf-main', accountId: '0123456789abcdef0123456789abcdef', dataset: 'audit_logs' },
    );
    expect(isRejected(result)).toBe(false);
    if (isRejected(result)) return;
    expect(result.classUid).toBe(6003);
    expect(result.activity).toBe('read');
  });

  it('lists only datasets that have a mapper', () => {
    expect(Object.keys(NORMALIZERS)).toEqual(['access_requests', 'scim_updates', 'audit_logs']);
  });
});
