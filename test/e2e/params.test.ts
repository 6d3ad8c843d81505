// Chromium fills a block's parameter form (keyboard only), answers a confirmation, uses the
// Environment panel and Ask again; a secret never reaches the page.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('cmdrun-e2e-params-');
const script = join(dir, 'deploy.sh');
writeFileSync(script, [
  '# %% Deploy',
  'export CLUSTER=Enter the cluster name',
  'export REGION="eu-west-1"',
  'export DB_PASSWORD',
  'echo "deploying $CLUSTER $REGION $DB_PASSWORD"',
  '# %% Restart confirm="Restart production?"',
  'echo restarted',
  '# %% After',
  'echo after-ran',
  '',
].join('\n'));
const SECRET = 'e2e-pa55word';

const nb = useNotebook(script);
const panelText = (n: number) => nb.page.locator('[data-testid="output"] .output-body').nth(n).textContent();
const stateOf = (n: number) => nb.page.locator('[data-testid="output"]').nth(n).getAttribute('data-state');

test('Run all asks at the block in its panel; Enter runs it; the confirmation defaults to No and stops Run all', async () => {
  await nb.page.keyboard.press('Control+Shift+Enter');
  const form = nb.page.getByRole('form', { name: 'Values this block asks for' });
  await form.waitFor();
  const cluster = form.getByLabel('CLUSTER Enter the cluster name');
  await expect(cluster.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
  await expect(form.getByLabel('REGION').inputValue()).resolves.toBe('eu-west-1');
  await expect(form.getByLabel('DB_PASSWORD').getAttribute('type')).resolves.toBe('password');
  await nb.page.keyboard.type('prod');
  await nb.page.keyboard.press('Tab');
  await nb.page.keyboard.press('Tab');
  await nb.page.keyboard.type(SECRET);
  await nb.page.keyboard.press('Enter');
  await nb.page.waitForFunction(() => document.querySelector('[data-testid="output"]')?.getAttribute('data-state') === 'ok');
  await expect(panelText(0)).resolves.toBe('deploying prod eu-west-1 ***');
  const dialog = nb.page.getByRole('dialog', { name: 'Run “Restart”?' });
  await dialog.waitFor();
  await expect(dialog.textContent()).resolves.toContain('Restart production?');
  await nb.page.keyboard.press('Enter'); // Cancel has the focus: No
  await nb.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="output"]')].every((o) => !['queued', 'running'].includes(o.getAttribute('data-state') ?? '')));
  await expect(nb.page.locator('[data-testid="output"]').count()).resolves.toBe(3);
  await expect(nb.page.locator('[data-testid="output"] .output-body').allTextContents()).resolves.toEqual(['deploying prod eu-west-1 ***', '', '']);
  await expect(nb.page.locator('[data-testid="output"]').evaluateAll((os) => os.map((o) => o.getAttribute('data-state')))).resolves.toEqual(['ok', 'cancelled', 'cancelled']);
  await expect(nb.page.content()).resolves.not.toContain(SECRET);
});

test('the Environment panel lists values (a secret as ***) and where they came from; Ask again asks with the value filled in; Escape cancels', async () => {
  await nb.page.getByRole('button', { name: "Show the notebook's parameters and their values" }).click();
  const env = nb.page.getByRole('dialog', { name: 'Environment' });
  await env.waitFor();
  const rows = await env.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].slice(0, 3).map((c) => c.textContent)));
  expect(rows).toEqual([['CLUSTER', 'prod', 'typed'], ['DB_PASSWORD', '***', 'typed'], ['REGION', 'eu-west-1', 'typed']]);
  await env.getByRole('button', { name: 'Ask again for CLUSTER' }).click();
  await nb.page.waitForFunction(() => document.querySelector('[aria-label="Ask again for CLUSTER"]')?.textContent === 'Will ask');
  await nb.page.keyboard.press('Escape');
  await nb.page.getByRole('button', { name: 'Run block 1 (Deploy)', exact: true }).click();
  const form = nb.page.getByRole('form', { name: 'Values this block asks for' });
  await form.waitFor();
  await expect(form.getByLabel('CLUSTER Enter the cluster name').inputValue()).resolves.toBe('prod');
  await expect(form.locator('input').count()).resolves.toBe(1);
  await nb.page.keyboard.press('Escape');
  await nb.page.waitForFunction(() => document.querySelector('[data-testid="output"]')?.getAttribute('data-state') !== 'queued');
  await expect(stateOf(0)).resolves.not.toBe('ok');
  await expect(form.count()).resolves.toBe(0);
});

test('a yes in the confirmation runs the block', async () => {
  await nb.page.getByRole('button', { name: 'Run block 2 (Restart)', exact: true }).click();
  const dialog = nb.page.getByRole('dialog', { name: 'Run “Restart”?' });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Run' }).click();
  await nb.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="output"] .output-body')].some((b) => b.textContent === 'restarted'));
  expect(nb.pageErrors).toEqual([]);
});
