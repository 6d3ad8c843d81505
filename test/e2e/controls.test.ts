import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

// Block controls, run scopes, execution counts, Clear outputs, the shortcut dialog and keyboard-only use.
const dir = tempDir('cmdrun-e2e-controls-');
const script = join(dir, 'controls.sh');
writeFileSync(
  script,
  ['# %% A', 'echo "A ran"', '', '# %% B', 'echo "B ran"', '', '# %% C', 'echo "C ran"', '', '# %% D', 'echo "D ran"', ''].join('\n'),
);

const nb = useNotebook(script);

/** The panels now on the page: block letter (from the output text) -> count, state, text. */
async function panels(): Promise<{ text: string; count: string | null; state: string | null; label: string }[]> {
  return nb.page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="output"]')].map((o) => ({
      text: o.querySelector('.output-body')!.textContent ?? '',
      count: o.getAttribute('data-count'),
      state: o.getAttribute('data-state'),
      label: o.querySelector('.output-count')!.textContent ?? '',
    })),
  );
}
const settled = () =>
  nb.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="output"]')].every((o) => !['queued', 'running'].includes(o.getAttribute('data-state') ?? '')));
const clearAll = async () => {
  await nb.page.click('#clear');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"]').length === 0);
};
const cursorTo = (text: string) => nb.page.locator('.cm-line', { hasText: text }).click();

test('every block has a Run button on its first line, with an accessible name; clicking it runs that block', async () => {
  const buttons = nb.page.locator('.cm-run-gutter button.cm-run-button');
  await expect(buttons.count()).resolves.toBe(4);
  await expect(buttons.nth(1).getAttribute('aria-label')).resolves.toBe('Run block 2 (B)');
  // The button sits on the `# %% B` header line.
  const [button, header] = await Promise.all([
    buttons.nth(1).boundingBox(),
    nb.page.locator('.cm-line', { hasText: '# %% B' }).boundingBox(),
  ]);
  expect(Math.abs(button!.y + button!.height / 2 - (header!.y + header!.height / 2))).toBeLessThan(header!.height / 2);
  // Exposed to assistive technology (CodeMirror hides gutters; the run gutter is made visible to it).
  await nb.page.getByRole('button', { name: 'Run block 2 (B)', exact: true }).click();
  await settled();
  const [b] = await panels();
  expect(b).toMatchObject({ text: 'B ran', count: '1', state: 'ok', label: '[1]' });
});

test('the block menu runs above, below and from here; panels count up like Jupyter', async () => {
  await clearAll();
  const menuOf = (n: number) => nb.page.locator('.cm-run-gutter button.cm-run-menu-button').nth(n);
  await menuOf(2).click(); // block C
  await nb.page.waitForSelector('.run-menu [role="menuitem"]');
  await expect(nb.page.locator('.run-menu [role="menuitem"]').allTextContents()).resolves.toEqual([
    'Run blockCtrl/Cmd+Enter',
    'Run aboveCtrl+Shift+↑',
    'Run belowCtrl+Shift+↓',
    'Run from hereCtrl+Alt+Enter',
    'Historyearlier runs',
  ]);
  await nb.page.click('.run-menu [data-value="above"]');
  await settled();
  expect((await panels()).map((p) => [p.text, p.count])).toEqual([
    ['A ran', '2'],
    ['B ran', '3'],
  ]);

  await clearAll();
  await menuOf(1).click(); // block B
  // The menu works from the keyboard: arrows move, Enter chooses.
  await nb.page.keyboard.press('ArrowDown');
  await nb.page.keyboard.press('ArrowDown');
  await nb.page.keyboard.press('Enter'); // Run below
  await settled();
  expect((await panels()).map((p) => p.text)).toEqual(['C ran', 'D ran']);

  await clearAll();
  await menuOf(2).click();
  await nb.page.click('.run-menu [data-value="from"]');
  await settled();
  expect((await panels()).map((p) => p.text)).toEqual(['C ran', 'D ran']);
  // Escape closes the menu without running anything.
  await menuOf(0).click();
  await nb.page.keyboard.press('Escape');
  await expect(nb.page.locator('.run-menu').count()).resolves.toBe(0);
});

test('run above / below / from here and run all have keyboard shortcuts', async () => {
  const cases: [string, string, string[]][] = [
    ['echo "C ran"', 'Control+Shift+ArrowUp', ['A ran', 'B ran']],
    ['echo "B ran"', 'Control+Shift+ArrowDown', ['C ran', 'D ran']],
    ['echo "C ran"', 'Control+Alt+Enter', ['C ran', 'D ran']],
    ['echo "A ran"', 'Control+Shift+Enter', ['A ran', 'B ran', 'C ran', 'D ran']],
  ];
  for (const [line, keys, ran] of cases) {
    await clearAll();
    await cursorTo(line);
    await nb.page.keyboard.press(keys);
    await settled();
    expect((await panels()).map((p) => p.text), keys).toEqual(ran);
  }
});

test('Clear outputs removes finished outputs, and they stay cleared after a reload', async () => {
  await nb.page.keyboard.press('Control+Alt+k');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"]').length === 0);
  await nb.page.reload();
  await nb.page.waitForSelector('body[data-ready="true"]');
  await expect(nb.page.locator('[data-testid="output"]').count()).resolves.toBe(0);
});

test('"?" and F1 open a dialog that lists a shortcut for every toolbar control', async () => {
  await nb.page.click('#help');
  await nb.page.waitForSelector('dialog#shortcuts[open]');
  const rows = await nb.page.locator('#shortcut-list tr').allTextContents();
  for (const id of ['run-all', 'interrupt', 'restart', 'clear', 'save', 'help']) {
    const button = nb.page.locator(`#${id}`);
    const name = await button.getAttribute('aria-label');
    expect(name, id).toBeTruthy();
    expect(await button.getAttribute('aria-keyshortcuts'), id).toBeTruthy();
    const title = (await button.getAttribute('title'))!;
    const label = title.replace(/ \(.*\)$/, '');
    expect(rows.some((r) => r.includes(label)), `${id}: ${label}`).toBe(true);
  }
  for (const label of ['Run block and move to the next', 'Run every block above this one', 'Run every block below this one', 'Run this block and every block below']) {
    expect(rows.some((r) => r.includes(label)), label).toBe(true);
  }
  await nb.page.keyboard.press('Escape');
  await expect(nb.page.locator('dialog#shortcuts[open]').count()).resolves.toBe(0);
  await nb.page.locator('.cm-content').click();
  await nb.page.keyboard.press('F1');
  await nb.page.waitForSelector('dialog#shortcuts[open]');
  await nb.page.keyboard.press('Enter'); // Close has the focus
  await expect(nb.page.locator('dialog#shortcuts[open]').count()).resolves.toBe(0);
});

test('keyboard only: Tab reaches the toolbar buttons and Enter/Space use them; shortcuts work from the toolbar too', async () => {
  await nb.page.locator('.cm-content').click();
  // From the editor, Shift+Tab walks back through the toolbar.
  const reached: string[] = [];
  await nb.page.focus('#run-all');
  for (let i = 0; i < 8; i++) {
    reached.push(await nb.page.evaluate(() => document.activeElement?.id ?? ''));
    await nb.page.keyboard.press('Tab');
  }
  expect(reached).toEqual(['run-all', 'interrupt', 'restart', 'clear', 'save', 'export', 'environment', 'help']);
  // Enter on the focused Run all button runs everything.
  await nb.page.focus('#run-all');
  await nb.page.keyboard.press('Enter');
  await settled();
  expect((await panels()).map((p) => p.text)).toEqual(['A ran', 'B ran', 'C ran', 'D ran']);
  // A shortcut pressed while a toolbar button has the focus still works (Clear outputs).
  await nb.page.focus('#save');
  await nb.page.keyboard.press('Control+Alt+k');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"]').length === 0);
  // Restart from the keyboard: Ctrl+Alt+R, then Enter on the dialog's focused button would cancel,
  // so Tab back to Restart first.
  await nb.page.locator('.cm-content').click();
  await nb.page.keyboard.press('Control+Alt+r');
  await nb.page.waitForSelector('dialog#restart-dialog[open]');
  await nb.page.keyboard.press('Shift+Tab');
  await nb.page.keyboard.press('Enter');
  await nb.page.waitForFunction(() => document.querySelector('#message')?.textContent === 'shell restarted: all state was reset');
  // After a dialog the editor has the focus again.
  await expect(nb.page.evaluate(() => document.activeElement?.classList.contains('cm-content'))).resolves.toBe(true);
  expect(nb.pageErrors).toEqual([]);
});

test('Run all stops at a failing block: the blocks after it are cancelled, as in Jupyter', async () => {
  await nb.page.locator('.cm-line', { hasText: 'echo "B ran"' }).click();
  await nb.page.keyboard.press('End');
  await nb.page.keyboard.type('; sleep 0.3; false');
  await nb.page.click('#run-all');
  await settled();
  const states = (await panels()).map((p) => p.state);
  expect(states).toEqual(['ok', 'failed', 'cancelled', 'cancelled']);
  await nb.page.keyboard.press('Control+z');
});
