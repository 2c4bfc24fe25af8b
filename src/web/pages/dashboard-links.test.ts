import { describe, expect, it } from 'vitest';
import { explorePath } from './dashboard-links.js';

describe('the dashboard links to Explore', () => {
  it('write a value that holds a bidi override as escapes, so the query bar shows what it searches for', () => {
    const path = explorePath({ from: '-7d', to: 'now', source: null }, [
      ['user', '\u202eevil\u202c-admin@example.com'],
    ]);
    const query = new URLSearchParams(path.slice(path.indexOf('?'))).get('q') ?? '';
    expect(query).toBe('class_uid:3002 AND user:"\\u202eevil\\u202c-admin@example.com"');
    expect(query).not.toMatch(/[\u202a-\u202e]/);
  });

  it('leave a plain value bare and quote one with spaces or quotes', () => {
    const path = explorePath({ from: '-7d', to: 'now', source: 'Zero Trust "prod"' }, [['idp', 'okta']]);
    expect(new URLSearchParams(path.slice(path.indexOf('?'))).get('q')).toBe(
      'class_uid:3002 AND source:"Zero Trust \\"prod\\"" AND idp:okta',
    );
  });
});
