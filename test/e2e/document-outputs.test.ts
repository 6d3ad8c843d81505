// Keep outputs in the document, on the page in a real Chromium: outputs written into the runbook
// through the editor (one undo step), saved by the page's save path, while the user types, and
// merged with a change another program made on disk.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runBlockWith, useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('cmdrun-e2e-docout-');
const SHOTS = join(process.cwd(), 'test-results', 'screenshots');
const runbook = join(dir, 'ops.md');
const SOURCE = [
  '# Ops',
  '',
  'Intro line.',
  '',
  '```sh {name=first}',
  'echo "first $((1+1))"',
  '```',
  '',
  '## Slow',
  '',
  '```sh',
  'while [ ! -e go ]; do sleep 0.05; done; cat go; rm go',
  '```',
  '',
  'The end.',
  '',
].join('\n');
writeFileSync(runbook, SOURCE);

const nb = useNotebook(runbook);

/** The editor's text, line by line as CodeMirror shows it. */
const editorText = () => nb.page.evaluate(() => [...document.querySelectorAll('.cm-content .cm-line')].map((l) => l.textContent).join('\n'));
const fileName = () => nb.page.locator('#file-name').textContent();
const saved = () => nb.page.waitForFunction(() => document.querySelector('#file-name')?.textContent === 'ops.md');
/** Waits until the editor's text passes `check`. */
const editorHas = (check: string) => nb.page.waitForFunction((s) => [...document.querySelectorAll('.cm-content .cm-line')].map((l) => l.textContent).join('\n').includes(s), check);
const MARKER = /<!-- cmdrun-output block="first" exit=0 duration="[^"]+" time="[^"]+" -->/;
const REGION = (name: string, text: string) => new RegExp(`\n\n<!-- cmdrun-output block="${name}" exit=0 duration="[^"]+" time="[^"]+" -->\n\`\`\`text\n${text}\n\`\`\`\n`);

test('off by default; turned on, a block run writes its output under its fence and saves it; the toggle is remembered', async () => {
  await nb.page.setViewportSize({ width: 1200, height: 2000 });
  await expect(nb.page.locator('#keep-outputs').isChecked()).resolves.toBe(false);
  await runBlockWith(nb.page, 'echo "first');
  await nb.page.waitForSelector('[data-testid="output"][data-exit-code="0"]');
  expect(await editorText()).toBe(SOURCE);

  await nb.page.check('#keep-outputs');
  await runBlockWith(nb.page, 'echo "first');
  await nb.page.waitForFunction(() => document.querySelector('#message')?.textContent === 'output of first written into the document and saved');
  const disk = readFileSync(runbook, 'utf8');
  expect(disk).toMatch(REGION('first', 'first 2'));
  expect(disk.replace(REGION('first', 'first 2'), '\n')).toBe(SOURCE);
  expect(await editorText()).toBe(disk);
  await expect(fileName()).resolves.toBe('ops.md');
  mkdirSync(SHOTS, { recursive: true });
  await nb.page.screenshot({ path: join(SHOTS, 'document-outputs.png') });

  await nb.page.reload();
  await nb.page.waitForSelector('body[data-ready="true"]');
  await expect(nb.page.locator('#keep-outputs').isChecked()).resolves.toBe(true);
  expect(nb.pageErrors).toEqual([]);
});

test('an output written while the user types: both stay; Ctrl+Z takes back the output only; the save writes both', async () => {
  const before = readFileSync(runbook, 'utf8');
  await runBlockWith(nb.page, 'while [ ! -e go ]');
  await nb.page.waitForSelector('[data-testid="output"][data-state="running"]');
  // The user types into the prose while the block runs, and goes on once its output is written.
  await nb.page.locator('.cm-line', { hasText: 'Intro line.' }).click();
  await nb.page.keyboard.press('End');
  await nb.page.keyboard.type(' Typed');
  writeFileSync(join(dir, 'go'), 'slow done\n');
  await editorHas('slow done');
  await nb.page.keyboard.type(' more');
  const text = await editorText();
  expect(text).toContain('Intro line. Typed more\n');
  expect(text).toMatch(REGION('Slow', 'slow done'));
  expect(text.replace(REGION('Slow', 'slow done'), '\n')).toBe(before.replace('Intro line.', 'Intro line. Typed more'));
  // The user's edits were unsaved: the output waits for their save.
  await expect(fileName()).resolves.toBe('ops.md •');
  expect(readFileSync(runbook, 'utf8')).toBe(before);

  // Undo: first the typing after the output, then the output as one step; the typing before it stays.
  await nb.page.keyboard.press('Control+z');
  expect(await editorText()).toBe(text.replace(' more', ''));
  await nb.page.keyboard.press('Control+z');
  expect(await editorText()).toBe(before.replace('Intro line.', 'Intro line. Typed'));
  await nb.page.keyboard.press('Control+y'); // redo (CodeMirror's on Linux)
  expect(await editorText()).toBe(text.replace(' more', ''));

  await nb.page.keyboard.press('Control+s');
  await saved();
  expect(readFileSync(runbook, 'utf8')).toBe(text.replace(' more', ''));
});

test('a change on disk while outputs are unsaved: Merge keeps the edits, the output and theirs', async () => {
  const before = readFileSync(runbook, 'utf8');
  expect(existsSync(join(dir, 'go'))).toBe(false);
  await nb.page.locator('.cm-line', { hasText: 'The end.' }).click();
  await nb.page.keyboard.press('End');
  await nb.page.keyboard.type(' Mine.');
  writeFileSync(join(dir, 'go'), 'slow again\n');
  await runBlockWith(nb.page, 'while [ ! -e go ]');
  await editorHas('slow again');
  expect(readFileSync(runbook, 'utf8')).toBe(before);
  // Another program edits the heading on disk.
  writeFileSync(runbook, before.replace('# Ops', '# Ops (edited on disk)'));
  await nb.page.waitForSelector('dialog#conflict[open]');
  await nb.page.click('dialog#conflict button[value="merge"]');
  await nb.page.waitForFunction(() => document.querySelector('#message')?.textContent?.startsWith('merged the changes on disk'));
  const merged = await editorText();
  expect(merged).toMatch(/^# Ops \(edited on disk\)\n/);
  expect(merged).toContain('The end. Mine.');
  expect(merged).toMatch(MARKER);
  expect(merged).toMatch(REGION('Slow', 'slow again'));
  expect(merged).not.toContain('slow done');
  await nb.page.keyboard.press('Control+s');
  await saved();
  expect(readFileSync(runbook, 'utf8')).toBe(merged);
});

test('Remove outputs takes every output out as one undo step, and saves', async () => {
  const before = readFileSync(runbook, 'utf8');
  await nb.page.click('#remove-outputs');
  await nb.page.waitForFunction(() => document.querySelector('#message')?.textContent === 'outputs removed from the document and saved');
  const removed = readFileSync(runbook, 'utf8');
  expect(removed).not.toContain('cmdrun-output');
  expect(removed).toBe(before.replace(REGION('first', 'first 2'), '\n').replace(REGION('Slow', 'slow again'), '\n'));
  expect(await editorText()).toBe(removed);
  await nb.page.locator('.cm-content').click();
  await nb.page.keyboard.press('Control+z');
  expect(await editorText()).toBe(before);
  expect(nb.pageErrors).toEqual([]);
});
