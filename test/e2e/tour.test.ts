import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

// The README's first steps, as a new user takes them on examples/tour.sh (a copy: the test saves it).
const dir = tempDir('cmdrun-e2e-tour-');
const script = join(dir, 'tour.sh');
copyFileSync(join(process.cwd(), 'examples', 'tour.sh'), script);
const SHOTS = join(process.cwd(), 'test-results', 'screenshots');

const nb = useNotebook(script);

const states = () => nb.page.evaluate(() => [...document.querySelectorAll('[data-testid="output"]')].map((o) => o.getAttribute('data-state')));
const panelWith = (text: string) => nb.page.locator('[data-testid="output"]', { hasText: text });

test('Run all: answer the prompt, interrupt the slow block; the blocks after it are cancelled', async () => {
  await nb.page.click('#run-all');
  await nb.page.waitForSelector('[data-testid="output"].waiting', { timeout: 60_000 });
  await nb.page.keyboard.type('Ada'); // the input line took the cursor
  await nb.page.keyboard.press('Enter');
  await panelWith('Nice to meet you, Ada!').waitFor();
  await panelWith('tick 2').waitFor();
  await nb.page.click('#interrupt');
  await nb.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="output"]')].every((o) => !['queued', 'running'].includes(o.getAttribute('data-state')!)));
  expect(await states()).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'interrupted', 'cancelled', 'cancelled']);
  await expect(panelWith('downloading').locator('.output-body').textContent()).resolves.toBe('downloading [##########] 100%');
  mkdirSync(SHOTS, { recursive: true });
  await nb.page.screenshot({ path: join(SHOTS, 'tour-run-all.png'), fullPage: true });
}, 120_000);

test('block by block: the ▶ button and Shift+Enter run the rest; restart; edit and save', async () => {
  await nb.page.getByRole('button', { name: 'Run block 8 (Clean up)', exact: true }).click();
  await panelWith('done').waitFor();
  await nb.page.locator('.cm-line', { hasText: 'greet "again"' }).click();
  await nb.page.keyboard.press('Shift+Enter');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"]')[8]?.getAttribute('data-state') === 'failed');
  await expect(nb.page.locator('[data-testid="output"]').nth(8).locator('.output-status').textContent()).resolves.toMatch(/^exit 2 · /);
  await expect(nb.page.locator('[data-testid="output"]').nth(8).locator('.output-body').textContent()).resolves.toContain('Hi, again!');

  await nb.page.click('#restart');
  await nb.page.click('dialog#restart-dialog button[value="restart"]');
  await nb.page.waitForFunction(() => document.querySelector('#message')?.textContent === 'shell restarted: all state was reset');
  await nb.page.locator('.cm-line', { hasText: 'greet "again"' }).click();
  await nb.page.keyboard.press('End');
  await nb.page.keyboard.type(' 2>/dev/null || echo "greet is gone after the restart"');
  await nb.page.keyboard.press('Control+Enter');
  await panelWith('greet is gone after the restart').waitFor();
  await nb.page.keyboard.press('Control+s');
  await nb.page.waitForFunction(() => document.querySelector('#file-name')?.textContent === 'tour.sh');
  expect(readFileSync(script, 'utf8')).toContain('greet "again" 2>/dev/null || echo "greet is gone after the restart"');
  expect(nb.pageErrors).toEqual([]);
});
