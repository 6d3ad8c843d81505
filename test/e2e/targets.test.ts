import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runBlockWith, useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

// Blocks that name where they run (`# %% Title on="…"`, issue 15): the ▶ button and the panel say
// where, a target the page cannot read fails the block without posting it, and the status bar and
// the restart dialog follow the sessions the server has. With a local default session, on="local"
// is that same session: the page still shows one session, as before.
const dir = tempDir('cmdrun-e2e-targets-');
const script = join(dir, 'targets.sh');
writeFileSync(
  script,
  [
    '# %% first',
    'echo "first ran in $$"',
    '# %% second on="local"',
    'echo "second ran in $$"',
    '# %% bad on="ssh://-x"',
    'echo "bad ran"',
    '# %% after',
    'echo "after ran"',
    '',
  ].join('\n'),
);

const nb = useNotebook(script);

/** GETs an API route of the notebook's server (a real request, with the token). */
async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${nb.served.origin}${path}`, { headers: { Authorization: `Bearer ${nb.served.token}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

/** The panels on the page: state, output text, the header's target label (null when hidden). */
const panels = () =>
  nb.page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="output"]')].map((o) => {
      const target = o.querySelector<HTMLElement>('[data-testid="target"]')!;
      return { state: o.getAttribute('data-state'), text: o.querySelector('.output-body')!.textContent ?? '', status: o.querySelector('.output-status')!.textContent, target: target.hidden ? null : target.textContent };
    }),
  );
const settled = () =>
  nb.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="output"]')].every((o) => !['queued', 'running'].includes(o.getAttribute('data-state') ?? '')));

test('the ▶ button says where a block runs; an invalid target is in its tooltip', async () => {
  const buttons = nb.page.locator('.cm-run-gutter button.cm-run-button');
  await expect(buttons.count()).resolves.toBe(4);
  await expect(buttons.nth(0).getAttribute('aria-label')).resolves.toBe('Run block 1 (first)');
  await expect(buttons.nth(0).getAttribute('title')).resolves.toBe('Run block 1 (first) (Ctrl/Cmd+Enter)');
  await expect(buttons.nth(1).getAttribute('aria-label')).resolves.toBe('Run block 2 (second) on local');
  await expect(buttons.nth(1).getAttribute('title')).resolves.toBe('Run block 2 (second) on local (Ctrl/Cmd+Enter)');
  await expect(buttons.nth(2).getAttribute('title')).resolves.toMatch(/^Run block 3 \(bad\) on ssh:\/\/-x \(Ctrl\/Cmd\+Enter\)\ninvalid target "ssh:\/\/-x": /);
  await expect(nb.page.locator('.cm-run-bad-target').count()).resolves.toBe(1);
});

test('Run all runs both blocks in the one local session, and stops at the invalid target without posting it', async () => {
  await nb.page.click('#run-all');
  await nb.page.waitForFunction(() => document.querySelectorAll('[data-testid="output"]').length === 3);
  await settled();
  const shown = await panels();
  expect(shown).toHaveLength(3); // none for the block after the invalid one
  const [first, second, bad] = shown;
  const pid = /^first ran in (\d+)$/.exec(first.text)?.[1];
  expect(pid).toBeTruthy();
  expect(first).toMatchObject({ state: 'ok', target: null });
  expect(second).toMatchObject({ state: 'ok', text: `second ran in ${pid}`, target: 'on local' });
  expect(bad.state).toBe('error');
  expect(bad.status).toMatch(/^error: invalid target "ssh:\/\/-x": a host must not start with "-"/);
  expect(bad.target).toBeNull();
  // The server never had the invalid block, nor the one after it.
  const runs = await get<{ code: string; on?: string }[]>('/api/runs');
  expect(runs.map((r) => r.code)).toEqual([`echo "first ran in $$"`, `echo "second ran in $$"`]);
  expect(runs[1].on).toBe('local');
  // on="local" is the default session: the server and the status bar have one session.
  const { sessions } = await get<{ sessions: { on: string; default: boolean }[] }>('/api/sessions');
  expect(sessions).toMatchObject([{ on: 'local', default: true }]);
  await nb.page.waitForSelector('#sessions .session[data-status="idle"]');
  const bar = await nb.page.evaluate(() => [...document.querySelectorAll('#sessions .session')].map((s) => s.textContent));
  expect(bar).toEqual([expect.stringMatching(/^\S*sh\S*idle\//)]);
  await expect(nb.page.locator('#sessions .session-target').count()).resolves.toBe(0);
});

/** Waits until the third panel is a new one (its run id is no longer `before`). */
const thirdPanelReplaced = (before: string | null) =>
  nb.page.waitForFunction((id) => document.querySelectorAll('[data-testid="output"]')[2]?.getAttribute('data-run-id') !== id, before);
const thirdRunId = () => nb.page.locator('[data-testid="output"]').nth(2).getAttribute('data-run-id');

test('running the invalid block by itself shows its error; nothing is posted', async () => {
  let before = await thirdRunId();
  await runBlockWith(nb.page, 'echo "bad ran"');
  await thirdPanelReplaced(before);
  const [, , bad] = await panels();
  expect(bad.state).toBe('error');
  expect(bad.status).toContain('invalid target "ssh://-x"');
  await expect(get<unknown[]>('/api/runs')).resolves.toHaveLength(2);
  // A selection inside the block runs where the block does: nowhere, here.
  before = await thirdRunId();
  await nb.page.locator('.cm-line', { hasText: 'echo "bad ran"' }).click();
  await nb.page.keyboard.press('Home');
  await nb.page.keyboard.press('Shift+End');
  await nb.page.keyboard.press('Control+Enter');
  await thirdPanelReplaced(before);
  await expect(nb.page.locator('[data-testid="output"]').nth(2).getAttribute('data-state')).resolves.toBe('error');
  await expect(get<unknown[]>('/api/runs')).resolves.toHaveLength(2);
});

test('with one session the restart dialog offers no choice, as before', async () => {
  await nb.page.click('#restart');
  await nb.page.waitForSelector('dialog#restart-dialog[open]');
  await expect(nb.page.locator('dialog#restart-dialog h2').textContent()).resolves.toBe('Restart the shell?');
  await expect(nb.page.locator('dialog#restart-dialog .restart-choice').isHidden()).resolves.toBe(true);
  await nb.page.click('dialog#restart-dialog button[value="restart"]');
  await nb.page.waitForFunction(() => document.querySelector('#message')?.textContent === 'shell restarted: all state was reset');
  await nb.page.waitForSelector('#sessions .session[data-status="idle"]');
  expect(nb.pageErrors).toEqual([]);
});
