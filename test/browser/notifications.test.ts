import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { bruteForceFiring } from '../helpers/firings.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/notify-receivers.js';
import { startLab, type SimulatedLab } from './browser-harness.js';

const USERS = {
  analyst: { name: 'alan@example.com', password: 'analyst-battery-staple-horse' },
  viewer: { name: 'vera@example.com', password: 'viewer-staple-horse-battery' },
} as const;
const MINUTE = 60_000;

/**
 * Notification delivery on the Alerts page, in Debian's chromium against a real `zerotrail serve` whose forwarder
 * sends two queued alerts to three real webhook receivers: one takes them, one keeps answering 503 and one
 * answers 401, which stops that target. An analyst sees each target's state, queue, deliveries, last success and
 * last error; a viewer does not see the section.
 */
describe('Notification delivery on the Alerts page', { timeout: 180_000 }, () => {
  let lab: SimulatedLab;
  let ok: WebhookReceiver;
  let down: WebhookReceiver;
  let locked: WebhookReceiver;

  beforeAll(async () => {
    ok = await startWebhookReceiver();
    down = await startWebhookReceiver();
    down.script.push(...Array.from({ length: 1000 }, () => 503));
    locked = await startWebhookReceiver();
    locked.script.push(401);
    lab = await startLab({
      name: 'browser-notify',
      users: (['analyst', 'viewer'] as const).map((role) => ({ ...USERS[role], role })),
      // With the simulator serve runs its collector, and with it the forwarder; no source is added, so the two
      // alerts the test raises are all it sends.
      simulator: {},
      seed: (app) => {
        writeFileSync(
          join(app.config.dataDir, 'config.yaml'),
          [
            'notify:',
            '  targets:',
            ...(
              [
                ['soc', ok],
                ['pager', down],
                ['chat', locked],
              ] as const
            ).flatMap(([name, receiver]) => [
              '    - type: webhook',
              `      name: ${name}`,
              `      url: ${receiver.url}/hook`,
              '      min_severity: medium',
            ]),
            '',
          ].join('\n'),
        );
        return Promise.resolve();
      },
    });
  }, 180_000);

  afterAll(async () => {
    await lab?.close();
    for (const receiver of [ok, down, locked]) await receiver?.close();
  });

  function row(page: Page, target: string): Locator {
    return page.getByRole('table', { name: 'Notification targets' }).getByRole('row', { name: `Target ${target}` });
  }

  // The section reads the status when shown and every 30 s; Refresh reads it now.
  async function refreshUntil(page: Page, what: string, check: () => Promise<boolean>): Promise<void> {
    const section = page.getByRole('region', { name: 'Notification delivery' });
    for (let i = 0; i < 60; i += 1) {
      if (await check()) return;
      await page.waitForTimeout(500);
      await section.getByRole('button', { name: 'Refresh' }).click();
    }
    throw new Error(`timed out waiting for ${what}; the section shows:\n${(await section.innerText()).trim()}`);
  }

  it("shows an analyst each target's state, queue, deliveries, last success and last error", async () => {
    const { page, watch } = await lab.openSignedInPage(USERS.analyst, '/alerts');
    await page.getByRole('region', { name: 'Notification delivery' }).waitFor();
    const stateOf = (target: string): Promise<string | null> =>
      row(page, target).getByLabel(`State of ${target}`).textContent();
    // A target starts at the end of the queue; once all three run, another process raises two alerts, which
    // serve's forwarder finds at its next poll.
    await refreshUntil(page, 'every target to start', async () => (await row(page, 'chat').count()) === 1);
    await refreshUntil(page, 'every target to start', async () =>
      (await Promise.all(['soc', 'pager', 'chat'].map(stateOf))).every((state) => state === 'Idle'),
    );
    const app = await openApp(loadConfig({ env: lab.env }), { logger: silentLogger(), clock: systemClock });
    try {
      const now = Date.now();
      const result = await app.store.commitDetections({
        offsetName: 'elsewhere',
        fromOffset: 0,
        toOffset: 1,
        state: [],
        firings: [
          bruteForceFiring('alice@example.com', 1, now - 5 * MINUTE),
          bruteForceFiring('bob@example.com', 1, now - 4 * MINUTE),
        ],
      });
      expect(result.created).toBe(2);
    } finally {
      await app.close();
    }
    await refreshUntil(
      page,
      'every target to settle',
      async () =>
        (await row(page, 'soc').count()) === 1 &&
        (await stateOf('soc')) === 'Idle' &&
        (await stateOf('pager')) === 'Retrying' &&
        (await stateOf('chat')) === 'Stopped',
    );
    expect(ok.bodies).toHaveLength(2);
    expect(locked.bodies).toHaveLength(0);

    const cells = async (target: string): Promise<string[]> =>
      await row(page, target).getByRole('cell').allTextContents();
    const [socTarget, , socQueued, socDelivered, socRefused, socRetries, socSuccess, socError] = await cells('soc');
    expect(socTarget).toContain('webhook');
    expect(socTarget).toContain('medium and above');
    expect(socQueued).toBe('0');
    expect(socDelivered).toBe('2');
    expect(socRefused).toBe('0');
    expect(socRetries).toBe('0');
    expect(socSuccess).toMatch(/just now|ago/);
    expect(socError).toBe('none');

    const [, pagerState, pagerQueued, pagerDelivered, , pagerRetries, pagerSuccess, pagerError] = await cells('pager');
    expect(pagerState).toMatch(/^Retryingtry \d+, next at /);
    expect(pagerQueued).toMatch(/^2oldest /);
    expect(pagerDelivered).toBe('0');
    expect(Number(pagerRetries)).toBeGreaterThanOrEqual(1);
    expect(pagerSuccess).toBe('never');
    expect(pagerError).toContain('SINK_UNAVAILABLE');
    expect(pagerError).toContain('503');

    const [, , chatQueued, chatDelivered, , , , chatError] = await cells('chat');
    expect(chatQueued).toMatch(/^2oldest /);
    expect(chatDelivered).toBe('0');
    expect(chatError).toContain('SINK_REJECTED');

    // What needs attention is said in words above the table.
    const section = page.getByRole('region', { name: 'Notification delivery' });
    await section.getByText(/^Alerts are not reaching chat: it stopped \(SINK_REJECTED: /).waitFor();
    await section.getByText(/^Alerts to pager are being retried \(SINK_UNAVAILABLE: .*\); 2 waiting\.$/).waitFor();
    expect(await section.getByText(/^Alerts (are not reaching|to) soc/).count()).toBe(0);
    expect(watch.pageErrors).toEqual([]);
  });

  it('shows a viewer the alerts without the notification section', async () => {
    const { page } = await lab.openSignedInPage(USERS.viewer, '/alerts');
    await page.getByRole('table', { name: 'Alerts' }).waitFor();
    expect(await page.getByRole('region', { name: 'Notification delivery' }).count()).toBe(0);
  });
});
