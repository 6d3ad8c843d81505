import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

// Another editor or `git checkout` changes the script while the page is open.
const dir = tempDir('cmdrun-e2e-sync-');
const script = join(dir, 'sync.sh');
const SOURCE = ['# %% one', 'echo one', '', '# %% two', 'echo two', '', '# %% three', 'echo three', ''].join('\n');
writeFileSync(script, SOURCE);

const nb = useNotebook(script);

/** The editor's text, line by line as CodeMirror shows it. */
const editorText = () => nb.page.evaluate(() => [...document.querySelectorAll('.cm-content .cm-line')].map((l) => l.textContent).join('\n'));
const message = (start: string) => nb.page.waitForFunction((s) => document.querySelector('#message')?.textContent?.startsWith(s), start);
const fileName = () => nb.page.locator('#file-name').textContent();

/** Writes `text` the way vim and git do: a new file renamed over the old one. */
function replaceOnDisk(text: string): void {
  writeFileSync(`${script}.new`, text);
  renameSync(`${script}.new`, script);
}

test('with no local edits, a change on disk shows up by itself; the output of an unchanged block stays under it', async () => {
  await nb.page.locator('.cm-line', { hasText: 'echo three' }).click();
  await nb.page.keyboard.press('Control+Enter');
  await nb.page.waitForSelector('[data-testid="output"][data-exit-code="0"]');

  replaceOnDisk(SOURCE.replace('echo one', 'echo ONE from git'));
  await message('reloaded: the file changed on disk');
  expect(await editorText()).toBe(SOURCE.replace('echo one', 'echo ONE from git'));
  await expect(fileName()).resolves.toBe('sync.sh');
  // Only the changed line was replaced: block three's panel is still right under `echo three`.
  const under = await nb.page.evaluate(() => {
    const line = [...document.querySelectorAll('.cm-line')].find((l) => l.textContent === 'echo three')!;
    const panel = document.querySelector('[data-testid="output"]')!;
    return panel.getBoundingClientRect().top - line.getBoundingClientRect().bottom;
  });
  expect(under).toBeGreaterThanOrEqual(0);
  expect(under).toBeLessThan(8);
  await expect(nb.page.locator('[data-testid="output"]').evaluate((el) => el.classList.contains('stale'))).resolves.toBe(false);
});

test('with local edits, a change on disk asks: Merge keeps both changes', async () => {
  const disk = readFileSync(script, 'utf8');
  await nb.page.locator('.cm-line', { hasText: 'echo two' }).click();
  await nb.page.keyboard.press('End');
  await nb.page.keyboard.type(' mine');
  await expect(fileName()).resolves.toBe('sync.sh •');

  replaceOnDisk(disk.replace('echo three', 'echo three theirs'));
  await nb.page.waitForSelector('dialog#conflict[open]');
  await nb.page.click('dialog#conflict button[value="merge"]');
  await message('merged the changes on disk into your edits');
  const merged = disk.replace('echo two', 'echo two mine').replace('echo three', 'echo three theirs');
  expect(await editorText()).toBe(merged);
  // Merged but not saved: the dirty marker stays until Ctrl+S, which now saves without a conflict.
  await expect(fileName()).resolves.toBe('sync.sh •');
  await nb.page.keyboard.press('Control+s');
  await nb.page.waitForFunction(() => document.querySelector('#file-name')?.textContent === 'sync.sh');
  expect(readFileSync(script, 'utf8')).toBe(merged);
});

test('Reload takes the disk version and Ctrl+Z brings the edits back; Overwrite writes mine', async () => {
  const before = await editorText();
  await nb.page.locator('.cm-content').click();
  await nb.page.keyboard.press('Control+End');
  await nb.page.keyboard.type('echo mine');
  const mine = `${before}echo mine`;
  writeFileSync(script, 'echo theirs\n');
  await nb.page.waitForSelector('dialog#conflict[open]');
  await nb.page.click('dialog#conflict button[value="reload"]');
  await message('reloaded from disk');
  expect(await editorText()).toBe('echo theirs\n');
  expect(readFileSync(script, 'utf8')).toBe('echo theirs\n');
  await nb.page.keyboard.press('Control+z');
  expect(await editorText()).toBe(mine);
  await expect(fileName()).resolves.toBe('sync.sh •');

  writeFileSync(script, 'echo theirs again\n');
  await nb.page.waitForSelector('dialog#conflict[open]');
  await nb.page.click('dialog#conflict button[value="overwrite"]');
  await nb.page.waitForFunction(() => document.querySelector('#file-name')?.textContent === 'sync.sh');
  expect(readFileSync(script, 'utf8')).toBe(mine);
  expect(await editorText()).toBe(mine);
});

test('Keep editing writes nothing; the next save asks again (409) and nothing is lost', async () => {
  const before = await editorText();
  await nb.page.locator('.cm-content').click();
  await nb.page.keyboard.press('Control+End');
  await nb.page.keyboard.type('\necho more');
  writeFileSync(script, 'echo third party\n');
  await nb.page.waitForSelector('dialog#conflict[open]');
  await nb.page.click('dialog#conflict button[value="cancel"]');
  await message('kept your edits');
  expect(readFileSync(script, 'utf8')).toBe('echo third party\n');
  expect(await editorText()).toBe(`${before}\necho more`);

  await nb.page.keyboard.press('Control+s');
  await nb.page.waitForSelector('dialog#conflict[open]');
  await expect(nb.page.locator('dialog#conflict .conflict-why').textContent()).resolves.toContain('changed on disk since you loaded it');
  await nb.page.click('dialog#conflict button[value="cancel"]');
  expect(readFileSync(script, 'utf8')).toBe('echo third party\n');
  expect(await editorText()).toBe(`${before}\necho more`);
  expect(nb.pageErrors).toEqual([]);
});

test('leaving the page with unsaved edits asks first', async () => {
  await nb.page.locator('.cm-content').click();
  await nb.page.keyboard.type('# unsaved');
  await expect(fileName()).resolves.toBe('sync.sh •');
  const asked = new Promise<string>((resolve) =>
    nb.page.once('dialog', (dialog) => {
      resolve(dialog.type());
      void dialog.dismiss(); // stay on the page
    }),
  );
  await nb.page.close({ runBeforeUnload: true });
  await expect(asked).resolves.toBe('beforeunload');
});
