// The history on the page, across real cmdrun processes: a server stopped with SIGTERM, one
// killed with SIGKILL mid-run, then a new server on the same script shows the earlier outputs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { serveCli, type Served } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { validateNotebook } from '../helpers/nbformat.js';

const SHOTS = join(process.cwd(), 'test-results', 'screenshots');
mkdirSync(SHOTS, { recursive: true });
const dir = tempDir('cmdrun-e2e-history-');
const script = join(dir, 'ops.sh');
const blocks = (greet: string) =>
  [
    '# %% greet',
    greet,
    '',
    '# %% colour',
    "printf '\\033[32mgreen\\033[0m <b>not bold</b>\\n'",
    '',
    '# %% fails',
    'echo oops; false',
    '',
    '# %% slow',
    'for i in $(seq 1 300); do echo "tick $i"; sleep 0.02; done',
    '',
  ].join('\n');
writeFileSync(script, blocks('echo "hello from the past"'));

let browser: BrowserContext;
let page: Page;
let served: Served | undefined;
const pageErrors: string[] = [];

/** Starts a cmdrun on the script (the same history: the test's XDG_STATE_HOME) and opens it. */
async function serve(): Promise<void> {
  served = await serveCli([script]);
  await page.goto(served.url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
}
async function stop(signal: NodeJS.Signals): Promise<void> {
  served!.child.kill(signal);
  await served!.exited;
  served = undefined;
}

beforeAll(async () => {
  browser = await launchBrowser();
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
}, 30_000);
afterAll(async () => {
  await browser?.close();
  if (served) await stop('SIGTERM');
});

const panel = (text: string) => page.locator('[data-testid="output"]', { hasText: text });
const infoOf = (text: string) =>
  panel(text).evaluate((el) => ({
    state: (el as HTMLElement).dataset.state,
    exit: (el as HTMLElement).dataset.exitCode,
    status: el.querySelector('.output-status')!.textContent,
    note: el.querySelector('.output-note')!.textContent,
    history: el.classList.contains('from-history'),
    stale: el.classList.contains('stale'),
  }));
const ended = (n: number) =>
  page.waitForFunction((n) => document.querySelectorAll('[data-testid="output"][data-exit-code]').length >= n, n, { timeout: 15_000 });
const EARLIER = /^earlier session · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

test('after SIGTERM, a new server shows each block\'s last output under it, marked "earlier session"; a run in this session replaces it', async () => {
  await serve();
  await page.click('#run-all'); // stops at "fails": "slow" is cancelled
  await ended(4);
  await stop('SIGTERM');

  await serve();
  await ended(3);
  expect(await page.locator('[data-testid="output"]').count()).toBe(3);
  expect(await page.locator('#message').textContent()).toBe("3 outputs of earlier sessions shown (a block's ⋯ menu has its History)");
  expect(await infoOf('hello from the past')).toMatchObject({ state: 'ok', exit: '0', history: true, stale: false });
  expect((await infoOf('hello from the past')).note).toMatch(EARLIER);
  expect((await infoOf('hello from the past')).status).toMatch(/^exit 0 · \d+ ms$/);
  expect(await infoOf('oops')).toMatchObject({ state: 'failed', exit: '1' });
  // Colours are drawn again; what the block printed is text.
  expect(await panel('green').locator('.fg-2').textContent()).toBe('green');
  expect(await panel('green').locator('b').count()).toBe(0);
  expect(await panel('green').locator('.output-body').textContent()).toBe('green <b>not bold</b>');
  await page.screenshot({ path: join(SHOTS, 'history-earlier-session.png') });

  await page.locator('.cm-line', { hasText: 'hello from the past' }).click();
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('[data-testid="output"][data-count="1"][data-exit-code="0"]');
  expect(await page.locator('[data-testid="output"]', { hasText: 'hello from the past' }).count()).toBe(1);
  expect(await infoOf('hello from the past')).toMatchObject({ history: false, note: '' });
});

test('after SIGKILL mid-run, the running block shows as unfinished with its output; an edited block\'s output is stale', async () => {
  await page.locator('.cm-line', { hasText: 'seq 1 300' }).click();
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction(() => document.body.textContent?.includes('tick 40'), null, { timeout: 60_000 });
  await stop('SIGKILL');
  writeFileSync(script, blocks('echo "hello from the present"'));

  await serve();
  await page.waitForSelector('[data-testid="output"][data-state="unfinished"]');
  const slow = await infoOf('tick 1');
  expect(slow).toMatchObject({ state: 'unfinished', history: true });
  expect(slow.status).toBe('unfinished: no exit status (its cmdrun stopped during the run, or it still runs in another)');
  const ticks = (await panel('tick 1').locator('.output-body').textContent())!.split('\n');
  expect(ticks.length).toBeGreaterThanOrEqual(40 - 50); // at most one second (50 ticks) lost
  expect(ticks.slice(0, 3)).toEqual(['tick 1', 'tick 2', 'tick 3']);
  // The greet block changed on disk: its last output (of the killed session) is shown, dimmed.
  expect(await infoOf('hello from the past')).toMatchObject({ stale: true, history: true, exit: '0' });
  expect(pageErrors).toEqual([]);
}, 120_000);

test('a run posted through the API that matches no block is listed apart, and every other output is still restored', async () => {
  const res = await fetch(`${served!.origin}/api/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served!.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ code: 'true' }),
  });
  await res.text();
  const before = await page.locator('.cm-content [data-testid="output"]').count();
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  // Before 0.3.0 this said "could not restore outputs: Mark decorations may not be empty", and no output came back.
  expect(await page.locator('#message').textContent()).not.toMatch(/could not/);
  await page.waitForSelector('#other-runs:not([hidden])');
  expect(await page.locator('.cm-content [data-testid="output"]').count()).toBe(before);
  expect(await page.locator('#other-runs summary').textContent()).toBe('1 run that matches no block of this script');
  expect(await page.locator('#other-runs .other-run-code').allTextContents()).toEqual(['true']);
  expect(await page.locator('#other-runs [data-testid="output"]').getAttribute('data-exit-code')).toBe('0');
});

test('the block menu\'s History lists the block\'s runs across sessions, newest first; choosing one shows it, marked as such', async () => {
  // One run of "fails" in the first session; one more in this one.
  await page.locator('.cm-line', { hasText: 'echo oops' }).click();
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector('.cm-content [data-testid="output"]:not(.from-history)[data-exit-code="1"]');
  await page.locator('.cm-run-gutter button.cm-run-menu-button').nth(2).click();
  await page.click('.run-menu [data-value="history"]');
  await page.waitForSelector('.run-menu[aria-label="History"] [role="menuitem"]');
  const items = await page.locator('.run-menu[aria-label="History"] [role="menuitem"]').allTextContents();
  expect(items).toHaveLength(2);
  expect(items[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dexit 1 · \d+ ms$/);
  expect(items[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(earlier session\)exit 1 · \d+ ms$/);
  await page.screenshot({ path: join(SHOTS, 'history-menu.png') });
  await page.locator('.run-menu[aria-label="History"] [role="menuitem"]').nth(1).click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="output"] .output-note')].some((n) => n.textContent?.startsWith('History · ')));
  expect(await infoOf('oops')).toMatchObject({ history: true, exit: '1', state: 'failed' });
  expect((await infoOf('oops')).note).toMatch(/^History · \d{4}-/);
  expect(pageErrors).toEqual([]);
});

test('Export downloads a transcript of the notebook: HTML, Markdown or a Jupyter notebook', async () => {
  await page.click('#export');
  await page.waitForSelector('.run-menu[aria-label="Export"] [role="menuitem"]');
  expect(await page.locator('.run-menu [role="menuitem"]').allTextContents()).toEqual(['HTML transcript.html, self-contained', 'Markdown transcript.md', 'Jupyter notebook.ipynb, bash kernel']);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('.run-menu [data-value="md"]')]);
  expect(download.suggestedFilename()).toBe('ops-transcript.md');
  const md = readFileSync((await download.path())!, 'utf8');
  expect(md).toContain('## fails (ops.sh:8)\n\n```sh\necho oops; false\n```\n\n*exit 1 · ');
  expect(md).toContain('```text\ngreen <b>not bold</b>\n```');
  expect(md).toMatch(/## slow \(ops\.sh:11\)[\s\S]*unfinished: no exit status[\s\S]*tick 1\ntick 2\n/);
  await page.waitForFunction(() => document.getElementById('message')?.textContent === 'exported ops-transcript.md');
  await page.click('#export');
  const [html] = await Promise.all([page.waitForEvent('download'), page.click('.run-menu [data-value="html"]')]);
  expect(html.suggestedFilename()).toBe('ops-transcript.html');
  expect(readFileSync((await html.path())!, 'utf8')).toContain('green</span><span> &lt;b>not bold&lt;/b></span>');
  await page.click('#export');
  const [ipynb] = await Promise.all([page.waitForEvent('download'), page.click('.run-menu [data-value="ipynb"]')]);
  expect(ipynb.suggestedFilename()).toBe('ops-transcript.ipynb');
  expect(validateNotebook((await ipynb.path())!)).toBe('4 5');
  const cells = JSON.parse(readFileSync((await ipynb.path())!, 'utf8')).cells as Array<{ source: string[]; outputs: unknown[] }>;
  expect(cells.find((c) => c.source.join('') === 'echo oops; false')?.outputs).toEqual([
    { name: 'stdout', output_type: 'stream', text: ['oops\n'] },
    { ename: 'ExitStatus', evalue: 'exit status 1', output_type: 'error', traceback: ['exit status 1'] },
  ]);
});

test('Clear outputs clears earlier outputs from the page (also after a reload), not from the history', async () => {
  await page.click('#clear');
  expect(await page.locator('.cm-content [data-testid="output"]').count()).toBe(0);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  expect(await page.locator('.cm-content [data-testid="output"]').count()).toBe(0);
  const list = (await (await fetch(`${served!.origin}/api/history?limit=100`, { headers: { authorization: `Bearer ${served!.token}` } })).json()) as unknown[];
  expect(list.length).toBeGreaterThanOrEqual(7);
});
