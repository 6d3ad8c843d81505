import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openNotebook, type OpenNotebook } from '../helpers/browser.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/tmp.js';

// A notebook whose second block runs on another machine (`on="ssh://…"`, issue 15), through the
// system's ssh to a real sshd on 127.0.0.1: both outputs show, each with where it ran, and the
// status bar lists both sessions.
let sshd: Sshd;
let nb: OpenNotebook;
/** Screenshots: CMDRUN_SCREENSHOTS keeps them (to look at), else the test's temp folder (removed). */
let shots: string;
beforeAll(async () => {
  sshd = await startSshd();
  const dir = tempDir('cmdrun-e2e-remote-');
  shots = process.env.CMDRUN_SCREENSHOTS ?? dir;
  const script = join(dir, 'remote.sh');
  writeFileSync(script, ['# %% here', 'echo "here: ${SSH_CONNECTION:-no ssh}"', `# %% there on="ssh://${sshd.host}"`, 'echo "there: $(echo $SSH_CONNECTION | cut -d" " -f3) in $PWD"', ''].join('\n'));
  nb = await openNotebook(script, { CMDRUN_SSH_COMMAND: sshd.sshCommand });
}, 30_000);
afterAll(async () => {
  await nb?.close();
  await sshd?.stop();
});

test('Run all: the first block runs here, the second on the remote machine; panels and the status bar say where', async () => {
  await nb.page.click('#run-all');
  await nb.page.waitForFunction(() => {
    const outputs = [...document.querySelectorAll('[data-testid="output"]')];
    return outputs.length === 2 && outputs.every((o) => o.getAttribute('data-state') === 'ok');
  }, undefined, { timeout: 20_000 });
  const panels = await nb.page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="output"]')].map((o) => {
      const target = o.querySelector<HTMLElement>('[data-testid="target"]')!;
      return { text: o.querySelector('.output-body')!.textContent, target: target.hidden ? null : target.textContent };
    }),
  );
  expect(panels).toEqual([
    { text: 'here: no ssh', target: null },
    { text: `there: 127.0.0.1 in ${process.env.HOME ?? '/root'}`, target: `on ssh://${sshd.host}` },
  ]);
  await nb.page.waitForFunction(() => document.querySelectorAll('#sessions .session').length === 2);
  const bar = await nb.page.evaluate(() => [...document.querySelectorAll('#sessions .session')].map((s) => s.textContent));
  expect(bar[0]).toMatch(/^local/);
  expect(bar[1]).toMatch(new RegExp(`^ssh://${sshd.host}`));
  await nb.page.screenshot({ path: join(shots, 'cmdrun-e2e-remote.png') });
  expect(nb.pageErrors).toEqual([]);
});
