// A block that runs in a container (issue 20, item 4) on the page: the ▶ tooltip, the panel header
// and the status bar name the container target as they name an ssh one, and GET /api/sessions
// lists its session. A real podman container (test/helpers/containers.ts) and a real Chromium.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { useNotebook } from '../helpers/browser.js';
import { canRunContainers, CONTAINER_TEST_MS, startContainerLab, type ContainerLab } from '../helpers/containers.js';
import { tempDir } from '../helpers/tmp.js';

const name = `cmdrun-e2e-${process.pid}`;
const target = `podman://${name}`;
const dir = tempDir('cmdrun-e2e-container-');
const script = join(dir, 'inside.sh');
writeFileSync(script, ['# %% local', 'echo "local ran"', `# %% inside on="${target}"`, 'cd /tmp; echo "inside as $(id -un) in $(cat /etc/hostname 2>/dev/null || hostname)"', ''].join('\n'));

describe.skipIf(!canRunContainers())('a container target on the page', { timeout: CONTAINER_TEST_MS }, () => {
  let lab: ContainerLab;
  // Registered before the notebook's own hooks: the container runs before the page opens.
  beforeAll(async () => {
    lab = await startContainerLab();
    await lab.run(name);
  }, 120_000);
  afterAll(async () => {
    await lab?.stop();
  }, 120_000);
  const nb = useNotebook(script);

  test('the ▶ names the container; Run all runs the block there; its panel and the status bar name the target', async () => {
    const buttons = nb.page.locator('.cm-run-gutter button.cm-run-button');
    await expect(buttons.nth(1).getAttribute('title')).resolves.toBe(`Run block 2 (inside) on ${target} (Ctrl/Cmd+Enter)`);
    await nb.page.click('#run-all');
    await nb.page.waitForFunction(
      () => [...document.querySelectorAll('[data-testid="output"]')].filter((o) => o.getAttribute('data-state') === 'ok').length === 2,
      undefined,
      { timeout: 60_000 },
    );
    const panel = nb.page.locator('[data-testid="output"]').nth(1);
    await expect(panel.locator('.output-body').textContent()).resolves.toMatch(/^inside as root in \S+/);
    await expect(panel.locator('[data-testid="target"]').textContent()).resolves.toBe(`on ${target}`);
    await nb.page.waitForSelector(`#sessions .session[data-on="${target}"][data-status="idle"]`);
    const bar = await nb.page.evaluate(() => [...document.querySelectorAll('#sessions .session')].map((s) => s.textContent));
    expect(bar).toEqual([expect.stringMatching(/^local/), expect.stringMatching(new RegExp(`^${target.replaceAll('/', '\\/')}.*idle.*/tmp`))]);
    const res = await fetch(`${nb.served.origin}/api/sessions`, { headers: { Authorization: `Bearer ${nb.served.token}` } });
    const { sessions } = (await res.json()) as { sessions: { on: string; cwd: string; status: string }[] };
    expect(sessions.map((s) => [s.on, s.status])).toEqual([
      ['local', 'idle'],
      [target, 'idle'],
    ]);
    expect(sessions[1].cwd).toBe('/tmp');
    await nb.page.screenshot({ path: join(dir, 'container.png') });
  }, 90_000);
});
