import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../src/core/event.js';
import { deniedWithRay } from '../helpers/events.js';
import { startLab, type BrowserLab, type LabUser, type PageWatch } from './browser-harness.js';

// The part of a scrolling element the tests touch; the test files are compiled without the DOM library.
interface Scrollable {
  readonly scrollTop: number;
  readonly scrollHeight: number;
  readonly clientHeight: number;
  scrollTo(options: { readonly top: number }): void;
  scrollBy(options: { readonly top: number }): void;
}

const ADMIN: LabUser = { name: 'grace@example.com', password: 'correct-horse-battery-staple', role: 'admin' };
const HOUR = 3_600_000;

// Each payload would announce itself through a dialog if the page ever ran it.
const SCRIPT = '<script>alert("script")</script>';
const IMG = '<img src=x onerror=alert("img")>';
const JS_URL = 'javascript:alert("url")';
// A right-to-left override makes what follows it read backwards. A source name may not hold one (source add
// refuses it), so the name is hostile HTML only.
const RLO = '\u202e';
const HOSTILE_SOURCE = '<img src=x onerror=alert("source")> Lab';
const LAB = 'Hostile Lab';
const RAY = 'e0e0e0e0e0e0e0e0';
// Values that would disguise themselves if the browser applied their bidi and control characters.
const BIDI_USER = `mallory${RLO}moc.elpmaxe@`;
const BIDI_APP = `${RLO}evil right-to-left override`;
const BIDI_IDP = 'okta\u2066\u200f\u2069';
const BIDI_ACTIVITY = 'logon\u0007\u001b[31m';
const BIDI_RAY = 'b1d1b1d1b1d1b1d1';
/** `text` as the UI must show it: every disguising character as a visible `\u…` escape, the way the CLI prints it. */
function escaped(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u200f\u202e\u2066\u2069]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
// What no text on a page may hold: these would reorder, hide or restyle what is around them.
const DISGUISING =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

/** An event as a compromised or odd upstream could deliver it, stored directly: every shown field is hostile. */
function hostileEvent(nowMs: number): NormalizedEvent {
  return {
    id: `${(nowMs - HOUR).toString(16).padStart(12, '0')}${'7'.repeat(20)}`,
    time: nowMs - HOUR,
    sourceName: LAB,
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: IMG,
    outcome: 'failure',
    user: `${SCRIPT}@example.com`,
    srcIp: '192.0.2.66',
    country: 'us',
    app: JS_URL,
    appUid: IMG,
    idp: JS_URL,
    rayId: RAY,
    ocsf: {
      class_uid: 3002,
      message: SCRIPT,
      enrichments: [
        {
          name: SCRIPT,
          value: IMG,
          type: JS_URL,
          provider: 'zerotrail',
          desc: IMG,
          data: { url: JS_URL, html: SCRIPT },
        },
      ],
    },
    raw: { action: IMG, allowed: false, app_domain: JS_URL, user_email: `${SCRIPT}@example.com`, ray_id: RAY },
  };
}

/** An event whose shown fields carry bidi overrides, isolates, marks and control characters. */
function bidiEvent(nowMs: number): NormalizedEvent {
  return {
    id: `${(nowMs - 2 * HOUR).toString(16).padStart(12, '0')}${'6'.repeat(20)}`,
    time: nowMs - 2 * HOUR,
    sourceName: LAB,
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: BIDI_ACTIVITY,
    outcome: 'failure',
    user: BIDI_USER,
    srcIp: '192.0.2.67',
    country: 'us',
    app: BIDI_APP,
    appUid: null,
    idp: BIDI_IDP,
    rayId: BIDI_RAY,
    ocsf: {
      class_uid: 3002,
      enrichments: [{ name: 'device', value: BIDI_APP, type: BIDI_IDP, provider: 'zerotrail', desc: BIDI_USER }],
    },
    raw: { app_domain: BIDI_APP, user_email: BIDI_USER, ray_id: BIDI_RAY },
  };
}

/**
 * Event fields are attacker-controlled text: a user name, an application domain or an action can carry markup.
 * Whatever they hold, the UI must show them as text, run nothing and link nowhere.
 */
describe('hostile event values in the web UI', { timeout: 180_000 }, () => {
  let lab: BrowserLab;
  let page: Page;
  let watch: PageWatch;

  // Building the UI when it is stale and starting chromium can take a while on a loaded machine.
  beforeAll(async () => {
    const now = Date.now();
    lab = await startLab({
      name: 'browser-hostile',
      // Every simulated access event carries one hostile value (HTML, SQL, control characters, 100 kB strings).
      simulator: {
        traffic: { kind: 'fixed', fromMs: now - 6 * HOUR, toMs: now - 60_000, count: 150 },
        faults: { hostileValues: { fraction: 1 } },
      },
      env: { ZEROTRAIL_COLLECT__BACKFILL_DAYS: '1' },
      users: [ADMIN],
      source: HOSTILE_SOURCE,
      seed: async (app) => {
        // Denied logins of the bidi user make the brute-force rule raise an alert about them.
        const denied = Array.from({ length: 12 }, (_, n) =>
          deniedWithRay(200 + n, now - 3 * HOUR + n * 20_000, BIDI_USER, BIDI_APP),
        );
        await app.store.append([hostileEvent(now), bidiEvent(now), ...denied], {
          id: `${LAB}/access_requests`,
          value: {},
        });
        const detected = await app.detector.catchUp();
        expect(detected.created).toBeGreaterThanOrEqual(1);
      },
    });
    ({ page, watch } = await lab.openSignedInPage(ADMIN, '/sources', {
      ready: (signed) => signed.getByRole('heading', { name: 'Data sources', exact: true }),
    }));
  }, 180_000);

  afterAll(() => lab?.close());

  /** Gives an injected handler time to fire, then checks that nothing ran, was injected or links to script. */
  async function expectInert(): Promise<void> {
    await page.waitForTimeout(300);
    expect(watch.dialogs).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('script:not([src])').count()).toBe(0);
    expect(await page.locator('[onerror], [onload], [onclick]').count()).toBe(0);
    const hrefs: (string | null)[] = [];
    for (const link of await page.locator('a[href]').all()) hrefs.push(await link.getAttribute('href'));
    // Navigation, plus links whose only event data is encoded into our own paths: timelines (one path segment),
    // Explore searches of one value and the export of the current search (query parameters).
    const navigation = ['/explore', '/dashboard', '/alerts', '/rules', '/sources', '/settings'];
    for (const href of hrefs) {
      if (navigation.includes(href ?? '')) continue;
      expect(href).toMatch(/^(\/timeline\/(user|ip|app|device)\/[^<>"\s:]*|\/(explore|api\/export)\?[^<>"\s:]*)$/);
    }
    expect(hrefs.filter((href) => navigation.includes(href ?? '')).length).toBeGreaterThanOrEqual(2);
  }

  /** Nothing on the page, in its text, tooltips or menus, holds a character that would disguise what it shows. */
  async function expectUndisguised(): Promise<void> {
    // A string, not a function: the test code is typed for Node, the expression runs in the page.
    const shown = await page.evaluate<string[]>(`[
      document.body.textContent,
      ...[...document.querySelectorAll('[title]')].map((element) => element.getAttribute('title')),
      ...[...document.querySelectorAll('input, textarea')].map((element) => element.placeholder),
    ]`);
    for (const text of shown)
      expect(DISGUISING.exec(text ?? '')?.[0], JSON.stringify(text?.slice(0, 200))).toBe(undefined);
  }

  it('shows a hostile source name as text on the data sources page', async () => {
    const card = page.getByRole('article', { name: `Data source ${HOSTILE_SOURCE}` });
    await card.waitFor();
    expect(await card.getByRole('heading', { level: 2 }).textContent()).toBe(escaped(HOSTILE_SOURCE));
    await card.getByRole('button', { name: 'Delete' }).click();
    expect(await page.getByRole('alertdialog').textContent()).toContain(`"${escaped(HOSTILE_SOURCE)}"`);
    await expectUndisguised();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Cancel' }).click();
    await expectInert();
  });

  it('shows bidi and control characters of event values as visible escapes in Explore, its panel and menus', async () => {
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent(`ray_id:${BIDI_RAY}`)}`);
    const rows = page.getByRole('table', { name: 'Matching events' }).locator('tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    const row = rows.first();
    expect(await row.locator('td:nth-child(3)').textContent()).toBe(escaped(BIDI_USER));
    expect(await row.locator('td:nth-child(5)').textContent()).toBe('\\u202eevil right-to-left override');
    expect(await row.locator('td:nth-child(5)').getAttribute('title')).toBe('\\u202eevil right-to-left override');
    await expectUndisguised();

    await row.hover();
    await row.getByRole('button', { name: 'Actions for Application' }).click();
    const menu = page.getByRole('menu', { name: 'Application value' });
    expect(await menu.locator('.value-menu-value').textContent()).toBe(escaped(BIDI_APP));
    await expectUndisguised();
    await page.keyboard.press('Escape');

    await row.click();
    const panel = page.getByRole('complementary', { name: 'Event details' });
    const fields = panel.getByRole('region', { name: 'Normalized fields' });
    await fields.waitFor();
    const field = (label: string) =>
      fields
        .locator('div')
        .filter({ has: page.locator('dt', { hasText: label }) })
        .locator('dd');
    expect(await field('User').textContent()).toBe(escaped(BIDI_USER));
    expect(await field('Activity').textContent()).toBe(escaped(BIDI_ACTIVITY));
    expect(await field('Application').first().textContent()).toBe(escaped(BIDI_APP));
    expect(await field('Identity provider').textContent()).toBe(escaped(BIDI_IDP));
    const enrichments = (await panel.getByRole('region', { name: 'Enrichments' }).textContent()) ?? '';
    for (const value of [BIDI_APP, BIDI_IDP, BIDI_USER]) expect(enrichments).toContain(escaped(value));
    // The raw record shows the escapes as JSON escapes, so the text still reads back as the stored record.
    const raw = (await panel.getByTestId('raw-record').textContent()) ?? '';
    expect(raw).toContain(escaped(BIDI_APP));
    expect(JSON.parse(raw)).toEqual({ app_domain: BIDI_APP, user_email: BIDI_USER, ray_id: BIDI_RAY });
    await panel.getByText('OCSF event').click();
    await expectUndisguised();
    await expectInert();
  });

  it('shows bidi characters as escapes on the timeline, in alerts and on the dashboard', async () => {
    await page.goto(`${lab.serve.url}/timeline/user/${encodeURIComponent(BIDI_USER)}`);
    const events = page.getByRole('table', { name: 'Timeline events' });
    await events.waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Timeline of user ${escaped(BIDI_USER)}`);
    expect(await events.textContent()).toContain(escaped(BIDI_APP));
    expect(await page.getByRole('region', { name: 'Summary' }).textContent()).toContain(escaped(BIDI_APP));
    await expectUndisguised();

    await page.goto(`${lab.serve.url}/alerts`);
    const alertRow = page
      .getByRole('table', { name: 'Alerts' })
      .getByRole('row')
      .filter({ hasText: escaped(BIDI_USER) });
    await alertRow.first().waitFor();
    await expectUndisguised();
    await alertRow.first().getByRole('link').first().click();
    const summary = page.getByLabel('Summary');
    await summary.waitFor();
    expect(await summary.textContent()).toContain(escaped(BIDI_USER));
    await expectUndisguised();

    await page.goto(`${lab.serve.url}/dashboard`);
    const users = page.getByRole('region', { name: 'Top users' });
    await users.locator('svg').first().waitFor();
    await expect.poll(async () => (await users.textContent()) ?? '').toContain(escaped(BIDI_USER));
    await expectUndisguised();
    await expectInert();
  });

  it('renders the stored hostile event as inert text in the table and in every part of the event panel', async () => {
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent(`ray_id:${RAY}`)}`);
    const rows = page.getByRole('table', { name: 'Matching events' }).locator('tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    expect(await rows.first().locator('td:nth-child(3)').textContent()).toBe(`${SCRIPT}@example.com`);
    expect(await rows.first().locator('td:nth-child(5)').textContent()).toBe(JS_URL);

    await rows.first().click();
    const panel = page.getByRole('complementary', { name: 'Event details' });
    const fields = panel.getByRole('region', { name: 'Normalized fields' });
    await fields.waitFor();
    const field = (label: string) =>
      fields
        .locator('div')
        .filter({ has: page.locator('dt', { hasText: label }) })
        .locator('dd');
    expect(await field('User').textContent()).toBe(`${SCRIPT}@example.com`);
    expect(await field('Activity').textContent()).toBe(IMG);
    expect(await field('Application').first().textContent()).toBe(JS_URL);
    expect(await field('Identity provider').textContent()).toBe(JS_URL);
    await page.getByText(`${SCRIPT}@example.com`).first().waitFor({ state: 'visible' });

    const raw = (await panel.getByTestId('raw-record').textContent()) ?? '';
    expect(JSON.parse(raw)).toMatchObject({ action: IMG, app_domain: JS_URL, user_email: `${SCRIPT}@example.com` });
    const enrichments = (await panel.getByRole('region', { name: 'Enrichments' }).textContent()) ?? '';
    for (const payload of [SCRIPT, IMG, JS_URL]) expect(enrichments).toContain(payload);
    await panel.getByText('OCSF event').click();
    await expectInert();
  });

  it('shows hostile values as text in value menus, query suggestions and beside the column chooser', async () => {
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent(`ray_id:${RAY}`)}`);
    const row = page.getByRole('table', { name: 'Matching events' }).locator('tbody tr').first();
    await row.waitFor();
    await row.hover();
    await row.getByRole('button', { name: 'Actions for User' }).click();
    const userMenu = page.getByRole('menu', { name: 'User value' });
    expect(await userMenu.locator('.value-menu-value').textContent()).toBe(`${SCRIPT}@example.com`);
    expect(await userMenu.getByRole('menuitem', { name: 'Timeline of this user' }).getAttribute('href')).toBe(
      `/timeline/user/${encodeURIComponent(`${SCRIPT}@example.com`)}`,
    );
    await expectInert();
    await page.keyboard.press('Escape');

    // A value without a timeline pivots to an Explore search for it alone; the value stays one quoted term.
    await row.click();
    const fields = page
      .getByRole('complementary', { name: 'Event details' })
      .getByRole('region', { name: 'Normalized fields' });
    await fields.getByRole('button', { name: 'Actions for Identity provider' }).click();
    const idpMenu = page.getByRole('menu', { name: 'Identity provider value' });
    expect(await idpMenu.locator('.value-menu-value').textContent()).toBe(JS_URL);
    await expectInert();
    await idpMenu.getByRole('menuitem', { name: 'Search only this value' }).click();
    await page.waitForURL((url) => url.searchParams.get('q') === `idp:"${JS_URL.replace(/"/g, '\\"')}"`);
    const rows = page.getByRole('table', { name: 'Matching events' }).locator('tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);

    // Values offered while typing come from events, so they are hostile too.
    const query = page.getByRole('textbox', { name: 'Query' });
    await query.fill('');
    await query.pressSequentially('app:javascript');
    const suggestion = page.getByRole('listbox', { name: 'Suggestions' }).getByRole('option', { name: JS_URL });
    await suggestion.first().waitFor();
    expect(await suggestion.first().locator('.mono').textContent()).toBe(JS_URL);
    await expectInert();
    await query.press('Escape');

    await page.getByRole('button', { name: 'Columns' }).click();
    await page.getByRole('group', { name: 'Columns shown' }).getByRole('checkbox', { name: 'Activity' }).check();
    await expect.poll(() => rows.first().locator('td').last().textContent()).toBe(IMG);
    await expectInert();
  });

  it('renders every simulated hostile value as text, through all pages of results and their raw records', async () => {
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent('dataset:access_requests')}`);
    const rows = page.getByRole('table', { name: 'Matching events' }).locator('tbody tr');
    const results = page.locator('.results');
    const loaded = async (): Promise<number> =>
      Number(/^([\d,]+) events? loaded/.exec((await page.getByRole('status').first().textContent()) ?? '')?.[1] ?? 0);
    // The collector backfills the simulated hours right after start; wait until they are all stored.
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Search' }).click();
          await rows.first().waitFor();
          // The table loads the next page as it is scrolled to its end, and renders only the rows in view.
          for (let attempt = 0; attempt < 20; attempt += 1) {
            if ((await page.getByRole('status').first().textContent())?.includes('all matches shown')) break;
            await results.evaluate((element: Scrollable) => element.scrollTo({ top: element.scrollHeight }));
            await page.waitForTimeout(200);
          }
          return loaded();
        },
        { timeout: 90_000, interval: 1000 },
      )
      .toBeGreaterThanOrEqual(150);

    // Walk the table a screen at a time: every row passes through the page, and each time is text.
    let tableText = '';
    const payloadRows = new Map<string, number>();
    const payloads = ['<script>alert(document.cookie)</script>', '<img src=x onerror=alert(1)>'];
    await results.evaluate((element: Scrollable) => element.scrollTo({ top: 0 }));
    for (;;) {
      tableText += (await page.getByRole('table', { name: 'Matching events' }).locator('tbody').textContent()) ?? '';
      for (const payload of payloads) {
        const match = rows.filter({ hasText: payload }).first();
        if (!payloadRows.has(payload) && (await match.count()) > 0) {
          payloadRows.set(payload, Number(await match.getAttribute('data-index')));
        }
      }
      const atEnd = await results.evaluate((element: Scrollable) => {
        const end = element.scrollTop + element.clientHeight >= element.scrollHeight - 1;
        element.scrollBy({ top: element.clientHeight });
        return end;
      });
      if (atEnd) break;
      await page.waitForTimeout(50);
    }
    expect(tableText).toContain('<img src=x onerror=alert(1)>.example.com');
    expect(tableText).toContain('<script>alert(document.cookie)</script>');
    // Control and bidi characters among the simulated values reach the table only as escapes.
    expect(DISGUISING.exec(tableText)?.[0]).toBe(undefined);

    // Open the events whose raw records carry the payloads; each shows them verbatim as JSON text.
    for (const payload of payloads) {
      const index = payloadRows.get(payload);
      expect(index, payload).toBeDefined();
      await results.evaluate((element: Scrollable, top: number) => element.scrollTo({ top }), (index ?? 0) * 32);
      await rows.filter({ hasText: payload }).first().click();
      const raw = page.getByRole('complementary', { name: 'Event details' }).getByTestId('raw-record');
      await expect.poll(async () => (await raw.textContent()) ?? '').toContain(JSON.stringify(payload).slice(1, -1));
    }
    await expectInert();
  });
});
