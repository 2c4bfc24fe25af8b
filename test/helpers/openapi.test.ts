import { describe, expect, it } from 'vitest';
import { validateRequest, validateResponse } from './openapi.js';

const ACCOUNT = '0123456789abcdef0123456789abcdef';
const LOGS = `/client/v4/accounts/${ACCOUNT}/access/logs/access_requests`;

describe('validateRequest', () => {
  it('accepts a request with documented parameters', () => {
    expect(
      validateRequest(
        'GET',
        `${LOGS}?limit=1000&direction=asc&since=2026-01-01T00:00:00Z&page=2&per_page=100&emailOp=eq`,
      ),
    ).toEqual([]);
    expect(validateRequest('GET', `http://127.0.0.1:9/client/v4/accounts/${ACCOUNT}/tokens/verify`)).toEqual([]);
    expect(validateRequest('GET', '/user/tokens/verify')).toEqual([]);
  });

  it('reports unknown paths, unknown parameters and bad values', () => {
    expect(validateRequest('GET', '/client/v4/accounts/x/nothing')).toEqual([
      expect.stringContaining('no documented operation'),
    ]);
    expect(validateRequest('POST', LOGS)).toEqual([expect.stringContaining('no documented operation')]);
    expect(validateRequest('GET', `${LOGS}?cursor=abc`)).toEqual(['unknown query parameter cursor']);
    const problems = validateRequest('GET', `${LOGS}?limit=ten&direction=up&since=yesterday`);
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/limit/);
    expect(problems.join('\n')).toMatch(/direction/);
    expect(problems.join('\n')).toMatch(/since/);
    expect(validateRequest('GET', `/client/v4/accounts/${ACCOUNT}00/tokens/verify`)).toEqual([
      expect.stringContaining('account_id'),
    ]);
  });

  it('reports a missing required parameter', () => {
    expect(validateRequest('GET', `/client/v4/accounts/${ACCOUNT}/access/logs/scim/updates`)).toEqual([
      expect.stringContaining('missing required query parameter idp_id'),
    ]);
  });
});

describe('validateResponse', () => {
  const record = {
    action: 'login',
    allowed: true,
    app_domain: 'wiki.example.com',
    app_uid: 'df7e2b5f-02b7-4d9d-af26-8d1988fca630',
    connection: 'saml',
    created_at: '2026-01-01T05:20:00.123Z',
    ip_address: '192.0.2.10',
    ray_id: '187d944c61940c77',
    user_email: 'user@example.com',
  };

  it('accepts documented success and failure bodies', () => {
    expect(validateResponse('GET', LOGS, 200, { success: true, errors: [], messages: [], result: [record] })).toEqual(
      [],
    );
    const failure = {
      success: false,
      errors: [{ code: 10000, message: 'Authentication error' }],
      messages: [],
      result: null,
    };
    expect(validateResponse('GET', LOGS, 403, failure)).toEqual([]);
    expect(
      validateResponse('GET', '/client/v4/user/tokens/verify', 200, {
        success: true,
        errors: [],
        messages: [],
        result: { id: 'a'.repeat(32), status: 'active' },
      }),
    ).toEqual([]);
    expect(validateResponse('GET', '/client/v4/user/tokens/verify', 401, failure)).toEqual([]);
    expect(validateResponse('GET', '/client/v4/nowhere', 404, failure)).toEqual([]);
  });

  it('reports bodies that break the schema', () => {
    const bad = { ...record, ray_id: 'x'.repeat(17), created_at: 'yesterday', allowed: 'yes' };
    const problems = validateResponse('GET', LOGS, 200, { success: true, errors: [], messages: [], result: [bad] });
    expect(problems.join('\n')).toMatch(/ray_id/);
    expect(problems.join('\n')).toMatch(/created_at/);
    expect(problems.join('\n')).toMatch(/allowed/);
    expect(
      validateResponse('GET', LOGS, 400, {
        success: false,
        errors: [{ code: 12, message: 'x' }],
        messages: [],
        result: null,
      }),
    ).not.toEqual([]);
    expect(validateResponse('GET', LOGS, 400, { success: false, errors: [], messages: [] })).not.toEqual([]);
    expect(
      validateResponse('GET', '/client/v4/user/tokens/verify', 200, {
        success: true,
        errors: [],
        messages: [],
        result: { id: 'x', status: 'paused' },
      }),
    ).not.toEqual([]);
    expect(
      validateResponse('GET', '/client/v4/user/tokens/verify', 403, { success: true, errors: [], messages: [] }),
    ).not.toEqual([]);
    expect(validateResponse('GET', LOGS, 201, { success: true, errors: [], messages: [], result: [] })).toEqual([
      expect.stringContaining('not documented'),
    ]);
  });
});
