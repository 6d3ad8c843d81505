// `cmdrun notebook.ipynb`: a bash_kernel notebook, written as JupyterLab saves one, opened on the
// page in a real Chromium: code cells are blocks, markdown cells prose; a save writes a valid
// .ipynb (nbformat's validator) with this session's outputs and everything else kept.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runCli, serveCli } from '../helpers/cli.js';
import { useNotebook } from '../helpers/browser.js';
import { validateNotebook } from '../helpers/nbformat.js';
import { executedBashNotebook, BASH_NOTEBOOK, jupyterJson } from '../helpers/notebooks.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('cmdrun-e2e-ipynb-');
const path = join(dir, 'deploy.ipynb');
writeFileSync(path, jupyterJson(BASH_NOTEBOOK));

const nb = useNotebook(path);
const editorText = () => nb.page.evaluate(() => [...document.querySelectorAll('.cm-content .cm-line')].map((l) => l.textContent).join('\n'));
const saved = () => nb.page.waitForFunction(() => document.querySelector('#file-name')?.textContent === 'deploy.ipynb');
const readNotebook = () => JSON.parse(readFileSync(path, 'utf8'));

test('the page shows the cells: code cells as runnable fences, markdown and raw cells as prose', async () => {
  await nb.page.setViewportSize({ width: 1200, height: 2000 });
  const text = await editorText();
  expect(text).toBe(
    [
      '<!-- markdown cell id=a1b2c3d4-0001 -->',
      '# Deploy',
      '',
      'Set things up: ![diagram](attachment:diagram.png)',
      '',
      '```bash {id=a1b2c3d4-0002}',
      '# Set up',
      'mkdir -p work && cd work',
      'GREETING=hello',
      '```',
      '',
      '```bash {id=a1b2c3d4-0003}',
      'echo "$GREETING from $(basename "$PWD")"',
      "printf '\\033[32mgreen\\033[0m\\n'",
      '```',
      '',
      '<!-- raw cell id=a1b2c3d4-0004 -->',
      'raw text, kept',
      '',
      '```bash {id=a1b2c3d4-0005}',
      '# Check',
      'test -d ../work && echo "work exists"; exit 4',
      '```',
      '',
      '```bash {id=a1b2c3d4-0006}',
      '```',
      '',
    ].join('\n'),
  );
  // Three blocks (the empty cell has nothing to run).
  await expect(nb.page.locator('.cm-run-button').count()).resolves.toBe(3);
  // A save with no run and no edit writes the notebook back byte for byte.
  await nb.page.click('#save');
  await nb.page.waitForFunction(() => document.querySelector('#message')?.textContent?.startsWith('saved'));
  expect(readFileSync(path, 'utf8')).toBe(jupyterJson(BASH_NOTEBOOK));
});

test("Run all, an edit and a save: a valid notebook with this session's outputs, the edit, and every cell's hidden parts kept", async () => {
  await nb.page.click('#run-all');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"][data-exit-code]').length === 3, undefined, { timeout: 20_000 });
  await nb.page.locator('.cm-line', { hasText: 'Set things up' }).click();
  await nb.page.keyboard.press('End');
  await nb.page.keyboard.type(' Edited on the page.');
  await nb.page.keyboard.press('Control+s');
  await saved();
  expect(validateNotebook(path)).toBe('4 5');
  const out = readNotebook();
  const expected = executedBashNotebook();
  expected.cells[0].source = ['# Deploy\n', '\n', 'Set things up: ![diagram](attachment:diagram.png) Edited on the page.'];
  expect(out).toEqual(expected);
  // Export › Jupyter notebook gives the notebook as it saves.
  const exported = await fetch(`${nb.served.origin}/api/transcript?format=ipynb`, { headers: { authorization: `Bearer ${nb.served.token}` } });
  expect(exported.headers.get('content-disposition')).toBe('attachment; filename="deploy-transcript.ipynb"');
  expect(await exported.text()).toBe(readFileSync(path, 'utf8'));
  // The saved notebook runs headless as it runs on the page.
  const headless = await runCli(['run', '--quiet', '--to', '2', path]);
  expect(headless).toMatchObject({ code: 0, stdout: 'hello from work\n\x1b[32mgreen\x1b[0m\n' });
  expect(nb.pageErrors).toEqual([]);
});

test('a new fence typed on the page becomes a new code cell with an id', async () => {
  await nb.page.locator('.cm-line', { hasText: 'raw text, kept' }).click();
  await nb.page.keyboard.press('End');
  await nb.page.keyboard.type('\n\n```bash\necho added\n```\n');
  await nb.page.keyboard.press('Control+s');
  await saved();
  validateNotebook(path);
  const cells = readNotebook().cells as Array<{ cell_type: string; id: string; source: string[] }>;
  expect(cells.map((c) => c.cell_type)).toEqual(['markdown', 'code', 'code', 'raw', 'code', 'code', 'code']);
  expect(cells[4]).toMatchObject({ cell_type: 'code', source: ['echo added'], outputs: [], execution_count: null });
  expect(cells[4].id).toMatch(/^[0-9a-f]{8}$/);
  expect(cells[3].source).toEqual(['raw text, kept']);
  // Saved again, the new cell keeps the id its first save gave it.
  await nb.page.locator('.cm-line', { hasText: 'echo added' }).click();
  await nb.page.keyboard.press('End');
  await nb.page.keyboard.type(' # still');
  await nb.page.keyboard.press('Control+s');
  await saved();
  const again = readNotebook().cells as Array<{ id: string; source: string[] }>;
  expect(again.map((c) => c.id)).toEqual(cells.map((c) => c.id));
});

test('a Python notebook is refused at start with its language named (exit 2)', async () => {
  const py = join(dir, 'py.ipynb');
  writeFileSync(py, jupyterJson({ ...BASH_NOTEBOOK, metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' } } }));
  const r = await runCli([py, '--no-browser', '--port', '0']);
  expect(r).toMatchObject({ code: 2, stdout: '' });
  expect(r.stderr).toBe('cmdrun: py.ipynb: a python notebook (kernel "Python 3"): cmdrun runs notebooks whose kernel language is bash, sh, zsh\n');
});

test('a notebook that does not exist yet is created by the first save as a bash notebook', async () => {
  const created = join(dir, 'new.ipynb');
  const s = await serveCli([created]);
  try {
    const auth = { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' };
    const file = (await (await fetch(`${s.origin}/api/file`, { headers: auth })).json()) as { content: string; mtimeMs: number | null };
    expect(file).toMatchObject({ content: '', mtimeMs: null });
    const put = await fetch(`${s.origin}/api/file`, { method: 'PUT', headers: auth, body: JSON.stringify({ content: '# Notes\n\n```bash\necho hi\n```\n', baseMtimeMs: null }) });
    expect(put.status).toBe(200);
    expect(validateNotebook(created)).toBe('4 5');
    const nbJson = JSON.parse(readFileSync(created, 'utf8'));
    expect(nbJson.metadata.kernelspec).toEqual({ display_name: 'Bash', language: 'bash', name: 'bash' });
    expect(nbJson.cells.map((c: { cell_type: string; source: string[] }) => [c.cell_type, c.source.join('')])).toEqual([
      ['markdown', '# Notes'],
      ['code', 'echo hi'],
    ]);
  } finally {
    s.child.kill('SIGTERM');
    await s.exited;
  }
});
