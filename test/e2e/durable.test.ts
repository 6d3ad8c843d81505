import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('cmdrun-e2e-durable-');
const script = join(dir, 'long.sh');
writeFileSync(script, ['# %% quick', 'echo quick-done', '', '# %% slow', 'for i in $(seq 1 30); do echo "tick $i"; sleep 0.1; done', ''].join('\n'));
const ticks = Array.from({ length: 30 }, (_, i) => `tick ${i + 1}`).join('\n');

const nb = useNotebook(script);

const panelFor = (runText: string) => nb.page.locator('[data-testid="output"]', { hasText: runText });

test('reloading the page mid-run shows the finished output and the running block continues under its block', async () => {
  await nb.page.locator('.cm-line', { hasText: 'echo quick-done' }).click();
  await nb.page.keyboard.press('Control+Enter');
  await nb.page.waitForSelector('[data-testid="output"][data-exit-code="0"]');
  await nb.page.locator('.cm-line', { hasText: 'seq 1 30' }).click();
  await nb.page.keyboard.press('Control+Enter');
  await nb.page.waitForFunction(() => document.body.textContent?.includes('tick 5'));

  // The token survives the reload in sessionStorage, even though the address bar no longer has it.
  await nb.page.reload();
  await nb.page.waitForSelector('body[data-ready="true"]');
  await expect(nb.page.locator('[data-testid="output"]').count()).resolves.toBe(2);
  await expect(panelFor('quick-done').getAttribute('data-exit-code')).resolves.toBe('0');
  await expect(panelFor('quick-done').locator('.output-status').textContent()).resolves.toMatch(/^exit 0 · \d+ ms$/);

  await nb.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="output"]')].some((o) => o.textContent?.includes('tick 30') && o.hasAttribute('data-exit-code')), null, { timeout: 15_000 });
  await expect(panelFor('tick 1').locator('.output-body').textContent()).resolves.toBe(ticks);

  // Each panel sits under its own block.
  const tops = await nb.page.evaluate(() => {
    const top = (el: Element | null) => el!.getBoundingClientRect().top;
    const line = (text: string) => [...document.querySelectorAll('.cm-line')].find((l) => l.textContent === text) ?? null;
    const panels = [...document.querySelectorAll('[data-testid="output"]')];
    return { quick: top(panels[0]), quickLine: top(line('echo quick-done')), slowHeader: top(line('# %% slow')), slow: top(panels[1]), slowLine: top(line('for i in $(seq 1 30); do echo "tick $i"; sleep 0.1; done')) };
  });
  expect(tops.quick).toBeGreaterThan(tops.quickLine);
  expect(tops.quick).toBeLessThan(tops.slowHeader);
  expect(tops.slow).toBeGreaterThan(tops.slowLine);
});

test('editing a block that ran dims its output as stale; undoing the edit makes it current again', async () => {
  const quick = panelFor('quick-done');
  await expect(quick.getAttribute('class')).resolves.not.toContain('stale');
  await nb.page.locator('.cm-line', { hasText: 'echo quick-done' }).click();
  await nb.page.keyboard.press('End');
  await nb.page.keyboard.type(' now');
  await expect(quick.getAttribute('class')).resolves.toContain('stale');
  // Typing above a block moves its output along and leaves it current.
  await nb.page.keyboard.press('Control+z');
  await expect(quick.getAttribute('class')).resolves.not.toContain('stale');
  await nb.page.keyboard.press('Control+Home');
  await nb.page.keyboard.type('# a comment above everything\n');
  await expect(quick.getAttribute('class')).resolves.not.toContain('stale');
  await expect(panelFor('tick 1').getAttribute('class')).resolves.not.toContain('stale');
});

test('after a reload, an edited block\'s output is still shown, marked stale', async () => {
  // The page's edits are unsaved, so the reloaded page shows the file on disk: make it differ.
  writeFileSync(script, ['# %% quick', 'echo quick-done changed', '', '# %% slow', 'for i in $(seq 1 30); do echo "tick $i"; sleep 0.1; done', ''].join('\n'));
  nb.page.once('dialog', (d) => void d.accept()); // "leave with unsaved changes?"
  await nb.page.reload();
  await nb.page.waitForSelector('body[data-ready="true"]');
  await expect(panelFor('quick-done').getAttribute('class')).resolves.toContain('stale');
  await expect(panelFor('tick 1').getAttribute('class')).resolves.not.toContain('stale');
  expect(nb.pageErrors).toEqual([]);
});
