import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runBlockWith as runBlockWithIn, useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('cmdrun-e2e-ui-');
const script = join(dir, 'ui.sh');
writeFileSync(
  script,
  [
    '# %% ask',
    'printf "Your name? "; read -r name; echo "Hello, $name!"',
    '# %% long',
    'echo started; sleep 30; echo not-reached',
    '# %% state',
    'echo "name=${name:-unset}"',
    '# %% size',
    'stty size',
    '',
  ].join('\n'),
);

const nb = useNotebook(script);

const output = (n: number) => nb.page.locator('[data-testid="output"]').nth(n);

const runBlockWith = (text: string) => runBlockWithIn(nb.page, text);

test('a block that reads input gets an input line; Enter sends the answer', async () => {
  await runBlockWith('read -r name');
  const stdin = output(0).locator('[data-testid="stdin"]');
  await nb.page.waitForSelector('[data-testid="output"].waiting');
  await expect(stdin.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
  await nb.page.keyboard.type('Ada');
  await nb.page.keyboard.press('Enter');
  await nb.page.waitForSelector('[data-testid="output"][data-exit-code="0"]');
  await expect(output(0).locator('.output-body').textContent()).resolves.toBe('Your name? Ada\nHello, Ada!');
  await expect(stdin.isHidden()).resolves.toBe(true);
});

test('the Interrupt button stops a running block; the session keeps its state', async () => {
  await runBlockWith('sleep 30');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"]')[1]?.textContent?.includes('started'));
  await nb.page.click('#interrupt');
  await nb.page.waitForSelector('[data-testid="output"][data-exit-code="130"]');
  await expect(output(1).getAttribute('data-state')).resolves.toBe('interrupted');
  await expect(output(1).locator('.output-body').textContent()).resolves.not.toContain('not-reached');
  await runBlockWith('name=${name:-unset}');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"][data-exit-code]').length === 3);
  await expect(output(2).locator('.output-body').textContent()).resolves.toBe('name=Ada');
});

test('Ctrl+C in the editor interrupts the running block', async () => {
  await runBlockWith('sleep 30');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"]')[1]?.getAttribute('data-state') === 'running');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"]')[1]?.textContent?.includes('started'));
  await nb.page.locator('.cm-content').click(); // the editor has the focus, nothing is selected
  await nb.page.keyboard.press('Control+c');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"]')[1]?.getAttribute('data-exit-code') === '130');
});

test('Restart shell asks first, then resets state and says so', async () => {
  await nb.page.click('#restart');
  await nb.page.waitForSelector('dialog#restart-dialog[open]');
  await nb.page.click('dialog#restart-dialog button[value="cancel"]');
  // Cancelled: the shell still has its state.
  await runBlockWith('name=${name:-unset}');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"]')[2]?.getAttribute('data-count') === '5');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"]')[2]?.hasAttribute('data-exit-code'));
  await expect(output(2).locator('.output-body').textContent()).resolves.toBe('name=Ada');
  await nb.page.click('#restart');
  await nb.page.click('dialog#restart-dialog button[value="restart"]');
  await nb.page.waitForFunction(() => document.querySelector('#message')?.textContent === 'shell restarted: all state was reset');
  await runBlockWith('name=${name:-unset}');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"]')[2]?.textContent?.includes('name=unset'));
  expect(nb.pageErrors).toEqual([]);
});

test('the block\'s terminal is as wide as its output panel (COLUMNS follows the page)', async () => {
  await runBlockWith('stty size');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"][data-exit-code]').length === 4);
  const panel = output(3);
  const cols = Number(await panel.getAttribute('data-cols'));
  expect(cols).toBeGreaterThan(60);
  await expect(panel.locator('.output-body').textContent()).resolves.toBe(`30 ${cols}`);
  // The widest line the panel shows fits without wrapping.
  const fits = await panel.evaluate((el, n) => {
    const body = el.querySelector('.output-body') as HTMLElement;
    const probe = document.createElement('span');
    probe.style.display = 'block';
    probe.textContent = 'x'.repeat(n);
    body.append(probe);
    const ok = probe.getBoundingClientRect().height < 24;
    probe.remove();
    return ok;
  }, cols);
  expect(fits).toBe(true);
});
