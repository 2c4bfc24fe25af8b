import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../src/core/event.js';
import { startLab, type BrowserLab, type LabUser, type PageWatch } from './browser-harness.js';

const ANALYST = 'tim@example.com';
const PASSWORD = 'correct-horse-battery-staple';
const ANALYST_USER: LabUser = { name: ANALYST, password: PASSWORD, role: 'analyst' };
const SOURCE = 'Timeline Lab';
const HOUR = 3_600_000;
// Values that would announce themselves through a dialog if a page ever ran them.
const HOSTILE_USER = '<script>alert("user")</script>@example.com';
const HOSTILE_APP = 'javascript:alert("app")';
const HOSTILE_APP_UID = '<img src=x onerror=alert("uid")>';
const RAY = 'f1f1f1f1f1f1f1f1';
// More events than one page of the timeline shows, for one user.
const BUSY_USER = 'busy@example.com';
const BUSY_EVENTS = 120;
// A user whose application name is about as long as a stored flat field gets, with nowhere to break a line.
const WIDE_USER = 'wide@example.com';
const WIDE_APP = 'application'.repeat(90);

/** One stored event whose user and application are markup and a script URL. */
function hostileEvent(nowMs: number): NormalizedEvent {
  return {
    id: `${(nowMs - HOUR).toString(16).padStart(12, '0')}${'8'.repeat(20)}`,
    time: nowMs - HOUR,
    sourceName: SOURCE,
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: 'failure',
    user: HOSTILE_USER,
    srcIp: '192.0.2.77',
    country: 'us',
    app: HOSTILE_APP,
    appUid: HOSTILE_APP_UID,
    idp: HOSTILE_APP,
    rayId: RAY,
    ocsf: { class_uid: 3002 },
    raw: { ray_id: RAY },
  };
}

/**
 * An analyst pivots from an event in Explore to the timeline of its user, against a real `zerotrail serve`
 * collecting from the Cloudflare API simulator, and from there to the timeline of an address.
 */
describe('entity timelines in the web UI', { timeout: 180_000 }, () => {
  let lab: BrowserLab;
  let page: Page;
  let watch: PageWatch;

  // Building the UI when it is stale and starting chromium can take a while on a loaded machine.
  beforeAll(async () => {
    const now = Date.now();
    lab = await startLab({
      name: 'browser-timeline',
      simulator: { traffic: { kind: 'fixed', fromMs: now - 6 * HOUR, toMs: now - 60_000, count: 300 } },
      env: { ZEROTRAIL_COLLECT__BACKFILL_DAYS: '1' },
      users: [ANALYST_USER],
      source: SOURCE,
      seed: async (app) => {
        await app.store.append([hostileEvent(now)], { id: `${SOURCE}/hostile`, value: {} });
        const busy = Array.from({ length: BUSY_EVENTS }, (_, n): NormalizedEvent => {
          const time = now - 3 * HOUR + n * 60_000;
          return {
            ...hostileEvent(now),
            id: `${time.toString(16).padStart(12, '0')}${String(n).padStart(20, '9')}`,
            time,
            outcome: n % 4 === 0 ? 'failure' : 'success',
            user: BUSY_USER,
            app: 'Wiki',
            appUid: null,
            idp: 'okta',
            rayId: `b${String(n).padStart(15, '0')}`,
            raw: {},
          };
        });
        await app.store.append(busy, { id: `${SOURCE}/busy`, value: {} });
        const wide: NormalizedEvent = {
          ...hostileEvent(now),
          id: `${(now - HOUR).toString(16).padStart(12, '0')}${'7'.repeat(20)}`,
          time: now - HOUR,
          user: WIDE_USER,
          app: WIDE_APP,
          appUid: null,
          rayId: 'w000000000000001',
          raw: {},
        };
        await app.store.append([wide], { id: `${SOURCE}/wide`, value: {} });
      },
    });
    ({ page, watch } = await lab.openSignedInPage(ANALYST_USER, '/explore'));
  }, 180_000);

  afterAll(() => lab?.close());

  it("pivots from an event to its user's timeline and sees the summary, newest event first", async () => {
    const rows = page.getByRole('table', { name: 'Matching events' }).locator('tbody tr');
    // The collector backfills the simulated hours right after start.
    await expect
      .poll(
        async () => {
          await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent('dataset:access_requests')}`);
          await page.getByRole('table', { name: 'Matching events' }).or(page.getByText('No events match')).waitFor();
          return rows.count();
        },
        { timeout: 90_000, interval: 1000 },
      )
      .toBeGreaterThan(0);
    await rows.first().click();
    const panel = page.getByRole('complementary', { name: 'Event details' });
    const fields = panel.getByRole('region', { name: 'Normalized fields' });
    await fields.waitFor();
    const userField = fields.locator('div').filter({ has: page.locator('dt', { hasText: /^User/ }) });
    const user = (await userField.locator('dd').textContent()) ?? '';
    const eventValue = async (label: string): Promise<string> =>
      (await fields
        .locator('div')
        .filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}`) }) })
        .first()
        .locator('dd')
        .textContent()) ?? '';
    const seen = {
      Countries: (await eventValue('Country')).toUpperCase(),
      'Identity providers': await eventValue('Identity provider'),
      Applications: await eventValue('Application'),
    };
    expect(user).toMatch(/@/);

    const link = panel.getByRole('link', { name: 'Timeline of this user' });
    expect(await link.getAttribute('href')).toBe(`/timeline/user/${encodeURIComponent(user)}`);
    await link.click();
    await page.waitForURL((url) => url.pathname === `/timeline/user/${encodeURIComponent(user)}`);
    await page.getByRole('heading', { level: 1 }).filter({ hasText: user }).waitFor();

    const summary = page.getByRole('region', { name: 'Summary' });
    await summary.waitFor();
    const value = async (label: string): Promise<string> =>
      (await summary
        .locator('div')
        .filter({ has: page.locator('dt', { hasText: label }) })
        .locator('dd')
        .textContent()) ?? '';
    const total = Number(await value('Events'));
    expect(total).toBeGreaterThan(0);
    expect(Number(await value('Allowed')) + Number(await value('Denied'))).toBeLessThanOrEqual(total);
    expect(await value('First seen')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    // The event's own country, IdP and application are among the user's, each with how many events had it.
    let listed = 0;
    for (const [label, own] of Object.entries(seen)) {
      if (own === '—') continue;
      expect(await value(label)).toContain(`${own} (`);
      listed++;
    }
    expect(listed).toBeGreaterThan(0);

    const events = page.getByRole('table', { name: 'Timeline events' }).locator('tbody tr');
    await events.first().waitFor();
    const times = await events.locator('td:nth-child(1)').allTextContents();
    expect(times).toEqual([...times].sort().reverse());
    expect(new Set(await events.locator('td:nth-child(4)').allTextContents())).toEqual(new Set([user]));
    expect(`${(await value('Last seen')).replace(' UTC', '')}`).toBe(times[0]);

    // A reload of the shared link lands on the same timeline.
    await page.reload();
    await page.getByRole('region', { name: 'Summary' }).waitFor();
    expect(Number(await value('Events'))).toBe(total);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
  });

  it("goes on from the user's timeline to the timeline of an address, and back", async () => {
    const events = page.getByRole('table', { name: 'Timeline events' }).locator('tbody tr');
    const ipLink = events.first().locator('td:nth-child(5) a');
    const ip = (await ipLink.textContent()) ?? '';
    await ipLink.click();
    await page.waitForURL((url) => url.pathname === `/timeline/ip/${encodeURIComponent(ip)}`);
    await page.getByRole('heading', { level: 1 }).filter({ hasText: ip }).waitFor();
    await page.getByRole('region', { name: 'Summary' }).waitFor();
    expect(new Set(await events.locator('td:nth-child(5)').allTextContents())).toEqual(new Set([ip]));
    await page.goBack();
    await page.waitForURL((url) => url.pathname.startsWith('/timeline/user/'));
  });

  it('shows hostile user and application values as text on their timelines, and links only to our own paths', async () => {
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent(`ray_id:${RAY}`)}`);
    const rows = page.getByRole('table', { name: 'Matching events' }).locator('tbody tr');
    await rows.first().waitFor();
    await rows.first().click();
    const panel = page.getByRole('complementary', { name: 'Event details' });
    await panel.getByRole('link', { name: 'Timeline of this user' }).click();
    await page.waitForURL((url) => url.pathname === `/timeline/user/${encodeURIComponent(HOSTILE_USER)}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Timeline of user ${HOSTILE_USER}`);
    const events = page.getByRole('table', { name: 'Timeline events' }).locator('tbody tr');
    await events.first().waitFor();
    expect(await events.count()).toBe(1);
    expect(await events.first().locator('td:nth-child(4)').textContent()).toBe(HOSTILE_USER);
    expect(await events.first().locator('td:nth-child(7)').textContent()).toBe(HOSTILE_APP);
    const summary = page.getByRole('region', { name: 'Summary' });
    expect(await summary.textContent()).toContain(`${HOSTILE_APP} (1)`);
    await expectInert();

    await events.first().locator('td:nth-child(7) a').click();
    await page.waitForURL((url) => url.pathname === `/timeline/app/${encodeURIComponent(HOSTILE_APP_UID)}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(
      `Timeline of application ${HOSTILE_APP_UID}`,
    );
    await events.first().waitFor();
    expect(await events.first().locator('td:nth-child(4)').textContent()).toBe(HOSTILE_USER);
    await expectInert();
  });

  it('keeps every column in view beside a value as long as a stored field gets', async () => {
    await page.goto(`${lab.serve.url}/timeline/user/${encodeURIComponent(WIDE_USER)}`);
    const table = page.getByRole('table', { name: 'Timeline events' });
    await table.locator('tbody tr').first().waitFor();
    const dataset = await table.getByRole('columnheader', { name: 'Dataset' }).boundingBox();
    const viewport = page.viewportSize();
    expect(dataset).not.toBeNull();
    expect((dataset?.x ?? 0) + (dataset?.width ?? 0)).toBeLessThanOrEqual(viewport?.width ?? 0);
    // The whole name is still there to read, in the link's title.
    expect(await table.locator('tbody tr td:nth-child(7) a').getAttribute('title')).toBe(WIDE_APP);
  });

  it('reads a long timeline newest first, and oldest first page by page once chosen, keeping the order in the link', async () => {
    await page.goto(`${lab.serve.url}/timeline/user/${encodeURIComponent(BUSY_USER)}`);
    const summary = page.getByRole('region', { name: 'Summary' });
    await summary.waitFor();
    expect(await summary.textContent()).toContain(`Events${BUSY_EVENTS}`);
    expect(await summary.textContent()).toContain(`Denied${BUSY_EVENTS / 4}`);
    const events = page.getByRole('table', { name: 'Timeline events' }).locator('tbody tr');
    const times = (): Promise<string[]> => events.locator('td:nth-child(1)').allTextContents();
    const lastSeen = async (): Promise<string> =>
      ((await summary.locator('div').filter({ hasText: 'Last seen' }).locator('dd').textContent()) ?? '').replace(
        ' UTC',
        '',
      );
    // The newest events come first, without a click.
    await events.first().waitFor();
    expect(await page.getByRole('heading', { name: 'Events, newest first' }).count()).toBe(1);
    expect(await events.count()).toBe(100);
    const newest = await times();
    expect(newest).toEqual([...newest].sort().reverse());
    expect(newest[0]).toBe(await lastSeen());

    await page.getByLabel('Order').selectOption('asc');
    await page.waitForURL((url) => url.searchParams.get('order') === 'asc');
    await page.getByRole('heading', { name: 'Events, oldest first' }).waitFor();
    await events.first().waitFor();
    expect(await events.count()).toBe(100);
    await page.getByRole('button', { name: 'Load 100 more' }).click();
    await expect.poll(() => events.count()).toBe(BUSY_EVENTS);
    const oldest = await times();
    expect(oldest).toEqual([...oldest].sort());
    expect(await page.getByRole('button', { name: 'Load 100 more' }).count()).toBe(0);
    // The summary stays as the first page gave it.
    expect(await summary.textContent()).toContain(`Events${BUSY_EVENTS}`);

    // The link keeps the order chosen.
    await page.reload();
    await page.getByRole('heading', { name: 'Events, oldest first' }).waitFor();
    await events.first().waitFor();
    expect((await times())[0]).toBe(oldest[0]);
  });

  /** Gives an injected handler time to fire, then checks nothing ran and every link stays on our origin. */
  async function expectInert(): Promise<void> {
    await page.waitForTimeout(300);
    expect(watch.dialogs).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('script:not([src])').count()).toBe(0);
    expect(await page.locator('[onerror], [onload], [onclick]').count()).toBe(0);
    for (const link of await page.locator('a[href]').all()) {
      const href = (await link.getAttribute('href')) ?? '';
      expect(href).toMatch(/^\/(?!\/)[^<>"\s:]*$/);
    }
  }
});
