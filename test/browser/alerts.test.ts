import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type BrowserLab, type PageWatch } from './browser-harness.js';
import { deniedWithRay as denied } from '../helpers/events.js';

const USERS = {
  admin: { name: 'ada@example.com', password: 'correct-horse-battery-staple' },
  analyst: { name: 'alan@example.com', password: 'analyst-battery-staple-horse' },
  viewer: { name: 'vera@example.com', password: 'viewer-staple-horse-battery' },
} as const;
type Role = keyof typeof USERS;

const MINUTE = 60_000;
const ALICE = 'alice@example.com';
// Attacker-controlled values that end up in an alert's summary and entity; each would announce itself if run.
const HOSTILE_USER = '<img src=x onerror=alert("user")>@example.com';
const HOSTILE_APP = 'javascript:alert("app")';

/**
 * Alerts and rules in Debian's chromium against a real `zerotrail serve`: denied logins stored through the store
 * fire the built-in brute-force rule; an analyst opens, acknowledges and closes the alert and reads its history,
 * an admin disables the rule and sees a broken rule refused inline, and a viewer can read but not act.
 */
describe('Alerts and Rules pages', { timeout: 180_000 }, () => {
  let lab: BrowserLab;

  beforeAll(async () => {
    lab = await startLab({
      name: 'browser-alerts',
      users: (['admin', 'analyst', 'viewer'] as const).map((role) => ({ ...USERS[role], role })),
      seed: async (app) => {
        const start = Date.now() - 2 * 60 * MINUTE;
        await app.store.append(
          [
            ...Array.from({ length: 12 }, (_, n) => denied(n, start + n * 20_000, ALICE, 'Wiki')),
            ...Array.from({ length: 11 }, (_, n) => denied(100 + n, start + n * 20_000, HOSTILE_USER, HOSTILE_APP)),
          ],
          { id: 'cf/access_requests', value: {} },
        );
        const result = await app.detector.catchUp();
        expect(result.created).toBeGreaterThanOrEqual(2);
        // A rule file in the data directory, which the Rules page lists beside the built-in ones.
        mkdirSync(join(app.config.dataDir, 'rules'), { recursive: true });
        writeFileSync(
          join(app.config.dataDir, 'rules', 'acme-vpn-denied.yaml'),
          [
            'id: acme-vpn-denied',
            'title: Denied VPN login',
            'type: event',
            'severity: low',
            'technique: T1078',
            'description: A denied login to the VPN application.',
            'match: { dataset: access_requests, outcome: failure, app: vpn.example.com }',
            "summary: '{user} was denied the VPN'",
            '',
          ].join('\n'),
        );
      },
    });
  }, 180_000);

  afterAll(() => lab?.close());

  function signIn(role: Role, path: string): Promise<{ page: Page; watch: PageWatch }> {
    return lab.openSignedInPage(USERS[role], path, { viewport: { width: 1280, height: 900 } });
  }

  function aliceRow(page: Page) {
    return page
      .getByRole('table', { name: 'Alerts' })
      .getByRole('row')
      .filter({ hasText: `${ALICE} was denied` });
  }

  it('lists the alert, opens it, acknowledges it, closes it with a reason and shows the history', async () => {
    const { page, watch } = await signIn('analyst', '/explore');
    // The navigation counts the open alerts: alice's and the hostile one.
    const navigation = page.getByRole('navigation', { name: 'Pages' });
    expect(await navigation.locator('.nav-count').textContent()).toBe('2');
    await navigation.getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Alerts', exact: true }).waitFor();
    const row = aliceRow(page);
    await row.waitFor();
    const cells = await row.getByRole('cell').allTextContents();
    expect(cells[0]).toBe('high');
    expect(cells[1]).toContain('Brute force against a user');
    expect(cells[2]).toContain(ALICE);
    expect(cells[3]).toBe('12');
    expect(cells[6]).toBe('open');

    // The severity filter is in the URL and leaves the high alert in, a low one out.
    await page.getByLabel('Severity').selectOption('low');
    await page.getByText('No alerts match these filters.').waitFor();
    expect(new URL(page.url()).searchParams.get('severity')).toBe('low');
    await page.getByLabel('Severity').selectOption('high');
    await aliceRow(page).waitFor();

    await aliceRow(page).getByRole('link', { name: 'Brute force against a user' }).click();
    await page.getByRole('heading', { name: 'Brute force against a user' }).waitFor();
    expect(await page.getByLabel('Summary').textContent()).toMatch(/^alice@example\.com was denied 12 times/);
    const technique = page.getByRole('link', { name: 'T1110.001' });
    expect(await technique.getAttribute('href')).toBe('https://attack.mitre.org/techniques/T1110/001/');
    expect(await page.getByRole('table', { name: 'Evidence events' }).getByRole('row').count()).toBe(13);

    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByText('Alert acknowledged.').waitFor();
    expect(await page.getByLabel('Alert status').textContent()).toBe('acknowledged');

    const close = page.getByRole('form', { name: 'Close alert' });
    await close.getByLabel('Reason').selectOption('false_positive');
    await close.getByLabel('Closing note').fill('Penetration test agreed with the owner.');
    await close.getByRole('button', { name: 'Close alert' }).click();
    await page.getByText('Alert closed.').waitFor();
    expect(await page.getByLabel('Alert status').textContent()).toBe('closed (False positive)');
    await page.getByRole('link', { name: '← All alerts' }).click();
    await aliceRow(page).waitFor();
    // Closing it leaves the hostile one open.
    await navigation.locator('.nav-count').filter({ hasText: /^1$/ }).waitFor();
    await aliceRow(page).getByRole('link', { name: 'Brute force against a user' }).click();

    const history = page.getByRole('table', { name: 'Alert history' }).getByRole('row');
    await history.filter({ hasText: 'commented' }).waitFor();
    const lines = (await history.allTextContents()).slice(1);
    // Closing with a note records the close and the note as two entries.
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain('created');
    expect(lines[1]).toContain(USERS.analyst.name);
    expect(lines[1]).toContain('acknowledged');
    expect(lines[2]).toContain('closed');
    expect(lines[2]).toContain('reason: false_positive');
    expect(lines[3]).toContain('commented');
    expect(lines[3]).toContain('text: Penetration test agreed with the owner.');
    // A comment written over several lines keeps its line breaks; only characters that hide text are escaped.
    const commenting = page.getByRole('form', { name: 'Comment on alert' });
    await commenting.getByLabel('Comment').fill('Checked with the user.\nIt was a script.\u202e');
    await commenting.getByRole('button', { name: 'Add comment' }).click();
    const noted = history.filter({ hasText: 'It was a script.' });
    await noted.waitFor();
    expect(await noted.textContent()).toContain('text: Checked with the user.\nIt was a script.\\u202e');

    // A closed alert that needs another look goes back to open, and can be closed again.
    await page.getByRole('button', { name: 'Reopen' }).click();
    await page.getByText('Alert reopened.').waitFor();
    expect(await page.getByLabel('Alert status').textContent()).toBe('open');
    await history.filter({ hasText: 'reopened' }).waitFor();
    await close.getByLabel('Reason').selectOption('false_positive');
    await close.getByRole('button', { name: 'Close alert' }).click();
    await page.getByText('Alert closed.').waitFor();

    // Each evidence event opens Explore on the alert's events with that event in the panel.
    const first = page.getByRole('table', { name: 'Evidence events' }).getByRole('link').first();
    const eventId = (await first.textContent()) ?? '';
    await first.click();
    await page.getByRole('complementary', { name: 'Event details' }).waitFor();
    const url = new URL(page.url());
    expect(url.pathname).toBe('/explore');
    expect(url.searchParams.get('event')).toBe(eventId);
    expect(url.searchParams.get('q')).toContain(`id:"${eventId}"`);
    expect(watch.pageErrors).toEqual([]);
  });

  it('shows hostile values in an alert as inert text', async () => {
    const { page, watch } = await signIn('analyst', '/alerts');
    const row = page
      .getByRole('table', { name: 'Alerts' })
      .getByRole('row')
      .filter({ hasText: `${HOSTILE_USER} was denied` });
    await row.waitFor();
    await row.getByRole('link', { name: 'Brute force against a user' }).click();
    await page.getByLabel('Summary').waitFor();
    expect(await page.getByLabel('Summary').textContent()).toContain(HOSTILE_USER);
    await page.waitForTimeout(300);
    expect(watch.dialogs).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('[onerror], [onload], [onclick]').count()).toBe(0);
    for (const link of await page.locator('a[href]').all()) {
      const href = (await link.getAttribute('href')) ?? '';
      expect(href).not.toMatch(/^\s*javascript:/i);
      expect(href).toMatch(/^(\/[a-z]*([?#][^<>"\s]*)?|https:\/\/attack\.mitre\.org\/techniques\/T\d{4}\/(\d{3}\/)?)$/);
    }
  });

  it('assigns an alert to the signed-in user when the Assignee field is left empty, and unassigns only on request', async () => {
    const { page, watch } = await signIn('analyst', '/alerts');
    const row = page
      .getByRole('table', { name: 'Alerts' })
      .getByRole('row')
      .filter({ hasText: `${HOSTILE_USER} was denied` });
    await row.getByRole('link', { name: 'Brute force against a user' }).click();
    const assignee = page.getByLabel('Alert assignee');
    await assignee.waitFor();
    expect(await assignee.textContent()).toBe('nobody');
    // Nobody to unassign yet.
    expect(await page.getByRole('button', { name: 'Unassign' }).count()).toBe(0);

    // The empty field shows the signed-in user as its placeholder, and that is whom Assign gives the alert to.
    const form = page.getByRole('form', { name: 'Assign alert' });
    expect(await form.getByLabel('Assignee').getAttribute('placeholder')).toBe(USERS.analyst.name);
    await form.getByRole('button', { name: 'Assign', exact: true }).click();
    await page.getByText(`Alert assigned to ${USERS.analyst.name}.`).waitFor();
    expect(await assignee.textContent()).toBe(USERS.analyst.name);

    // A name typed in the field wins over the placeholder.
    await form.getByLabel('Assignee').fill(USERS.admin.name);
    await form.getByRole('button', { name: 'Assign', exact: true }).click();
    await page.getByText(`Alert assigned to ${USERS.admin.name}.`).waitFor();
    expect(await assignee.textContent()).toBe(USERS.admin.name);

    // Unassigning is its own button, shown while someone has the alert.
    await form.getByRole('button', { name: 'Unassign' }).click();
    await page.getByText('Alert unassigned.').waitFor();
    expect(await assignee.textContent()).toBe('nobody');
    expect(await form.getByRole('button', { name: 'Unassign' }).count()).toBe(0);
    expect(watch.pageErrors).toEqual([]);
  });

  it('lets an admin set the sensitive applications of a first-seen rule, shows the tuning to an analyst, and resets it', async () => {
    const { page, watch } = await signIn('admin', '/rules');
    const card = page.getByRole('region', { name: 'Rule zt-first-sensitive-app' });
    await card.getByRole('button', { name: 'Tune zt-first-sensitive-app' }).click();
    const tuning = card.getByRole('form', { name: 'Tuning of zt-first-sensitive-app' });
    expect(await tuning.getByLabel('values').inputValue()).toBe('');
    // The grouping is shown, not offered for editing.
    expect(await tuning.getByLabel('group_by').count()).toBe(0);
    await card.getByText('One alert per user.').waitFor();
    await tuning.getByLabel('values').fill('payroll.example.com\nfinance.example.com, admin.example.com\n');
    await tuning.getByLabel('learning').fill('7d');
    await tuning.getByLabel('Countries').fill('NL');
    await tuning.getByRole('button', { name: 'Save tuning' }).click();
    await card.getByText('Tuning saved.').waitFor();

    await page.reload();
    const reloaded = page.getByRole('region', { name: 'Rule zt-first-sensitive-app' });
    const inEffect = reloaded.getByLabel('Tuning in effect for zt-first-sensitive-app');
    await inEffect.waitFor();
    const terms = await inEffect.locator('dt').allTextContents();
    const values = await inEffect.locator('dd').allTextContents();
    expect(Object.fromEntries(terms.map((term, i) => [term, values[i]]))).toEqual({
      values: 'payroll.example.com, finance.example.com, admin.example.com (rule file: none)',
      learning: '7d (rule file: 14d)',
      'Allowed countries': 'NL',
    });
    expect(await reloaded.getByText(`Tuned by ${USERS.admin.name}`).count()).toBe(1);
    await reloaded.getByRole('button', { name: 'Tune zt-first-sensitive-app' }).click();
    expect(await reloaded.getByLabel('values').inputValue()).toBe(
      'payroll.example.com\nfinance.example.com\nadmin.example.com',
    );
    // A value the rule type refuses is named by the server and nothing is saved.
    await reloaded.getByLabel('learning').fill('soon');
    await reloaded.getByRole('button', { name: 'Save tuning' }).click();
    await reloaded.getByRole('alert').filter({ hasText: 'params.learning' }).waitFor();

    // An analyst reads what is in effect but is offered no change.
    const analyst = await signIn('analyst', '/rules');
    const analystCard = analyst.page.getByRole('region', { name: 'Rule zt-first-sensitive-app' });
    await analystCard
      .getByLabel('Tuning in effect for zt-first-sensitive-app')
      .getByText('payroll.example.com')
      .waitFor();
    await analyst.page.getByText('Only an admin can enable, disable or tune rules.').waitFor();
    expect(await analystCard.getByRole('button').count()).toBe(0);

    // The rule file's values come back with one click.
    await reloaded.getByRole('button', { name: 'Reset to the rule file' }).click();
    await reloaded.getByText('Tuning reset to the rule file.').waitFor();
    expect(await reloaded.getByLabel('Tuning in effect for zt-first-sensitive-app').count()).toBe(0);
    expect(await reloaded.getByLabel('values').inputValue()).toBe('');
    expect(await reloaded.getByLabel('learning').inputValue()).toBe('14d');

    // A rule from a file in the data directory is listed with its origin.
    const fileRule = page.getByRole('region', { name: 'Rule acme-vpn-denied' });
    expect(await fileRule.locator('.badges').textContent()).toContain('rule file');
    expect(watch.pageErrors).toEqual([]);
  });

  it('lets a viewer read an alert but offers no action', async () => {
    const { page } = await signIn('viewer', '/alerts?status=closed');
    // Notification delivery is for those who act on alerts.
    await aliceRow(page).waitFor();
    expect(await page.getByRole('region', { name: 'Notification delivery' }).count()).toBe(0);
    await aliceRow(page).getByRole('link', { name: 'Brute force against a user' }).click();
    await page.getByRole('heading', { name: 'Brute force against a user' }).waitFor();
    await page.getByText('Viewers can read alerts; an analyst or an admin acknowledges').waitFor();
    expect(await page.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Reopen' }).count()).toBe(0);
    expect(await page.getByRole('form', { name: 'Close alert' }).count()).toBe(0);
  });

  it('lets an admin disable and tune a rule, and shows why a pasted rule is refused', async () => {
    const { page } = await signIn('admin', '/rules');
    const card = page.getByRole('region', { name: 'Rule zt-brute-force-user' });
    await card.waitFor();
    expect(await card.getByLabel('State of zt-brute-force-user').textContent()).toBe('enabled');
    await card.getByRole('button', { name: 'Disable zt-brute-force-user' }).click();
    await card.getByText('Rule disabled.').waitFor();
    expect(await card.getByLabel('State of zt-brute-force-user').textContent()).toBe('disabled');
    await page.reload();
    await page.getByRole('region', { name: 'Rule zt-brute-force-user' }).waitFor();
    expect(
      await page
        .getByRole('region', { name: 'Rule zt-brute-force-user' })
        .getByLabel('State of zt-brute-force-user')
        .textContent(),
    ).toBe('disabled');

    const tunedCard = page.getByRole('region', { name: 'Rule zt-brute-force-user' });
    await tunedCard.getByRole('button', { name: 'Tune zt-brute-force-user' }).click();
    const tuning = tunedCard.getByRole('form', { name: 'Tuning of zt-brute-force-user' });
    expect(await tuning.getByLabel('threshold').inputValue()).toBe('10');
    await tuning.getByLabel('threshold').fill('25');
    await tuning.getByLabel('IP addresses or CIDR ranges').fill('192.0.2.0/24\nnot-an-address');
    await tuning.getByRole('button', { name: 'Save tuning' }).click();
    await tunedCard.getByText('"not-an-address" is not an address or CIDR range', { exact: false }).waitFor();
    await tuning.getByLabel('IP addresses or CIDR ranges').fill('192.0.2.0/24');
    await tuning.getByRole('button', { name: 'Save tuning' }).click();
    await tunedCard.getByText('Tuning saved.').waitFor();
    await page.reload();
    const reloaded = page.getByRole('region', { name: 'Rule zt-brute-force-user' });
    await reloaded.getByRole('button', { name: 'Tune zt-brute-force-user' }).click();
    expect(await reloaded.getByLabel('threshold').inputValue()).toBe('25');
    expect(await reloaded.getByLabel('IP addresses or CIDR ranges').inputValue()).toBe('192.0.2.0/24');
    expect(await reloaded.getByLabel('State of zt-brute-force-user').textContent()).toBe('disabled');

    const form = page.getByRole('form', { name: 'Add rule' });
    await form
      .getByLabel('Rule YAML')
      .fill('id: acme-test\ntitle: Test\ntype: event\nseverity: urgent\ntechnique: T1078\ndescription: x\nsummary: x');
    await form.getByRole('button', { name: 'Add rule' }).click();
    const error = form.getByRole('alert');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/^rule: severity: /);
  });
});
