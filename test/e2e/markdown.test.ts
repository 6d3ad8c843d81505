import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { appendAndSave, openNotebook, settledInView, useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

// A Markdown runbook with CRLF line breaks: prose, runnable fences, a data fence, an excluded one.
const dir = tempDir('cmdrun-e2e-md-');
const runbook = join(dir, 'RUNBOOK.md');
const LINES = [
  '# E2E runbook',
  '',
  'Prose: echo never-runs, and `inline code`.',
  '',
  '## Setup',
  '```sh {name=setup promptEnv=never}',
  'export E2E_WORD="persisted"',
  `cd "$(mktemp -d '${dir}/work-XXXXXX')"`, // in the test's folder, removed after it
  '```',
  '',
  '```console',
  '$ echo "console says $E2E_WORD"',
  'console says persisted',
  '$ echo second',
  'second',
  '```',
  '',
  '```yaml',
  'echo: data',
  '```',
  '',
  '```python',
  'import os',
  'print("python sees", os.environ["E2E_WORD"])',
  '```',
  '',
  '```sh {name=skip excludeFromRunAll=true}',
  'echo "excluded ran"',
  '```',
  '',
  '## Finish',
  '```bash',
  'echo "finished"',
  '```',
  'Trailing prose.  ', // trailing spaces kept byte for byte
  '',
  '```python {name=ask excludeFromRunAll=true}',
  'name = input("name? ")',
  'print("hi", name)',
  '```',
  '',
  '```py {name=nap excludeFromRunAll=true}',
  'import time',
  'print("napping", flush=True)',
  'time.sleep(30)',
  '```',
  '',
];
const SOURCE = LINES.join('\r\n');
writeFileSync(runbook, SOURCE);

const nb = useNotebook(runbook);

/** The top (px) of each editor line, by its text, and of each output panel. */
async function layout(page: Page) {
  return page.evaluate(() => ({
    lines: [...document.querySelectorAll('.cm-line')].map((l) => ({ text: l.textContent ?? '', top: l.getBoundingClientRect().top, current: l.classList.contains('cm-block-current'), shaded: l.classList.contains('cm-block') })),
    buttons: [...document.querySelectorAll('.cm-run-button')].map((b) => b.getBoundingClientRect().top),
    panels: [...document.querySelectorAll('[data-testid="output"]')].map((p) => ({ top: p.getBoundingClientRect().top, text: p.querySelector('.output-body')?.textContent ?? '', exit: p.getAttribute('data-exit-code') })),
  }));
}

/** Waits until `n` panels show an exit status. */
const panelsDone = (page: Page, n: number) =>
  page.waitForFunction((count) => document.querySelectorAll('[data-testid="output"][data-exit-code]').length === count, n, { timeout: 20_000 });

test('▶ sits on the opening line of each runnable fence, never on prose, data or headings', async () => {
  const { lines, buttons } = await layout(nb.page);
  const withButton = buttons.map((top) => lines.reduce((best, l) => (Math.abs(l.top - top) < Math.abs(best.top - top) ? l : best)).text);
  expect(withButton).toEqual([
    '```sh {name=setup promptEnv=never}',
    '```console',
    '```python',
    '```sh {name=skip excludeFromRunAll=true}',
    '```bash',
    '```python {name=ask excludeFromRunAll=true}',
    '```py {name=nap excludeFromRunAll=true}',
  ]);
  // Runnable fences are shaded from fence to fence; prose and the yaml fence are not.
  const shaded = lines.filter((l) => l.shaded).map((l) => l.text);
  expect(shaded).toContain('export E2E_WORD="persisted"');
  expect(shaded).toContain('```');
  expect(shaded).not.toContain('echo: data');
  expect(shaded).not.toContain('Prose: echo never-runs, and `inline code`.');
  await expect(nb.page.locator('.cm-run-button').nth(3).getAttribute('aria-label')).resolves.toBe('Run block 4 (skip, not in Run all)');
});

test('the block under the cursor is shaded only while the cursor is inside a fence', async () => {
  await nb.page.locator('.cm-line', { hasText: 'Prose: echo never-runs' }).click();
  expect((await layout(nb.page)).lines.filter((l) => l.current)).toEqual([]);
  await nb.page.locator('.cm-line', { hasText: 'print("python sees"' }).click();
  const current = (await layout(nb.page)).lines.filter((l) => l.current).map((l) => l.text);
  expect(current).toEqual(['```python', 'import os', 'print("python sees", os.environ["E2E_WORD"])', '```']);
});

test('Run all runs the runnable fences in one session, skipping the excluded one; each panel sits under its closing fence', async () => {
  await nb.page.click('#run-all');
  await panelsDone(nb.page, 4);
  const { lines, panels } = await layout(nb.page);
  expect(panels.map((p) => [p.text, p.exit])).toEqual([
    ['', '0'],
    ['console says persisted\nsecond', '0'],
    ['python sees persisted', '0'],
    ['finished', '0'],
  ]);
  // Under the closing fence of its block: below its last line, above the line after the fence.
  const fenceEnds = lines.flatMap((l, i) => (l.text === '```' && lines[i + 1] ? [[l.top, lines[i + 1].top]] : []));
  const runnableEnds = [fenceEnds[0], fenceEnds[1], fenceEnds[3], fenceEnds[5]]; // setup, console, python, finish
  panels.forEach((p, i) => {
    expect(p.top).toBeGreaterThan(runnableEnds[i][0]);
    expect(p.top).toBeLessThan(runnableEnds[i][1]);
  });
  expect(nb.pageErrors).toEqual([]);
});

test("the excluded fence's own ▶ runs it, in the same session", async () => {
  await nb.page.locator('.cm-run-button').nth(3).click();
  await panelsDone(nb.page, 5);
  const texts = (await layout(nb.page)).panels.map((p) => p.text);
  expect(texts).toEqual(['', 'console says persisted\nsecond', 'python sees persisted', 'excluded ran', 'finished']);
});

test('a selection inside a console fence runs as one block, without its prompt', async () => {
  await nb.page.locator('.cm-line', { hasText: '$ echo "console says' }).click();
  await nb.page.keyboard.press('Home');
  await nb.page.keyboard.press('Shift+End');
  await nb.page.keyboard.press('Control+Enter');
  await panelsDone(nb.page, 6);
  // Its panel sits under the selected line, above the fence's own panel.
  const { lines, panels } = await layout(nb.page);
  const top = (text: string) => lines.find((l) => l.text === text)!.top;
  expect(panels[1]).toMatchObject({ text: 'console says persisted', exit: '0' });
  expect(panels[1].top).toBeGreaterThan(top('$ echo "console says $E2E_WORD"'));
  expect(panels[1].top).toBeLessThan(top('console says persisted'));
  expect(panels[2]).toMatchObject({ text: 'console says persisted\nsecond', exit: '0' });
});

test('Save after an edit in a fence changes only that line: prose, trailing spaces and CRLF line breaks are kept', async () => {
  await appendAndSave(nb.page, 'echo "finished"', ' # edited', 'RUNBOOK.md');
  expect(readFileSync(runbook, 'utf8')).toBe(SOURCE.replace('echo "finished"\r\n', 'echo "finished" # edited\r\n'));
  // The finished block's output is now stale (its code changed); the others are not.
  const stale = await nb.page.evaluate(() => [...document.querySelectorAll('[data-testid="output"]')].map((p) => p.classList.contains('stale')));
  expect(stale).toEqual([false, false, false, false, false, true]);
});

test('a reload logs no errors (the favicon is served) and shows the runs under their fences again', async () => {
  const before = (await layout(nb.page)).panels.map((p) => p.text);
  const problems: string[] = [];
  nb.page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
  nb.page.on('response', (r) => void (r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`)));
  await nb.page.reload();
  await nb.page.waitForSelector('body[data-ready="true"]');
  await panelsDone(nb.page, before.length);
  expect(problems).toEqual([]);
  expect((await layout(nb.page)).panels.map((p) => p.text)).toEqual(before);
  const stale = await nb.page.evaluate(() => [...document.querySelectorAll('[data-testid="output"]')].map((p) => p.classList.contains('stale')));
  expect(stale).toEqual([false, false, false, false, false, true]);
  const icon = await fetch(new URL('/favicon.svg', nb.served.origin));
  expect(icon.status).toBe(200);
  expect(icon.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
});

test('a CRLF .sh file keeps its CRLF line breaks after a save from the page', async () => {
  const script = join(dir, 'crlf.sh');
  const text = 'echo one\r\n\r\necho two\r\n';
  writeFileSync(script, text);
  const sh = await openNotebook(script);
  try {
    // Opened, it has no unsaved edits: CodeMirror's \n lines are the file's CRLF lines.
    await expect(sh.page.locator('#file-name').textContent()).resolves.toBe('crlf.sh');
    await appendAndSave(sh.page, 'echo two', '!', 'crlf.sh');
    expect(readFileSync(script, 'utf8')).toBe('echo one\r\n\r\necho two!\r\n');
  } finally {
    await sh.close();
  }
}, 30_000);

/** Each output panel's classes, state and text's start. */
const panelStates = (page: Page) =>
  page.evaluate(() => [...document.querySelectorAll<HTMLElement>('[data-testid="output"]')].map((p) => [p.className, p.dataset.state, p.textContent?.slice(0, 80)]));

/** Each python3's system call and standard input (proc(5)). */
const pythonReads = (): string =>
  readdirSync('/proc')
    .flatMap((pid) => {
      try {
        if (!/^\d+$/.test(pid) || readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'python3') return [];
        return [`${pid}: ${readFileSync(`/proc/${pid}/syscall`, 'utf8').trim()} stdin ${readlinkSync(`/proc/${pid}/fd/0`)}`];
      } catch {
        return []; // gone meanwhile
      }
    })
    .join('; ') || 'none';

test('a python fence takes input from its input line, and Interrupt stops it', async () => {
  const panel = (text: string) => nb.page.locator('[data-testid="output"]', { hasText: text });
  const button = nb.page.getByRole('button', { name: 'Run block 6 (ask, python3, not in Run all)', exact: true });
  // Where the click lands, for the message below.
  await nb.page.evaluate(() => {
    const clicks: string[] = ((window as unknown as { __clicks: string[] }).__clicks = []);
    for (const type of ['mousedown', 'mouseup', 'click'])
      document.addEventListener(type, (e) => clicks.push(`${type} ${(e.target as Element).className || (e.target as Element).tagName} at ${(e as MouseEvent).clientX},${(e as MouseEvent).clientY}`), true);
  });
  const box = await button.boundingBox();
  await settledInView(nb.page, button);
  await button.click();
  await nb.page.waitForSelector('[data-testid="output"].waiting', { timeout: 60_000 }).catch(async (err: Error) => {
    // Seen in 2 of 3 loaded CI runs (no panel of block 6 at all), 1 in 20 alone: say where the
    // click landed, where the button was and is, and where the block was.
    const clicks = await nb.page.evaluate(() => (window as unknown as { __clicks: string[] }).__clicks);
    const where = (b: { x: number; y: number; width: number; height: number } | null) => (b ? `${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.width)}x${Math.round(b.height)}` : 'none');
    const facts = [`mouse events: ${clicks.join('; ') || 'none'}`, `button before: ${where(box)}, now: ${where(await button.boundingBox())}`, `message: ${await nb.page.evaluate(() => document.getElementById('message')?.textContent ?? '')}`];
    throw new Error(`${err.message}\n${facts.join('\n')}\npanels: ${JSON.stringify(await panelStates(nb.page))}\npython3: ${pythonReads()}`);
  });
  await nb.page.keyboard.type('Ada'); // the input line took the cursor
  await nb.page.keyboard.press('Enter');
  // The output shows before the end event: wait for the exit status itself.
  await nb.page.locator('[data-testid="output"][data-exit-code]', { hasText: 'hi Ada' }).waitFor();
  await expect(panel('hi Ada').getAttribute('data-exit-code')).resolves.toBe('0');
  await nb.page.getByRole('button', { name: 'Run block 7 (nap, python3, not in Run all)', exact: true }).click();
  await panel('napping').waitFor();
  await nb.page.click('#interrupt');
  await nb.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="output"]')].at(-1)?.getAttribute('data-state') === 'interrupted');
  await expect(panel('napping').locator('.output-body').textContent()).resolves.toContain('KeyboardInterrupt');
}, 120_000);
