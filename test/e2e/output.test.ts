import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runBlockWith as runBlockWithIn, useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

// Terminal-grade output: colours, links, 100,000 lines, the cap and Copy; themes and layout.
const dir = tempDir('cmdrun-e2e-output-');
const script = join(dir, 'output.sh');
writeFileSync(
  script,
  [
    '# %% colours and links',
    "printf '\\033[31mred\\033[0m plain \\033[1mbold\\033[0m\\n'",
    "echo 'docs at https://example.com/guide?x=1. and the failing line: output.sh:7'",
    '',
    '# %% many lines',
    '# 100,000 lines over a second or more, in 20 bursts',
    'for i in $(seq 0 19); do seq $((i * 5000 + 1)) $((i * 5000 + 5000)); sleep 0.05; done',
    '',
    '# %% edit here',
    'echo edited',
    '',
  ].join('\n'),
);

/** Screenshots of the themes, kept for people to look at (test-results/ is not committed). */
const SHOTS = join(process.cwd(), 'test-results', 'screenshots');

const nb = useNotebook(script);
const output = (n: number) => nb.page.locator('[data-testid="output"]').nth(n);
const runBlockWith = (text: string) => runBlockWithIn(nb.page, text);

test('a red span is red (computed style), bold is bold, and links are links', async () => {
  await runBlockWith("printf '\\033[31mred");
  await nb.page.waitForSelector('[data-testid="output"][data-exit-code="0"]');
  const red = output(0).locator('span.fg-1');
  await expect(red.textContent()).resolves.toBe('red');
  await expect(red.evaluate((el) => getComputedStyle(el).color)).resolves.toBe('rgb(204, 0, 0)');
  await expect(output(0).locator('span.bold').evaluate((el) => getComputedStyle(el).fontWeight)).resolves.toBe('700');

  const url = output(0).locator('a.output-link[href^="https:"]');
  await expect(url.getAttribute('href')).resolves.toBe('https://example.com/guide?x=1');
  await expect(url.getAttribute('rel')).resolves.toBe('noopener noreferrer');
  await expect(url.getAttribute('target')).resolves.toBe('_blank');
  // A `file:line` of the script itself puts the cursor on that line.
  await output(0).locator('a.output-link', { hasText: 'output.sh:7' }).click();
  await expect(nb.page.locator('.cm-activeLine').textContent()).resolves.toMatch(/^for i in/);
});

test('100,000 lines stream without freezing the page: key presses are handled within 200 ms, the panel keeps its height', async () => {
  await runBlockWith('for i in $(seq 0 19)');
  const runId = await nb.page.evaluate(() => document.querySelectorAll('[data-testid="output"]')[1].getAttribute('data-run-id'));
  const panel = nb.page.locator(`[data-run-id="${runId}"]`);
  await nb.page.evaluate((id) => {
    const w = window as unknown as { delays: { ms: number; state: string | null }[] };
    w.delays = [];
    addEventListener(
      'keydown',
      (event) => {
        // event.timeStamp is when the browser got the key: the difference is the time it waited.
        const state = document.querySelector(`[data-run-id="${id}"]`)?.getAttribute('data-state') ?? null;
        w.delays.push({ ms: performance.now() - event.timeStamp, state });
      },
      true,
    );
  }, runId);
  const heights: number[] = [];
  for (let i = 0; i < 100 && (await panel.getAttribute('data-state')) !== 'ok'; i++) {
    await nb.page.keyboard.press('Shift'); // a key event that changes nothing
    heights.push((await panel.boundingBox())!.height);
  }
  await nb.page.waitForSelector(`[data-run-id="${runId}"][data-state="ok"]`, { timeout: 60_000 });
  const delays = await nb.page.evaluate(() => (window as unknown as { delays: { ms: number; state: string | null }[] }).delays);
  const whileRunning = delays.filter((d) => d.state === 'running');
  expect(whileRunning.length).toBeGreaterThan(0);
  // Never frozen: a page that drew 100,000 lines at once would hold keys for seconds. (Under 200 ms
  // on a quiet machine; this bound must also hold on a loaded CI machine.)
  expect(Math.max(...whileRunning.map((d) => d.ms))).toBeLessThan(1000);
  // The panel grows to its maximum height (60% of the 900 px window, plus header) and stays there.
  expect(Math.max(...heights)).toBeLessThan(900 * 0.6 + 120);

  // The last 2,000 lines are drawn; the rest is a click away, and Copy has everything.
  const body = panel.locator('.output-body');
  const shownLines = () => body.evaluate((el) => el.textContent!.split('\n').length);
  await expect(body.evaluate((el) => el.textContent!.endsWith('99999\n100000'))).resolves.toBe(true);
  await expect(shownLines()).resolves.toBe(2000);
  await expect(panel.locator('.output-more').textContent()).resolves.toMatch(/earlier lines not shown/);
  await panel.getByRole('button', { name: 'Show all' }).click();
  expect(await shownLines()).toBeGreaterThan(9_000);
  await panel.getByRole('button', { name: 'Show last 2000' }).click();
  await expect(shownLines()).resolves.toBe(2000);

  await nb.browser.grantPermissions(['clipboard-read', 'clipboard-write']);
  await panel.getByRole('button', { name: 'Copy all output' }).click();
  await nb.page.waitForFunction(() => document.querySelector('#message')?.textContent === 'output copied');
  const copied = await nb.page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(Array.from({ length: 100_000 }, (_, i) => String(i + 1)).join('\n'));
});

test('runs never enter the undo history, and outputs stay under their blocks while lines are added above', async () => {
  await nb.page.locator('.cm-line', { hasText: 'echo edited' }).click();
  await nb.page.keyboard.press('End');
  await nb.page.keyboard.type(' again');
  await nb.page.keyboard.press('Control+Enter');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"][data-exit-code]').length === 3);
  await expect(output(2).locator('.output-body').textContent()).resolves.toBe('edited again');
  // One Ctrl+Z takes back the typing: the run left no step of its own in the history.
  await nb.page.keyboard.press('Control+z');
  await expect(nb.page.locator('.cm-line', { hasText: 'echo edited' }).textContent()).resolves.toBe('echo edited');
  await expect(output(2).evaluate((el) => el.classList.contains('stale'))).resolves.toBe(true);
  await nb.page.keyboard.press('Control+y');
  await expect(nb.page.locator('.cm-line', { hasText: 'echo edited' }).textContent()).resolves.toBe('echo edited again');
  await expect(output(2).evaluate((el) => el.classList.contains('stale'))).resolves.toBe(false);

  // Lines typed above the first block: every panel stays right under its own block.
  await nb.page.keyboard.press('Control+Home');
  await nb.page.keyboard.type('# notes\n\n');
  const gap = await nb.page.evaluate(() => {
    const line = [...document.querySelectorAll('.cm-line')].find((l) => l.textContent === 'echo edited again')!;
    const panel = document.querySelectorAll('[data-testid="output"]')[2];
    return panel.getBoundingClientRect().top - line.getBoundingClientRect().bottom;
  });
  expect(gap).toBeGreaterThanOrEqual(0);
  expect(gap).toBeLessThan(8);
  await expect(nb.page.locator('[data-testid="output"]').count()).resolves.toBe(3);
});

test('light and dark themes follow the system; the layout holds at 900 px (screenshots kept in test-results/)', async () => {
  mkdirSync(SHOTS, { recursive: true });
  const look = () =>
    nb.page.evaluate(() => ({
      body: getComputedStyle(document.body).backgroundColor,
      editor: getComputedStyle(document.querySelector('.cm-editor')!).backgroundColor,
      text: getComputedStyle(document.querySelector('.cm-content')!).color,
      red: getComputedStyle(document.querySelector('span.fg-1')!).color,
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      toolbar: document.querySelector('.toolbar')!.getBoundingClientRect().height,
    }));
  const luminance = (rgb: string) => {
    const [r, g, b] = rgb.match(/\d+/g)!.map(Number);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  };
  await nb.page.keyboard.press('Control+Home');
  await nb.page.emulateMedia({ colorScheme: 'light' });
  const light = await look();
  await nb.page.screenshot({ path: join(SHOTS, 'light.png') });
  await nb.page.emulateMedia({ colorScheme: 'dark' });
  await nb.page.waitForFunction(() => getComputedStyle(document.body).backgroundColor !== 'rgb(251, 251, 250)');
  const dark = await look();
  await nb.page.screenshot({ path: join(SHOTS, 'dark.png') });
  expect(luminance(light.body)).toBeGreaterThan(0.9);
  expect(luminance(dark.body)).toBeLessThan(0.2);
  expect(luminance(dark.editor)).toBeLessThan(0.2); // CodeMirror's theme follows too
  expect(luminance(dark.text)).toBeGreaterThan(0.6);
  expect(dark.red).not.toBe(light.red); // the ANSI palette is themed, not fixed

  await nb.page.setViewportSize({ width: 900, height: 800 });
  const narrow = await look();
  await nb.page.screenshot({ path: join(SHOTS, 'dark-900.png') });
  expect(narrow.overflow).toBe(0);
  expect(narrow.toolbar).toBeLessThan(50); // one row of buttons
  await nb.page.emulateMedia({ colorScheme: 'light' });
  await nb.page.screenshot({ path: join(SHOTS, 'light-900.png') });
  expect(nb.pageErrors).toEqual([]);
});
