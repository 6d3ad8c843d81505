import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { writeFileSync } from 'node:fs';
import { openNotebook, type OpenNotebook } from '../helpers/browser.js';
import { serveCli, type Served } from '../helpers/cli.js';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import { tempDir } from '../helpers/tmp.js';

// A fleet block on the page (issue 19, item 3), in Chromium against 12 real ssh hosts (ports of
// real sshds on 127.0.0.1) named by an Ansible inventory group: web03's block fails, web12 refuses
// the key (unreachable). The panel names the fleet, shows a chip per host and a count line, the
// chosen host's output as a terminal, input to one host, Group identical and Re-run failed; after
// cmdrun restarts, the fleet runs of the history come back as fleet panels.
let fleet: Fleet;
let nb: OpenNotebook;
let script: string;
let env: NodeJS.ProcessEnv;
/** The cmdrun started again on the same script and history (the last test). */
let restarted: Served | undefined;
/** Screenshots: CMDRUN_SCREENSHOTS keeps them (to look at), else a temp folder. */
let shots: string;

beforeAll(async () => {
  fleet = await startFleet({ hosts: 12, refuseKey: ['web12'] });
  const inventory = fleet.iniInventory();
  const dir = tempDir('cmdrun-e2e-fleet-');
  shots = process.env.CMDRUN_SCREENSHOTS ?? dir;
  const port = fleet.ports.web03;
  script = join(dir, 'fleet.sh');
  writeFileSync(
    script,
    [
      '# %% check on="@web"',
      'port=$(echo "$SSH_CONNECTION" | cut -d" " -f4)',
      'echo "uptime ok"',
      `if [ "$port" = ${port} ]; then echo "disk full on $port"; exit 3; fi`,
      '# %% ask on="ssh://web01,ssh://web02,ssh://web03"',
      'printf "name? "; name=$(head -n 1); echo "hello $name from $(echo "$SSH_CONNECTION" | cut -d" " -f4)"',
      '# %% count on="ssh://web04,ssh://web05"',
      'p=$(echo "$SSH_CONNECTION" | cut -d" " -f4); for i in $(seq 1 500); do echo "$p $i"; sleep 0.01; done',
      '',
    ].join('\n'),
  );
  env = { CMDRUN_SSH_COMMAND: fleet.sshCommand, ANSIBLE_INVENTORY: inventory };
  nb = await openNotebook(script, env);
}, 60_000);
afterAll(async () => {
  await nb?.close();
  restarted?.child.kill('SIGTERM');
  await restarted?.exited;
  await fleet?.stop();
});

/** The panels of the two blocks, by the fleet they ran on. */
const CHECK = '[data-testid="output"][data-fleet="@web"]';
const ASK = '[data-testid="output"][data-fleet="ssh://web01,ssh://web02,ssh://web03"]';
/** The chips of the panel `sel`: target, data-state and state words. */
const chips = (sel: string) =>
  nb.page.evaluate((q) => {
    const panel = document.querySelector(q)!;
    return [...panel.querySelectorAll<HTMLElement>('[data-testid="fleet-host"]')].map((c) => ({ target: c.dataset.target, state: c.dataset.state, text: c.querySelector('.fleet-host-state')!.textContent }));
  }, sel);
const body = (sel: string) => nb.page.evaluate((q) => document.querySelector(q)!.querySelector('.output-body')!.textContent, sel);
const waitState = (sel: string, states: string[]) =>
  nb.page.waitForFunction(({ q, s }) => s.includes(document.querySelector(q)?.getAttribute('data-state') ?? ''), { q: sel, s: states }, { timeout: 60_000 });

test('a fleet block: header and tooltip name the fleet, a chip per host, the count line, each host\'s output', async () => {
  await nb.page.locator('.cm-line', { hasText: 'uptime ok' }).click();
  await nb.page.keyboard.press('Control+Enter');
  await waitState(CHECK, ['failed']);
  const panel = nb.page.locator(CHECK);
  await expect(panel.locator('[data-testid="target"]').textContent()).resolves.toBe('on @web: 12 hosts');
  await expect(panel.getAttribute('data-exit-code')).resolves.toBe('3');
  await nb.page.waitForFunction(() => document.querySelector('[data-testid="fleet-count"]')?.textContent === '12 hosts: 10 ok, 1 failed, 1 unreachable');
  const states = await chips(CHECK);
  expect(states.map((c) => c.target)).toEqual(fleet.targets);
  expect(states.map((c) => c.text)).toEqual([...Array(2).fill('ok'), 'failed 3', ...Array(8).fill('ok'), 'unreachable']);
  // Until the user chooses, the first host that failed is shown.
  await nb.page.waitForFunction(() => document.querySelector('[data-testid="output"] .output-body')?.textContent?.includes('disk full'));
  expect(await body(CHECK)).toBe(`uptime ok\ndisk full on ${fleet.ports.web03}`);
  await panel.locator('[data-testid="fleet-host"][data-target="ssh://web12"]').click();
  await nb.page.waitForFunction(() => /Permission denied/.test(document.querySelector('[data-testid="output"] .output-body')?.textContent ?? ''));
  await panel.locator('[data-testid="fleet-host"][data-target="ssh://web05"]').click();
  await nb.page.waitForFunction(() => document.querySelector('[data-testid="output"] .output-body')?.textContent === 'uptime ok');
  await expect(panel.locator('[data-testid="fleet-host"][aria-selected="true"]').getAttribute('data-target')).resolves.toBe('ssh://web05');
  // The ▶ tooltip names the fleet by the label the run gave.
  const run = nb.page.locator('.cm-run-button').first();
  await run.hover();
  await expect(run.getAttribute('title')).resolves.toBe('Run block 1 (check) on @web: 12 hosts (Ctrl/Cmd+Enter)');
  await nb.page.screenshot({ path: join(shots, 'fleet-hosts.png') });
}, 90_000);

test('Group identical: each distinct output once under its hosts, in ranges, failing groups first', async () => {
  const panel = nb.page.locator(CHECK);
  await panel.locator('[data-testid="group-identical"]').click();
  // The groups come from the server (GET /api/runs/:runId/groups).
  await panel.locator('[data-testid="fleet-group"]').first().waitFor();
  const groups = await panel.locator('[data-testid="fleet-group"] .fleet-group-head').allTextContents();
  expect(groups).toEqual(['web03 (1 host) · failed 3', 'web12 (1 host) · unreachable', 'web[01-02,04-11] (10 hosts) · ok']);
  const outputs = await panel.locator('[data-testid="fleet-group"] .fleet-group-output').allTextContents();
  expect(outputs[0]).toBe(`uptime ok\ndisk full on ${fleet.ports.web03}`);
  expect(outputs[1]).toMatch(/Permission denied/);
  expect(outputs[2]).toBe('uptime ok');
  await expect(panel.locator('.output-body').isVisible()).resolves.toBe(false);
  await nb.page.screenshot({ path: join(shots, 'fleet-grouped.png') });
  // A group's title shows its first host as a terminal again.
  await panel.locator('.fleet-group-head', { hasText: 'web12' }).click();
  await expect(panel.locator('[data-testid="fleet-groups"]').isVisible()).resolves.toBe(false);
  await expect(panel.locator('[data-testid="fleet-host"][aria-selected="true"]').getAttribute('data-target')).resolves.toBe('ssh://web12');
}, 30_000);

test('Re-run failed, from the panel and from the ⋯ menu, runs only the failed and unreachable hosts', async () => {
  const first = nb.page.locator('[data-testid="output"]').first();
  const oldRun = await first.getAttribute('data-run-id');
  await first.locator('[data-testid="rerun-failed"]').click();
  await nb.page.waitForFunction((old) => {
    const panel = document.querySelector('[data-testid="output"]');
    return panel?.getAttribute('data-run-id') !== old && panel?.getAttribute('data-state') === 'failed';
  }, oldRun, { timeout: 60_000 });
  expect((await chips('[data-testid="output"]')).map((c) => `${c.target} ${c.text}`)).toEqual(['ssh://web03 failed 3', 'ssh://web12 unreachable']);
  await expect(nb.page.locator('[data-testid="output"] [data-testid="target"]').first().textContent()).resolves.toMatch(/^on .*2 hosts$/);
  // The block's ⋯ menu offers it too, with the count of hosts.
  const rerunId = await nb.page.locator('[data-testid="output"]').first().getAttribute('data-run-id');
  await nb.page.locator('.cm-run-menu-button').first().click();
  const item = nb.page.locator('.run-menu [data-value="rerun-failed"]');
  await expect(item.textContent()).resolves.toBe('Re-run failed2 hosts');
  await item.click();
  await nb.page.waitForFunction((old) => {
    const panel = document.querySelector('[data-testid="output"]');
    return panel?.getAttribute('data-run-id') !== old && panel?.getAttribute('data-state') === 'failed';
  }, rerunId, { timeout: 60_000 });
  expect((await chips('[data-testid="output"]')).map((c) => c.target)).toEqual(['ssh://web03', 'ssh://web12']);
  expect(await nb.page.locator('[data-testid="output"]').count()).toBe(1);
}, 120_000);

test('the input line sends to the chosen host only; Interrupt stops the others', async () => {
  await nb.page.locator('.cm-line', { hasText: 'head -n 1' }).click();
  await nb.page.keyboard.press('Control+Enter');
  const panel = nb.page.locator(ASK);
  // Every host asks, then waits for a line.
  await nb.page.waitForFunction((q) => {
    const p = document.querySelector(q);
    return p && [...p.querySelectorAll<HTMLElement>('[data-testid="fleet-host"]')].every((c) => c.dataset.state === 'running') && p.querySelector('.output-body')?.textContent === 'name? ';
  }, ASK, { timeout: 60_000 });
  // Grouped while the hosts still run: their output so far comes from the server.
  await panel.locator('[data-testid="group-identical"]').click();
  await nb.page.waitForFunction((q) => document.querySelector(q)!.querySelectorAll('[data-testid="fleet-group"]').length > 0, ASK);
  await expect(panel.locator('[data-testid="fleet-group"] .fleet-group-head').allTextContents()).resolves.toEqual(['web[01-03] (3 hosts) · running']);
  await expect(panel.locator('[data-testid="fleet-group"] .fleet-group-output').allTextContents()).resolves.toEqual(['name? ']);
  await panel.locator('[data-testid="group-identical"]').click();
  // web02's output so far (never shown until now) comes with it.
  await panel.locator('[data-testid="fleet-host"][data-target="ssh://web02"]').click();
  await nb.page.waitForFunction((q) => document.querySelector(q)!.querySelector('.output-body')?.textContent === 'name? ', ASK);
  const stdin = panel.locator('[data-testid="stdin"]');
  await expect(stdin.getAttribute('aria-label')).resolves.toBe('Input to the block on web02');
  await stdin.fill('ada');
  await stdin.press('Enter');
  await nb.page.waitForFunction((q) => document.querySelector(q)!.querySelector<HTMLElement>('[data-target="ssh://web02"]')?.dataset.state === 'ok', ASK);
  // The terminal draws its output at its next frame (at most 20 a second): wait for it.
  await nb.page.waitForFunction((q) => /hello/.test(document.querySelector(q)!.querySelector('.output-body')?.textContent ?? ''), ASK);
  expect(await body(ASK)).toBe(`name? ada\r\nhello ada from ${fleet.ports.web02}`.replace(/\r/g, ''));
  expect((await chips(ASK)).map((c) => c.state)).toEqual(['running', 'ok', 'running']);
  await nb.page.screenshot({ path: join(shots, 'fleet-input.png') });
  await nb.page.click('#interrupt');
  await waitState(ASK, ['interrupted', 'failed']);
  expect((await chips(ASK)).map((c) => c.state)).toEqual(['interrupted', 'ok', 'interrupted']);
  await nb.page.waitForFunction((q) => document.querySelector(q)!.querySelector('[data-testid="fleet-count"]')?.textContent === '3 hosts: 1 ok, 2 interrupted', ASK);
  expect(nb.pageErrors).toEqual([]);
}, 90_000);

test('a fleet run followed again after a reload, and a host chosen while it streams, show each line of output once', async () => {
  const COUNT = '[data-testid="output"][data-fleet="ssh://web04,ssh://web05"]';
  const text = () => nb.page.evaluate((q) => document.querySelector(q)?.querySelector('.output-body')?.textContent ?? '', COUNT);
  const lines = (port: number, n: number) => Array.from({ length: n }, (_, i) => `${port} ${i + 1}`);
  await nb.page.locator('.cm-line', { hasText: 'seq 1 500' }).click();
  await nb.page.keyboard.press('Control+Enter');
  await nb.page.waitForFunction((q) => / 20\n/.test(document.querySelector(q)?.querySelector('.output-body')?.textContent ?? ''), COUNT, { timeout: 60_000 });
  // Followed again from its start: the fleet event and much output come at once; web04 is shown.
  await nb.page.reload();
  await nb.page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  await nb.page.waitForFunction((q) => / 40\n/.test(document.querySelector(q)?.querySelector('.output-body')?.textContent ?? ''), COUNT, { timeout: 60_000 });
  const shown = (await text()).split('\n').slice(0, -1); // the last line may be under way
  expect(shown).toEqual(lines(fleet.ports.web04, shown.length));
  // web05 is chosen while both print: the run's stream is opened again for web05's output only.
  const streams: string[] = [];
  nb.page.on('request', (r) => void (r.url().includes('/events?output=') && streams.push(decodeURIComponent(r.url().split('?output=')[1]))));
  // The answer with web05's output so far is held until the run went 30 events further: the
  // stream still open (web04's) carried them meanwhile, web05's output among them left out.
  const server = (path: string) => fetch(`${nb.served.origin}${path}`, { headers: { Authorization: `Bearer ${nb.served.token}` } });
  const WEB05 = '**/output?target=ssh%3A%2F%2Fweb05';
  await nb.page.route(WEB05, async (route) => {
    const response = await route.fetch();
    const body = await response.text();
    const { lastId } = JSON.parse(body) as { lastId: number };
    const path = new URL(route.request().url()).pathname + new URL(route.request().url()).search;
    while (((await (await server(path)).json()) as { lastId: number }).lastId < lastId + 30) await new Promise((r) => setTimeout(r, 20));
    await route.fulfill({ response, body });
  });
  await nb.page.locator(COUNT).locator('[data-testid="fleet-host"][data-target="ssh://web05"]').click();
  await waitState(COUNT, ['ok']);
  await nb.page.waitForFunction((q) => (document.querySelector(q)!.querySelector('.output-body')?.textContent ?? '').endsWith(' 500'), COUNT);
  expect((await text()).split('\n')).toEqual(lines(fleet.ports.web05, 500));
  expect(streams).toEqual(['ssh://web05']);
  await nb.page.unroute(WEB05);
  // Group identical shows each group's last 200 lines and says how many come before them.
  await nb.page.locator(COUNT).locator('[data-testid="group-identical"]').click();
  const group = nb.page.locator(COUNT).locator('[data-testid="fleet-group"]');
  await group.nth(1).waitFor();
  expect(await group.locator('.fleet-group-more').allTextContents()).toEqual(['… 300 earlier lines: the title shows all of it', '… 300 earlier lines: the title shows all of it']);
  expect((await group.locator('.fleet-group-output').allTextContents()).map((t) => t.split('\n'))).toEqual([lines(fleet.ports.web04, 500).slice(300), lines(fleet.ports.web05, 500).slice(300)]);
  await group.nth(1).locator('.fleet-group-head').scrollIntoViewIfNeeded();
  await nb.page.screenshot({ path: join(shots, 'fleet-grouped-long.png') });
  await nb.page.locator(COUNT).locator('[data-testid="group-identical"]').click();
  expect(nb.pageErrors).toEqual([]);
}, 120_000);

test("once the server no longer keeps a fleet run, its panel reads the hosts' output from the history", async () => {
  const dir = tempDir('cmdrun-e2e-fleet-kept-');
  const file = join(dir, 'kept.sh');
  writeFileSync(file, ['# %% ports on="ssh://web06,ssh://web07"', 'echo "port $(echo "$SSH_CONNECTION" | cut -d" " -f4)"', '# %% later', 'echo later', ''].join('\n'));
  const other = await openNotebook(file, env, ['--max-runs', '1']);
  try {
    const PORTS = '[data-testid="output"][data-fleet="ssh://web06,ssh://web07"]';
    await other.page.locator('.cm-line', { hasText: 'SSH_CONNECTION' }).click();
    await other.page.keyboard.press('Control+Enter');
    await other.page.waitForFunction((q) => document.querySelector(q)?.getAttribute('data-state') === 'ok', PORTS, { timeout: 60_000 });
    // The next run makes the server forget the fleet run (it keeps one).
    await other.page.locator('.cm-line', { hasText: 'echo later' }).click();
    await other.page.keyboard.press('Control+Enter');
    await other.page.waitForFunction(() => [...document.querySelectorAll('[data-testid="output"]')].some((p) => p.getAttribute('data-state') === 'ok' && p.textContent?.includes('later')));
    const runId = (await other.page.locator(PORTS).getAttribute('data-run-id'))!;
    const answers: string[] = [];
    other.page.on('response', (r) => void (r.url().includes(runId) && answers.push(`${r.status()} ${new URL(r.url()).pathname}`)));
    await other.page.locator(PORTS).locator('[data-testid="fleet-host"][data-target="ssh://web07"]').click();
    await other.page.waitForFunction(({ q, port }) => document.querySelector(q)!.querySelector('.output-body')?.textContent === `port ${port}`, { q: PORTS, port: fleet.ports.web07 });
    await other.page.locator(PORTS).locator('[data-testid="group-identical"]').click();
    await other.page.locator(PORTS).locator('[data-testid="fleet-group"]').first().waitFor();
    expect(await other.page.locator(PORTS).locator('[data-testid="fleet-group"] .fleet-group-head').allTextContents()).toEqual(['web06 (1 host) · ok', 'web07 (1 host) · ok']);
    // The server answered 404 for the host's output, the history had the run; nothing was asked again.
    expect(answers).toEqual([`404 /api/runs/${runId}/output`, `200 /api/history/${runId}`]);
    expect(other.pageErrors).toEqual([]);
  } finally {
    await other.close();
  }
}, 90_000);

test('after cmdrun restarts, fleet runs come back from the history as fleet panels; History lists a fleet run once and shows all of it', async () => {
  nb.served.child.kill('SIGTERM');
  await nb.served.exited;
  restarted = await serveCli([script], env);
  await nb.page.goto(restarted.url);
  await nb.page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  // Each block shows its last run: the check block's last Re-run failed, the ask block's interrupted run.
  const RERUN = '[data-testid="output"][data-fleet="ssh://web03,ssh://web12"]';
  await nb.page.waitForFunction((q) => document.querySelector(q)?.querySelector('[data-testid="fleet-count"]')?.textContent === '3 hosts: 1 ok, 2 interrupted', ASK);
  const ask = nb.page.locator(ASK);
  await expect(ask.getAttribute('class')).resolves.toContain('from-history');
  await expect(ask.locator('[data-testid="target"]').textContent()).resolves.toBe('on 3 hosts');
  await expect(ask.getAttribute('data-state')).resolves.toBe('interrupted');
  expect((await chips(ASK)).map((c) => `${c.target} ${c.state} ${c.text}`)).toEqual(['ssh://web01 interrupted interrupted', 'ssh://web02 ok ok', 'ssh://web03 interrupted interrupted']);
  await ask.locator('[data-testid="fleet-host"][data-target="ssh://web02"]').click();
  await nb.page.waitForFunction((q) => document.querySelector(q)!.querySelector('.output-body')?.textContent?.includes('hello ada'), ASK);
  expect(await body(ASK)).toBe(`name? ada\nhello ada from ${fleet.ports.web02}`);
  expect((await chips(RERUN)).map((c) => `${c.target} ${c.text}`)).toEqual(['ssh://web03 failed 3', 'ssh://web12 unreachable']);
  await expect(nb.page.locator(RERUN).locator('[data-testid="rerun-failed"]').isVisible()).resolves.toBe(false);

  // The block's History: each fleet run once (the first @web run and its two re-runs), newest first.
  await nb.page.locator('.cm-run-menu-button').first().click();
  await nb.page.click('.run-menu [data-value="history"]');
  await nb.page.waitForSelector('.run-menu[aria-label="History"] [role="menuitem"]');
  const items = await nb.page.locator('.run-menu[aria-label="History"] [role="menuitem"] kbd').allTextContents();
  expect(items).toEqual([
    expect.stringMatching(/^2 hosts · 2 failed · [\d.]+ m?s$/),
    expect.stringMatching(/^2 hosts · 2 failed · [\d.]+ m?s$/),
    expect.stringMatching(/^@web: 12 hosts · 10 ok, 2 failed · [\d.]+ m?s$/),
  ]);
  await nb.page.locator('.run-menu[aria-label="History"] [role="menuitem"]').nth(2).click();
  await nb.page.waitForFunction((q) => document.querySelector(q)?.querySelector('[data-testid="fleet-count"]')?.textContent === '12 hosts: 10 ok, 1 failed, 1 unreachable', CHECK);
  const panel = nb.page.locator(CHECK);
  await expect(panel.locator('[data-testid="target"]').textContent()).resolves.toBe('on @web: 12 hosts');
  await expect(panel.locator('.output-note').textContent()).resolves.toMatch(/^History · \d{4}-/);
  await expect(panel.getAttribute('data-exit-code')).resolves.toBe('3');
  const states = await chips(CHECK);
  expect(states.map((c) => c.target)).toEqual(fleet.targets);
  expect(states.map((c) => c.text)).toEqual([...Array(2).fill('ok'), 'failed 3', ...Array(8).fill('ok'), 'unreachable']);
  const times = await panel.locator('.fleet-host-time').allTextContents();
  expect(times.every((t) => /^[\d.]+ m?s$/.test(t))).toBe(true);
  // The first failing host is shown; choosing another shows its output.
  await nb.page.waitForFunction((q) => document.querySelector(q)!.querySelector('.output-body')?.textContent?.includes('disk full'), CHECK);
  expect(await body(CHECK)).toBe(`uptime ok\ndisk full on ${fleet.ports.web03}`);
  await nb.page.screenshot({ path: join(shots, 'fleet-restored.png') });
  await panel.locator('[data-testid="fleet-host"][data-target="ssh://web05"]').click();
  await nb.page.waitForFunction((q) => document.querySelector(q)!.querySelector('.output-body')?.textContent === 'uptime ok', CHECK);
  await panel.locator('[data-testid="group-identical"]').click();
  await panel.locator('[data-testid="fleet-group"]').first().waitFor();
  expect(await panel.locator('[data-testid="fleet-group"] .fleet-group-head').allTextContents()).toEqual(['web03 (1 host) · failed 3', 'web12 (1 host) · unreachable', 'web[01-02,04-11] (10 hosts) · ok']);
  expect((await panel.locator('[data-testid="fleet-group"] .fleet-group-output').allTextContents())[1]).toMatch(/Permission denied/);
  await nb.page.screenshot({ path: join(shots, 'fleet-restored-grouped.png') });
  expect(nb.pageErrors).toEqual([]);
}, 90_000);
