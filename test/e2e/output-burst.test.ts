import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runBlockWith, useNotebook } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

// A burst of more lines than a panel shows (issue 19, item 7): the view draws the burst's last
// screenful at once and the rows above it later (backfill, in idle callbacks); every state drawn
// in between is the right lines, in their colours, and a reader scrolled up stays on their lines.
// A reader scrolled up while output streams gets the new lines a screenful a draw.
const dir = tempDir('cmdrun-e2e-burst-');
const script = join(dir, 'burst.sh');
writeFileSync(
  script,
  [
    '# %% a burst',
    '# 5,000 numbered lines at once, each in one of 7 colours (line n in colour n % 7 + 1)',
    "awk 'BEGIN { for (i = 1; i <= 5000; i++) printf \"\\033[3%dm%d\\033[0m\\n\", i % 7 + 1, i }'",
    '',
    '# %% a stream',
    '# 20 bursts of 1,000 numbered lines, 0.1 s apart',
    'for i in $(seq 0 19); do seq $((i * 1000 + 1)) $((i * 1000 + 1000)); sleep 0.1; done',
    '',
  ].join('\n'),
);

/** Screenshots kept for people to look at (test-results/ is not committed). */
const SHOTS = join(process.cwd(), 'test-results', 'screenshots');

const nb = useNotebook(script);

/** What the page recorded (see the observer below). */
interface Seen {
  batches: number;
  /** The most lines one batch of DOM changes added (one draw, or one backfill step). */
  mostAdded: number;
  /** A drawn state whose lines were not consecutive numbers, or a line in the wrong colour. */
  wrong: string[];
}

/**
 * Checks the drawn lines of output panel `panel` after each batch of DOM changes (each draw or
 * backfill step): consecutive numbers (the last one maybe cut short: the terminal has only part of
 * it yet), line n in colour n % 7 + 1 when `colours`; the page keeps what it saw in `window.seen`.
 */
function watchLines(panel: number, colours: boolean): Promise<void> {
  return nb.page.evaluate(
    ([panel, colours]) => {
      const w = window as unknown as { seen: Seen };
      w.seen = { batches: 0, mostAdded: 0, wrong: [] };
      const lineCount = (node: Node) => ((node as Element).classList?.contains('output-chunk') ? node.childNodes.length : 1);
      new MutationObserver((records) => {
        const el = document.querySelectorAll('[data-testid="output"] .output-body')[panel as number];
        if (!el) return;
        let added = 0;
        for (const r of records) if (el.contains(r.target)) for (const n of r.addedNodes) if (n.parentNode === el || (n.parentNode as Element)?.classList?.contains('output-chunk')) added += lineCount(n);
        w.seen.batches++;
        w.seen.mostAdded = Math.max(w.seen.mostAdded, added);
        const lines = [...el.querySelectorAll('.output-chunk')].flatMap((chunk) => [...chunk.childNodes]);
        lines.forEach((line, i) => {
          const text = line.textContent!.trim();
          const n = i > 0 ? Number(lines[i - 1].textContent!.trim()) + 1 : Number(text);
          if (i === lines.length - 1 ? !String(n).startsWith(text) : text !== String(n)) w.seen.wrong.push(`line ${i}: ${text} where ${n} belongs`);
          const colour = (line as Element).querySelector?.('span')?.className;
          if (colours && colour !== `fg-${(n % 7) + 1}`) w.seen.wrong.push(`line ${n} has colour "${colour}"`);
        });
      }).observe(document.body, { childList: true, subtree: true });
    },
    [panel, colours],
  );
}

/** The numbers of the lines drawn in output panel `panel`. */
const drawnLines = (panel: number) =>
  nb.page.evaluate((panel) => {
    const el = document.querySelectorAll('[data-testid="output"] .output-body')[panel];
    return [...el.querySelectorAll('.output-chunk')].flatMap((chunk) => [...chunk.childNodes]).map((line) => Number(line.textContent!.trim()));
  }, panel);

test('a burst of 5,000 lines shows its last lines at once and the rest by backfill: right lines, colours, scroll and selection throughout', async () => {
  const { page } = nb;
  const body = page.locator('[data-testid="output"] .output-body');
  // Hold the backfill's idle callbacks, to look at the view while it is pending.
  await page.evaluate(() => {
    const w = window as unknown as { held: IdleRequestCallback[]; realIdle: typeof requestIdleCallback };
    w.held = [];
    w.realIdle = window.requestIdleCallback;
    window.requestIdleCallback = (callback) => (w.held.push(callback), 0);
  });
  await watchLines(0, true);
  const drawn = () => drawnLines(0);
  /** The line at the top of the panel's view (NaN while its chunk is not rendered yet: content-visibility renders it at the next frame). */
  const topLine = () =>
    body.evaluate((el) => {
      const box = el.getBoundingClientRect();
      let node: Node | null = document.caretRangeFromPoint(box.left + 12, box.top + 6)!.startContainer;
      while (node && !(node.parentNode as Element)?.classList?.contains('output-chunk')) node = node.parentNode;
      return Number(node?.textContent?.trim());
    });

  await runBlockWith(page, 'awk');
  // The burst's last lines are drawn at once, the view at its end; the rows above them wait.
  await page.waitForFunction(() => document.querySelector('[data-testid="output"] .output-body')?.textContent?.endsWith('4999\n5000'));
  const first = await drawn();
  expect(first.at(-1)).toBe(5000);
  expect(first.length).toBeLessThan(2000);
  await expect(body.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)).resolves.toBeLessThan(4);
  await expect(page.locator('[data-testid="output"] .output-more').textContent()).resolves.toMatch(/^… 3,000 earlier lines not shown/);
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, 'burst-pending.png') });

  // Scrolled to the top of what is drawn, with two lines selected, while the backfill runs.
  const reading = first[0];
  await body.evaluate((el) => {
    el.scrollTop = 0;
    const lines = el.querySelectorAll('.output-chunk > *');
    const range = document.createRange();
    range.setStartBefore(lines[0]);
    range.setEndAfter(lines[1]);
    getSelection()!.removeAllRanges();
    getSelection()!.addRange(range);
  });
  await expect.poll(topLine).toBe(reading);
  await page.evaluate(() => {
    const w = window as unknown as { held: IdleRequestCallback[]; realIdle: typeof requestIdleCallback };
    window.requestIdleCallback = w.realIdle;
    for (const callback of w.held.splice(0)) callback({ didTimeout: false, timeRemaining: () => 10 });
  });
  await page.waitForSelector('[data-testid="output"][data-state="ok"]');

  // Backfilled: the last 2,000 lines, and the reader is still on the lines they were reading.
  const seen = await page.evaluate(() => (window as unknown as { seen: Seen }).seen);
  expect(seen.wrong.slice(0, 5)).toEqual([]);
  expect(seen.batches).toBeGreaterThan(2);
  expect(seen.mostAdded).toBeLessThan(1000); // never a draw of thousands of lines at once
  const all = await drawn();
  expect(all.length).toBe(2000);
  expect(all[0]).toBe(3001);
  expect(all.at(-1)).toBe(5000);
  await expect.poll(topLine).toBe(reading);
  await expect(page.evaluate(() => getSelection()!.toString())).resolves.toBe(`${reading}\n${reading + 1}\n`);
  await expect(page.locator('[data-testid="output"] .output-more').textContent()).resolves.toMatch(/^… 3,000 earlier lines not shown/);
  await page.screenshot({ path: join(SHOTS, 'burst-reading.png') });
  // The top of the kept lines is line 3,001; the end is line 5,000.
  await body.evaluate((el) => (el.scrollTop = 0));
  await expect.poll(topLine).toBe(3001);
  await page.screenshot({ path: join(SHOTS, 'burst-top.png') });
  await body.evaluate((el) => (el.scrollTop = el.scrollHeight));
  await expect(body.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)).resolves.toBeLessThan(4);
  expect(nb.pageErrors).toEqual([]);
});

test('a reader scrolled up while output streams gets the new lines a screenful a draw, each state right, and all of the last 2,000 at the end', async () => {
  const { page } = nb;
  const panel = await page.locator('[data-testid="output"]').count(); // the block's panel comes after the others
  await watchLines(panel, false);
  await runBlockWith(page, 'for i in $(seq 0 19)');
  const body = page.locator('[data-testid="output"] .output-body').nth(panel);
  await page.waitForFunction((panel) => (document.querySelectorAll('[data-testid="output"] .output-body')[panel]?.textContent?.length ?? 0) > 2000, panel);
  await body.evaluate((el) => (el.scrollTop = 0)); // reading: the view no longer follows the end
  await page.waitForFunction((panel) => document.querySelectorAll('[data-testid="output"]')[panel]?.getAttribute('data-state') === 'ok', panel, { timeout: 60_000 });
  const seen = await page.evaluate(() => (window as unknown as { seen: Seen }).seen);
  expect(seen.wrong.slice(0, 5)).toEqual([]);
  expect(seen.mostAdded).toBeLessThan(1000);
  const all = await drawnLines(panel);
  expect(all.length).toBe(2000);
  expect(all[0]).toBe(18_001);
  expect(all.at(-1)).toBe(20_000);
  expect(nb.pageErrors).toEqual([]);
});
