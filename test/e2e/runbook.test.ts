import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

// The README's quick start on examples/runbook.md, as a new user takes it (a copy, beside nothing else).
const dir = tempDir('cmdrun-e2e-runbook-');
const runbook = join(dir, 'runbook.md');
copyFileSync(join(process.cwd(), 'examples', 'runbook.md'), runbook);
const SHOTS = join(process.cwd(), 'test-results', 'screenshots');

const nb = useNotebook(runbook);

test('Run all on examples/runbook.md: every fence but the excluded one runs, python sees the exported LOG_DIR', async () => {
  // Tall enough for the whole runbook: CodeMirror draws only the lines (and panels) in view.
  await nb.page.setViewportSize({ width: 1200, height: 2000 });
  await nb.page.click('#run-all');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"][data-exit-code]').length === 5, undefined, { timeout: 20_000 });
  const panels = await nb.page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="output"]')].map((p) => [p.getAttribute('data-exit-code'), p.querySelector('.output-body')?.textContent ?? '']),
  );
  expect(panels.map(([exit]) => exit)).toEqual(['0', '0', '0', '0', '0']);
  expect(panels[0][1]).toMatch(/^work area: \/.*\/logs$/);
  expect(panels[1][1]).toMatch(/app-2026-11-01\.log\s+app-2026-11-02\.log\s+app-2026-11-03\.log\n1$/);
  expect(panels[2][1]).toBe('3 logs, 3 errors, in LOG_DIR: True');
  expect(panels[3][1]).toBe('./app-2026-11-01.log\n./app-2026-11-02.log\n./app-2026-11-03.log');
  expect(panels[4][1]).toBe('removed the work area');
  await expect(nb.page.locator('.cm-run-excluded .cm-run-button').getAttribute('aria-label')).resolves.toBe('Run block 5 (delete, not in Run all)');
  expect(nb.pageErrors).toEqual([]);
  mkdirSync(SHOTS, { recursive: true });
  await nb.page.screenshot({ path: join(SHOTS, 'runbook-light.png') });
  await nb.page.emulateMedia({ colorScheme: 'dark' });
  await nb.page.waitForFunction(() => getComputedStyle(document.querySelector('.cm-editor')!).backgroundColor !== 'rgb(255, 255, 255)');
  await nb.page.screenshot({ path: join(SHOTS, 'runbook-dark.png') });
});
