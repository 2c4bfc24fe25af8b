import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../src/core/event.js';
import { startLab, type BrowserLab, type LabUser } from './browser-harness.js';

const ANALYST: LabUser = { name: 'ivan@example.com', password: 'correct-horse-battery-staple', role: 'analyst' };
const HOUR = 3_600_000;
const SOURCE = 'Escapes Lab';

// A right-to-left override makes `evil` read as `live`: shown raw, the user below reads as the decoy.
const DISGUISED_USER = '\u202eevil\u202c-admin@example.com';
const DECOY_USER = 'live-admin@example.com';
const DISGUISED_IDP = '\u202eright-to-left override';
// What no query text may hold: these would reorder or hide what is around them.
const DISGUISING = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

function event(n: number, time: number, user: string, idp: string): NormalizedEvent {
  return {
    id: `${time.toString(16).padStart(12, '0')}${String(n).padStart(20, '9')}`,
    time,
    sourceName: SOURCE,
    accountId: '0123456789abcdef0123456789abcdef',
    dataset: 'access_requests',
    classUid: 3002,
    activity: 'logon',
    outcome: 'failure',
    user,
    srcIp: '192.0.2.80',
    country: 'us',
    app: 'Wiki',
    appUid: null,
    idp,
    rayId: `c${String(n).padStart(15, '0')}`,
    ocsf: { class_uid: 3002 },
    raw: {},
  };
}

/**
 * Filter for and value completion put a value holding bidi or invisible characters into the query bar as the
 * `\u` escapes the rest of the UI shows, and the search finds exactly that value.
 */
describe('values with bidi characters in the Explore query bar', { timeout: 180_000 }, () => {
  let lab: BrowserLab;
  let page: Page;

  beforeAll(async () => {
    const now = Date.now();
    lab = await startLab({
      name: 'browser-query-escapes',
      users: [ANALYST],
      seed: (app) =>
        app.store.append(
          [
            event(1, now - HOUR, DISGUISED_USER, DISGUISED_IDP),
            event(2, now - HOUR - 60_000, DECOY_USER, 'okta'),
            event(3, now - HOUR - 120_000, 'evil-admin@example.com', 'okta'),
          ],
          { id: `${SOURCE}/access_requests`, value: {} },
        ),
    });
    ({ page } = await lab.openSignedInPage(ANALYST, '/explore'));
  }, 180_000);

  afterAll(() => lab?.close());

  const rows = (): Locator => page.getByRole('table', { name: 'Matching events' }).locator('tbody tr');
  const query = (): Locator => page.getByRole('textbox', { name: 'Query' });

  it('filters for the value as escapes and finds exactly its event', async () => {
    await page.goto(`${lab.serve.url}/explore?q=${encodeURIComponent('outcome:failure')}`);
    await expect.poll(() => rows().count()).toBe(3);
    const row = rows().filter({ hasText: '\\u202eevil\\u202c-admin@example.com' });
    await row.hover();
    await row.getByRole('button', { name: 'Actions for User' }).click();
    await page
      .getByRole('menu', { name: 'User value' })
      .getByRole('menuitem', { name: 'Filter for this value' })
      .click();
    const expected = 'outcome:failure AND user:"\\u202eevil\\u202c-admin@example.com"';
    await page.waitForURL((url) => url.searchParams.get('q') === expected);
    expect(await query().inputValue()).toBe(expected);
    await expect.poll(() => rows().count()).toBe(1);
    expect(await rows().first().textContent()).toContain('\\u202eevil\\u202c-admin@example.com');
  });

  it('completes a value as escapes after field:, and the query finds it', async () => {
    await page.goto(`${lab.serve.url}/explore`);
    await rows().first().waitFor();
    const suggestions = page.getByRole('listbox', { name: 'Suggestions' });
    await query().click();
    await query().pressSequentially('idp:');
    const option = suggestions.getByRole('option', { name: '\\u202eright-to-left override' });
    await option.waitFor();
    await option.click();
    const text = await query().inputValue();
    expect(text).toBe('idp:"\\u202eright-to-left override"');
    expect(DISGUISING.exec(text)).toBeNull();
    await query().press('Enter');
    await page.waitForURL((url) => url.searchParams.get('q') === text);
    await expect.poll(() => rows().count()).toBe(1);
    expect(await rows().first().textContent()).toContain('\\u202eevil\\u202c-admin@example.com');
  });
});
