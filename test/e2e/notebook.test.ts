import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { appendAndSave, useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

// The browser test is part of `npm test`: .ci/run installs Debian's chromium before it runs.
const dir = tempDir('cmdrun-e2e-');
const script = join(dir, 'notebook.sh');
const SOURCE = [
  '# %% First',
  'greeting="hello from the first block"',
  'printf "\\033[32m%s\\033[0m\\n" "$greeting"',
  '',
  '# %% Second',
  'echo "still here: $greeting"',
  'for i in 1 2 3; do printf "\\rstep %s" "$i"; done; echo',
  'false',
  '',
].join('\n');
writeFileSync(script, SOURCE);

const nb = useNotebook(script);

test('the page takes the token from the fragment and removes it from the address bar', async () => {
  expect(nb.page.url()).not.toContain('token');
  expect(await nb.page.evaluate(() => sessionStorage.getItem('cmdrun-token'))).toBe(nb.served.token);
  await expect(nb.page.locator('#file-name').textContent()).resolves.toBe('notebook.sh');
});

test('Shift+Enter runs two blocks in one session; each output appears under its block with its exit status', async () => {
  await nb.page.locator('.cm-content').click();
  await nb.page.keyboard.press('Control+Home');
  await nb.page.keyboard.press('ArrowDown'); // into the first block's code
  await nb.page.keyboard.press('Shift+Enter');
  await nb.page.waitForSelector('[data-testid="output"][data-exit-code]');
  await nb.page.keyboard.press('Shift+Enter'); // the cursor moved to the second block
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"][data-exit-code]').length === 2);

  const outputs = nb.page.locator('[data-testid="output"]');
  await expect(outputs.nth(0).getAttribute('data-exit-code')).resolves.toBe('0');
  await expect(outputs.nth(1).getAttribute('data-exit-code')).resolves.toBe('1');
  await expect(outputs.nth(0).locator('.output-body').textContent()).resolves.toBe('hello from the first block');
  // State carried over, and \r progress redrew one line instead of piling up.
  await expect(outputs.nth(1).locator('.output-body').textContent()).resolves.toBe('still here: hello from the first block\nstep 3');
  // Colour rendered as a styled span (ANSI green = palette colour 2), not as escape codes.
  await expect(outputs.nth(0).locator('.output-body span.fg-2').textContent()).resolves.toBe('hello from the first block');
  await expect(outputs.nth(1).locator('.output-status').textContent()).resolves.toMatch(/^exit 1 · \d+ ms/);
  await expect(outputs.nth(1).getAttribute('data-state')).resolves.toBe('failed');

  // Each panel sits right under its own block: after the block's last line, before the next block.
  const boxes = await nb.page.evaluate(() => {
    const lines = [...document.querySelectorAll('.cm-line')].map((l) => ({ text: l.textContent, top: l.getBoundingClientRect().top }));
    const panels = [...document.querySelectorAll('[data-testid="output"]')].map((p) => p.getBoundingClientRect().top);
    return { lines, panels };
  });
  const top = (text: string) => boxes.lines.find((l) => l.text === text)!.top;
  expect(boxes.panels[0]).toBeGreaterThan(top('printf "\\033[32m%s\\033[0m\\n" "$greeting"'));
  expect(boxes.panels[0]).toBeLessThan(top('# %% Second'));
  expect(boxes.panels[1]).toBeGreaterThan(top('false'));
});

test('Ctrl+Enter re-runs a block in place and replaces its output', async () => {
  await nb.page.locator('.cm-line', { hasText: 'greeting="hello' }).click();
  await nb.page.keyboard.press('Control+Enter');
  await nb.page.waitForFunction(() => {
    const first = document.querySelector('[data-testid="output"]');
    return first?.hasAttribute('data-exit-code') && document.querySelectorAll('[data-testid="output"]').length === 2;
  });
  await expect(nb.page.locator('[data-testid="output"]').count()).resolves.toBe(2);
});

test('Ctrl+S writes the edited file back to disk', async () => {
  await appendAndSave(nb.page, 'false', ' || echo recovered', 'notebook.sh');
  expect(readFileSync(script, 'utf8')).toBe(SOURCE.replace('false\n', 'false || echo recovered\n'));
});

test('Run all runs every block in order', async () => {
  await nb.page.click('#run-all');
  await nb.page.waitForFunction(
    () => [...document.querySelectorAll('[data-testid="output"]')].filter((o) => o.getAttribute('data-exit-code') === '0').length === 2,
  );
  await expect(nb.page.locator('[data-testid="output"]').nth(1).locator('.output-body').textContent()).resolves.toBe(
    'still here: hello from the first block\nstep 3\nrecovered',
  );
  expect(nb.pageErrors).toEqual([]);
});

test('a press and release on ▶ runs the block even when the gutter is drawn again between them', async () => {
  // As when the page lays out anew while output streams above: the pressed button is replaced
  // before the release, and the browser sends no click at all.
  const first = nb.page.locator('[data-testid="output"]').first();
  const before = await first.getAttribute('data-run-id');
  const button = nb.page.getByRole('button', { name: 'Run block 1 (First)', exact: true });
  const box = (await button.boundingBox())!;
  const clicks = await nb.page.evaluateHandle(() => {
    const seen: string[] = [];
    document.addEventListener('click', (e) => seen.push((e.target as Element).className), true);
    return seen;
  });
  await nb.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await nb.page.mouse.down();
  await button.evaluate((b) => b.replaceWith(b.cloneNode(true)));
  await nb.page.mouse.up();
  await nb.page.waitForFunction((id) => {
    const panel = document.querySelector('[data-testid="output"]');
    return panel?.getAttribute('data-run-id') !== id && panel?.getAttribute('data-exit-code') === '0';
  }, before);
  expect(await clicks.evaluate((seen) => seen)).toEqual([]);
  await expect(first.locator('.output-body').textContent()).resolves.toBe('hello from the first block');
  // A plain click still runs it once.
  const runs = await nb.page.evaluate(() => document.querySelectorAll('[data-testid="output"]').length);
  const again = await first.getAttribute('data-run-id');
  await button.click();
  await nb.page.waitForFunction((id) => document.querySelector('[data-testid="output"]')?.getAttribute('data-run-id') !== id, again);
  await nb.page.waitForFunction(() => document.querySelector('[data-testid="output"]')?.getAttribute('data-exit-code') === '0');
  await expect(nb.page.evaluate(() => document.querySelectorAll('[data-testid="output"]').length)).resolves.toBe(runs);
  expect(nb.pageErrors).toEqual([]);
});
