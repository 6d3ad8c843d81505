// Transcripts: `cmdrun run FILE --report out.html|out.md` as a real process, the HTML opened in a
// real Chromium (nothing a block printed runs, nothing is fetched), and GET /api/transcript.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { runCli, serveCli } from '../helpers/cli.js';
import { validateNotebook } from '../helpers/nbformat.js';
import { tempDir } from '../helpers/tmp.js';

const SHOTS = join(process.cwd(), 'test-results', 'screenshots');
mkdirSync(SHOTS, { recursive: true });
const dir = tempDir('cmdrun-transcript-');
const script = join(dir, 'release.sh');
const attacks = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<iframe src="https://example.com/"></iframe>',
  '<link rel=stylesheet href="https://example.com/x.css">',
  '</pre><style>body{display:none}</style>',
  '&lt;entity&gt; "quotes" \'apostrophes\'',
];
writeFileSync(
  script,
  [
    '# %% Hostile <b>title</b>',
    `cat <<'EOF'\n${attacks.join('\n')}\nEOF`,
    '',
    '# %% Colours and progress',
    "printf '\\033[1;31mfailed\\033[0m and \\033[32mgreen\\033[0m\\n'; printf 'step 1/3\\rstep 3/3\\n'",
    '',
    '# %% Backticks',
    "printf 'a ``` fence and a ```` longer one\\n'",
    '',
    '# %% Fails',
    'echo about to fail; exit 4',
    '',
    '# %% After the failure',
    'echo never',
    '',
  ].join('\n'),
);

let browser: BrowserContext;
beforeAll(async () => {
  browser = await launchBrowser();
}, 30_000);
afterAll(async () => {
  await browser?.close();
});

describe('cmdrun run --report', () => {
  test('out.html: self-contained, every output escaped, colours drawn, blocks in order with their outcome', async () => {
    const out = join(dir, 'out.html');
    const res = await runCli(['run', script, '--report', out, '--no-history']);
    expect(res.code).toBe(4);
    const text = readFileSync(out, 'utf8');
    expect(text).not.toMatch(/<script|<img|<iframe|<link|<style>body/i);
    expect(text).toContain("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">");

    const page = await browser.newPage();
    const requests: string[] = [];
    const dialogs: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('dialog', (d) => (dialogs.push(d.message()), void d.dismiss()));
    await page.goto(pathToFileURL(out).href);
    await page.waitForLoadState('load');
    expect(requests).toEqual([pathToFileURL(out).href]);
    expect(dialogs).toEqual([]);
    expect(await page.evaluate(() => document.querySelectorAll('script, img, iframe, link, body style').length)).toBe(0);
    expect(await page.locator('section').count()).toBe(5);
    expect(await page.locator('section h2').allTextContents()).toEqual([
      'Hostile <b>title</b> release.sh:2',
      'Colours and progress release.sh:12',
      'Backticks release.sh:15',
      'Fails release.sh:18',
      'After the failure release.sh:21',
    ]);
    expect((await page.locator('section').nth(0).locator('pre.output').innerText()).trim()).toBe(attacks.join('\n'));
    const colours = page.locator('section').nth(1).locator('pre.output');
    expect((await colours.innerText()).trim()).toBe('failed and green\nstep 3/3');
    expect(await colours.locator('span', { hasText: 'failed' }).evaluate((el) => [getComputedStyle(el).color, getComputedStyle(el).fontWeight])).toEqual(['rgb(204, 0, 0)', '700']);
    expect(await page.locator('section .status').allTextContents()).toEqual([
      expect.stringMatching(/^exit 0 · \d+ ms · started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      expect.stringMatching(/^exit 0 · /),
      expect.stringMatching(/^exit 0 · /),
      expect.stringMatching(/^exit 4 · /),
      'not run',
    ]);
    await page.screenshot({ path: join(SHOTS, 'transcript-html.png'), fullPage: true });
    await page.close();
  });

  test('out.md: each output in a fenced text block, escape sequences gone, fences longer than any backtick run', async () => {
    const out = join(dir, 'out.md');
    expect((await runCli(['run', script, '--report', out, '--no-history', '--to', '3'])).code).toBe(0);
    const md = readFileSync(out, 'utf8');
    expect(md).not.toContain('\x1b');
    expect(md).toContain('## Colours and progress (release.sh:12)\n\n```sh\n');
    expect(md).toContain('```text\nfailed and green\nstep 3/3\n```\n');
    expect(md).toContain("`````sh\nprintf 'a ``` fence and a ```` longer one\\n'\n`````\n");
    expect(md).toContain('`````text\na ``` fence and a ```` longer one\n`````\n');
    expect(md).toContain(`\`\`\`text\n${attacks.join('\n')}\n\`\`\`\n`);
    expect(md).toContain('## Hostile \\<b\\>title\\</b\\> (release.sh:2)');
    expect(md).toMatch(/## After the failure \(release\.sh:21\)\n\n```sh\necho never\n```\n\n\*not run\*\n$/);
  });

  test('a Markdown runbook\'s report has its prose between the blocks, in document order', async () => {
    const book = join(dir, 'book.md');
    writeFileSync(book, '# Deploy\n\nFirst <b>check</b> the host.\n\n```sh\necho checked\n```\n\nThen copy:\n\n```yaml\nnot: run\n```\n\n```sh\necho copied\n```\n\nDone.\n');
    const md = join(dir, 'book-report.md');
    expect((await runCli(['run', book, '--report', md, '--no-history'])).code).toBe(0);
    const text = readFileSync(md, 'utf8');
    const at = (s: string) => text.indexOf(s);
    expect(at('First <b>check</b> the host.')).toBeGreaterThan(-1);
    expect(at('First <b>check</b> the host.')).toBeLessThan(at('echo checked'));
    // The data fence is prose: it stays in the text between the two runnable blocks.
    expect(at('echo checked')).toBeLessThan(at('Then copy:'));
    expect(at('Then copy:')).toBeLessThan(at('not: run'));
    expect(at('not: run')).toBeLessThan(at('echo copied'));
    const html = join(dir, 'book-report.html');
    expect((await runCli(['run', book, '--report', html, '--no-history'])).code).toBe(0);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('First &lt;b&gt;check&lt;/b&gt; the host.');
    expect(page).not.toContain('<b>check</b>');
  });

  test('a report name that is neither .html nor .md is a usage error before anything runs', async () => {
    const res = await runCli(['run', script, '--report', join(dir, 'out.txt'), '--no-history']);
    expect([res.code, res.stdout]).toEqual([2, '']);
    expect(res.stderr).toMatch(/--report .*out\.txt: the file name must end with \.html, \.md or \.ipynb/);
  });
});

test('GET /api/transcript: this session\'s runs, else the history\'s, as a download', async () => {
  const db = join(dir, 'h.db');
  expect((await runCli(['run', script, '--history', db, '--to', '1'])).code).toBe(0);
  const s = await serveCli([script, '--history', db]);
  try {
    const auth = { authorization: `Bearer ${s.token}` };
    const post = await fetch(`${s.origin}/api/runs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ code: 'echo about to fail; exit 4' }) });
    await post.text();
    const res = await fetch(`${s.origin}/api/transcript?format=md`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="release-transcript.md"');
    const md = await res.text();
    expect(md).toContain(attacks[0]); // block 1, from the history of the earlier `cmdrun run`
    expect(md).toMatch(/about to fail\n```\n/); // block 4, run in this session
    expect(md).toContain('exit 4');
    expect((await fetch(`${s.origin}/api/transcript`, { headers: auth })).headers.get('content-type')).toBe('text/html; charset=utf-8');
    // The same runs as a Jupyter notebook (the page's Export), valid for nbformat's validator.
    const nbRes = await fetch(`${s.origin}/api/transcript?format=ipynb`, { headers: auth });
    expect(nbRes.headers.get('content-disposition')).toBe('attachment; filename="release-transcript.ipynb"');
    writeFileSync(join(dir, 'export.ipynb'), await nbRes.text());
    expect(validateNotebook(join(dir, 'export.ipynb'))).toBe('4 5');
    const cells = JSON.parse(readFileSync(join(dir, 'export.ipynb'), 'utf8')).cells;
    expect(cells[0].outputs[0].text.join('')).toContain(attacks[0]);
    expect(cells[3].outputs).toEqual([
      { name: 'stdout', output_type: 'stream', text: ['about to fail\n'] },
      { ename: 'ExitStatus', evalue: 'exit status 4', output_type: 'error', traceback: ['exit status 4'] },
    ]);
    expect((await fetch(`${s.origin}/api/transcript?format=pdf`, { headers: auth })).status).toBe(400);
    expect((await fetch(`${s.origin}/api/transcript`)).status).toBe(401);
  } finally {
    s.child.kill('SIGTERM');
    await s.exited;
  }
});
