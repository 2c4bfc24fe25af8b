import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { runInProcess } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';
import {
  selfSignedCertificate,
  startSyslogReceiver,
  startWebhookReceiver,
  type SyslogReceiver,
  type WebhookReceiver,
} from '../helpers/notify-receivers.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

describe('alert notifications end to end, collecting from the simulator', () => {
  let setup: CollectorEnv | undefined;
  let hook: WebhookReceiver | undefined;
  let syslog: SyslogReceiver | undefined;

  afterEach(async () => {
    await hook?.close();
    await syslog?.close();
    await setup?.cleanup();
    setup = hook = syslog = undefined;
  });

  it('delivers every alert that collection raises to a webhook and to a syslog collector over TLS', async () => {
    const start = Date.parse('2026-11-20T12:00:00.000Z');
    const clock = new ManualClock(start);
    setup = await setUpCollector({
      seed: 31,
      clock,
      traffic: { kind: 'fixed', fromMs: start - 2 * HOUR_MS, toMs: start + 30 * MINUTE_MS, count: 300 },
    });
    hook = await startWebhookReceiver();
    const cert = selfSignedCertificate(setup.dataDir);
    syslog = await startSyslogReceiver({ tls: cert });
    writeFileSync(
      join(setup.dataDir, 'config.yaml'),
      [
        'notify:',
        '  targets:',
        '    - type: webhook',
        '      name: soc',
        `      url: ${hook.url}/zerotrail`,
        '      min_severity: low',
        '    - type: syslog',
        '      name: siem',
        '      host: 127.0.0.1',
        `      port: ${syslog.port}`,
        `      ca_file: ${cert.certFile}`,
        '      min_severity: low',
        '',
      ].join('\n'),
    );
    const env = setup.env;
    const first = await runInProcess(['collect', '--once', '--backfill-days', '1'], { env, clock });
    expect(first.code, first.stderr).toBe(0);
    // The simulated organisation adds an identity provider five minutes after the start.
    clock.advance(10 * MINUTE_MS);
    const second = await runInProcess(['collect', '--once'], { env, clock });
    expect(second.code, second.stderr).toBe(0);

    const listed = await runInProcess(['alerts', 'list', '--format', 'json', '--limit', '10000'], { env, clock });
    expect(listed.code, listed.stderr).toBe(0);
    const alerts = JSON.parse(listed.stdout) as { id: string; rule_id: string }[];
    expect(alerts.some((alert) => alert.rule_id === 'zt-config-tampering')).toBe(true);
    const expected = alerts.map((alert) => alert.id).sort();

    const created = (hook.bodies as { type: string; alert: { id: string } }[])
      .filter((body) => body.type === 'alert.created')
      .map((body) => body.alert.id);
    expect([...new Set(created)].sort()).toEqual(expected);
    const syslogCreated = syslog.messages
      .filter((message) => message.includes(' alert-created '))
      .map((message) => /\bid="([^"]+)"/.exec(message)?.[1]);
    expect([...new Set(syslogCreated)].sort()).toEqual(expected);
  });
});
