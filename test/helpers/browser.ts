import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { serveCli, type Served } from './cli.js';
import { tempDir } from './tmp.js';

/** Debian's chromium (installed by .ci/run); playwright cannot download browsers here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launches headless chromium with a fresh profile and the flags this machine needs. */
export function launchBrowser(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(tempDir('cmdrun-chromium-'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A notebook served by the CLI and opened in a fresh headless Chromium. */
export interface OpenNotebook {
  served: Served;
  browser: BrowserContext;
  page: Page;
  /** Uncaught errors of the page, for a final `expect(...).toEqual([])`. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** Starts `cmdrun SCRIPT --no-browser` (with `env` added), opens the printed URL and waits until the editor is ready. */
export async function openNotebook(script: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<OpenNotebook> {
  const served = await serveCli([...args, script], env);
  const browser = await launchBrowser();
  const page = browser.pages()[0] ?? (await browser.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(served.url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  return {
    served,
    browser,
    page,
    pageErrors,
    async close() {
      await browser.close();
      served.child.kill('SIGTERM');
      await served.exited;
    },
  };
}

/**
 * Opens a notebook on `script` before the file's tests and closes it after them. The returned
 * object is filled in by the beforeAll hook: read its fields inside tests.
 */
export function useNotebook(script: string): OpenNotebook {
  const nb = {} as OpenNotebook;
  beforeAll(async () => {
    Object.assign(nb, await openNotebook(script));
  }, 30_000);
  afterAll(async () => {
    await nb.close?.();
  });
  return nb;
}

/** Puts the cursor on the first line holding `text` and runs that block in place (Ctrl+Enter). */
export async function runBlockWith(page: Page, text: string): Promise<void> {
  await page.locator('.cm-line', { hasText: text }).first().click();
  await page.keyboard.press('Control+Enter');
}

/**
 * Types `typed` at the end of the first line holding `text`, checks the file name shows unsaved
 * edits (`name •`), saves with Ctrl+S and waits until the page says the file is saved.
 */
export async function appendAndSave(page: Page, text: string, typed: string, name: string): Promise<void> {
  await page.locator('.cm-line', { hasText: text }).first().click();
  await page.keyboard.press('End');
  await page.keyboard.type(typed);
  if ((await page.locator('#file-name').textContent()) !== `${name} •`) throw new Error(`the page does not show unsaved edits of ${name}`);
  await page.keyboard.press('Control+s');
  await page.waitForFunction((saved) => document.querySelector('#file-name')?.textContent === saved, name);
}

/**
 * Scrolls `target` to the middle of its scroller, as a person brings a control into view before
 * clicking it, and resolves once its box stayed the same over three animation frames: the editor
 * measures the lines it scrolled to (output panels' heights were estimates) and may move them.
 */
export async function settledInView(page: Page, target: Locator): Promise<void> {
  await target.evaluate((el) => el.scrollIntoView({ block: 'center' }));
  const frames = () => page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(() => resolve())))));
  const key = async () => JSON.stringify(await target.boundingBox());
  for (let before = await key(); ; ) {
    await frames();
    const now = await key();
    if (now === before && now !== 'null') return;
    before = now;
  }
}
