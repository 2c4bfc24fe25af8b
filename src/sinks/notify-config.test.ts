import { describe, expect, it } from 'vitest';
import { configFileSchema } from '../config/schema.js';

function notify(targets: unknown[]): ReturnType<typeof configFileSchema.safeParse> {
  return configFileSchema.safeParse({ notify: { targets } });
}

describe('notify configuration', () => {
  it('takes a port and a timeout as numbers or numeric text, and refuses a list or a boolean instead of coercing it', () => {
    const parsed = notify([{ type: 'syslog', name: 'siem', host: 'siem.example.com', port: '514', timeout_ms: 2000 }]);
    expect(parsed.success && parsed.data.notify.targets[0]).toMatchObject({ port: 514, timeoutMs: 2000 });
    const wrong = notify([{ type: 'syslog', name: 'siem', host: 'siem.example.com', port: [514], timeout_ms: true }]);
    expect(wrong.success).toBe(false);
    const messages = wrong.error?.issues.map((issue) => issue.message) ?? [];
    expect(messages).toContain('expected a number, got a list');
    expect(messages).toContain('expected a number, got true');
  });

  it('has no target by default', () => {
    expect(configFileSchema.parse({}).notify).toEqual({ targets: [] });
  });

  it('fills defaults with their documented values, the syslog port following tls', () => {
    const parsed = configFileSchema.parse({
      notify: {
        targets: [
          { type: 'webhook', name: 'soc', url: 'https://hooks.example.com/x' },
          { type: 'syslog', name: 'siem', host: 'siem.example.com' },
          { type: 'syslog', name: 'siem-plain', host: 'siem.example.com', tls: false },
        ],
      },
    });
    expect(parsed.notify.targets).toEqual([
      {
        type: 'webhook',
        name: 'soc',
        url: 'https://hooks.example.com/x',
        format: 'json',
        minSeverity: 'medium',
        timeoutMs: 10_000,
      },
      {
        type: 'syslog',
        name: 'siem',
        host: 'siem.example.com',
        port: 6514,
        tls: true,
        facility: 'local0',
        sdId: 'zerotrail@32473',
        minSeverity: 'medium',
        timeoutMs: 10_000,
      },
      expect.objectContaining({ name: 'siem-plain', port: 601, tls: false }),
    ]);
  });

  it('refuses a syslog host with a port in it, saying where the port goes, and takes IPv6 addresses', () => {
    const result = notify([
      { type: 'syslog', name: 'a', host: '127.0.0.1:47110', tls: false },
      { type: 'syslog', name: 'b', host: 'siem.example.com:6514' },
      { type: 'syslog', name: 'c', host: '[2001:db8::7]:6514' },
      { type: 'syslog', name: 'd', host: 'tcp://siem.example.com' },
    ]);
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['notify.targets.0.host', 'must not include a port; write host: 127.0.0.1 and port: 47110'],
      ['notify.targets.1.host', 'must not include a port; write host: siem.example.com and port: 6514'],
      ['notify.targets.2.host', 'must not include a port; write host: 2001:db8::7 and port: 6514'],
      ['notify.targets.3.host', 'expected a host name or an IP address, not a URL; set port and tls on their own'],
    ]);
    const ipv6 = notify([{ type: 'syslog', name: 'a', host: '2001:db8::7', port: 6514 }]);
    expect(ipv6.success && ipv6.data.notify.targets[0]).toMatchObject({ host: '2001:db8::7', port: 6514 });
  });

  it('says that a webhook takes only http and https URLs', () => {
    const result = notify([
      { type: 'webhook', name: 'a', url: 'ftp://hooks.example.com/x' },
      { type: 'webhook', name: 'b', url: 'hooks.example.com/x' },
    ]);
    expect(result.error?.issues.map((issue) => issue.message)).toEqual([
      'only http:// and https:// URLs are accepted, not ftp://',
      'expected an http:// or https:// URL, such as https://hooks.example.com/x',
    ]);
  });

  it('has no way to turn TLS verification off', () => {
    const result = notify([{ type: 'syslog', name: 'siem', host: 'h', reject_unauthorized: false }]);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain('reject_unauthorized');
  });

  it('refuses two targets with one name, an unknown type and a secret given as a value', () => {
    expect(
      notify([
        { type: 'webhook', name: 'soc', url: 'https://a.example.com' },
        { type: 'syslog', name: 'soc', host: 'h' },
      ]).error?.issues[0]?.message,
    ).toBe('each target needs its own name');
    expect(notify([{ type: 'email', name: 'soc' }]).success).toBe(false);
    expect(
      notify([
        {
          type: 'webhook',
          name: 'soc',
          url: 'https://a.example.com',
          secret_header: { name: 'Authorization', value_env: 'Bearer abc' },
        },
      ]).error?.issues[0]?.message,
    ).toBe('expected an environment variable name');
  });
});
