// Output a background job prints while no block runs shows in the page's "Background output" strip.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('cmdrun-e2e-bg-');
const script = join(dir, 'bg.sh');
writeFileSync(script, '# %% start a job\n(sleep 0.5; printf "\\033[32mjob finished\\033[0m\\n") &\necho started\n');

const nb = useNotebook(script);

test('a background job\'s output shows in the strip, not in a panel; Clear hides the strip', async () => {
  const strip = nb.page.locator('#background');
  await expect(strip.isHidden()).resolves.toBe(true);
  await nb.page.getByRole('button', { name: /^Run block 1/ }).click();
  await nb.page.waitForSelector('[data-testid="output"][data-exit-code="0"]');
  await nb.page.waitForSelector('#background:not([hidden])');
  await expect(nb.page.locator('#background-body').textContent()).resolves.toBe('job finished\n');
  await expect(nb.page.locator('[data-testid="output"] .output-body').textContent()).resolves.toBe('started');
  await nb.page.screenshot({ path: 'test-results/screenshots/background.png' });
  await nb.page.click('#background-clear');
  await expect(strip.isHidden()).resolves.toBe(true);
  // A reload shows what the server keeps again.
  await nb.page.reload();
  await nb.page.waitForSelector('#background:not([hidden])');
  await expect(nb.page.locator('#background-body').textContent()).resolves.toBe('job finished\n');
});
