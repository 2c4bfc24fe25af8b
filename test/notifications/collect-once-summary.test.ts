import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { runInProcess } from '../helpers/cli.js';
import { setUpCollector, type CollectorEnv } from '../helpers/collector-env.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/notify-receivers.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

describe('the summary of collect --once', () => {
  let setup: CollectorEnv | undefined;
  const receivers: WebhookReceiver[] = [];

  afterEach(async () => {
    for (const receiver of receivers.splice(0)) await receiver.close();
    await setup?.cleanup();
    setup = undefined;
  });

  it('names a target that refused notices and one that stopped, beside one that took everything', async () => {
    const start = Date.parse('2026-11-20T12:00:00.000Z');
    const clock = new ManualClock(start);
    setup = await setUpCollector({
      seed: 31,
      clock,
      traffic: { kind: 'fixed', fromMs: start - 2 * HOUR_MS, toMs: start + 30 * MINUTE_MS, count: 300 },
    });
    const [ok, refusing, gone] = [
      await startWebhookReceiver(),
      await startWebhookReceiver(),
      await startWebhookReceiver(),
    ];
    receivers.push(ok, refusing, gone);
    // The refusing receiver takes none of the alerts; the gone one answers 401, which stops its target.
    refusing.script.push(...Array.from({ length: 10_000 }, () => 422));
    gone.script.push(401);
    const target = (name: string, receiver: WebhookReceiver): string[] => [
      '    - type: webhook',
      `      name: ${name}`,
      `      url: ${receiver.url}/zt`,
      '      min_severity: low',
    ];
    writeFileSync(
      join(setup.dataDir, 'config.yaml'),
      ['notify:', '  targets:', ...target('ok', ok), ...target('refusing', refusing), ...target('gone', gone), ''].join(
        '\n',
      ),
    );

    const first = await runInProcess(['collect', '--once', '--backfill-days', '1'], { env: setup.env, clock });
    expect(first.code, first.stderr).toBe(0);
    // The simulated organisation adds an identity provider five minutes after the start: the second run raises
    // an alert for it.
    clock.advance(10 * MINUTE_MS);
    const run = await runInProcess(['collect', '--once'], { env: setup.env, clock });
    expect(run.code, run.stderr).toBe(0);
    expect(ok.bodies.length).toBeGreaterThan(0);
    const summary = /^Notifications not all delivered: .*$/m.exec(run.stderr)?.[0] ?? '';
    expect(summary, run.stderr).toMatch(/refusing \(refused \d+ notices?: SINK_REJECTED .*HTTP 422/);
    expect(summary).toMatch(/gone \(stopped: SINK_REJECTED .*HTTP 401/);
    expect(summary).not.toMatch(/\bok \(/);
    expect(summary).toContain('Refused notices are recorded and not sent again (the alerts stay in zerotrail)');
  });
});
