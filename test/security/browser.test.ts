// A real browser on a page of another origin (a second local port) attacks cmdrun.
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { serveCli, type Served } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('cmdrun-xorigin-');
const script = join(dir, 'victim.sh');
writeFileSync(script, 'echo hi\n');
const pwned = join(dir, 'PWNED');

let served: Served;
let attacker: Server;
let attackerOrigin: string;
let browser: BrowserContext;

beforeAll(async () => {
  served = await serveCli([script]);
  attacker = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>innocent page</title><form id="f" method="POST" enctype="text/plain"></form>');
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerOrigin = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  browser = await launchBrowser();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  attacker?.close();
  served?.child.kill('SIGTERM');
  await served?.exited;
});

test('a page on another origin cannot start a run or read anything', async () => {
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(attackerOrigin);
  const target = served.origin;
  const results = await page.evaluate(async ({ target, pwned }) => {
    const code = JSON.stringify({ code: `touch ${pwned}` });
    const out: Record<string, string> = {};
    const attempt = async (name: string, f: () => Promise<Response>) => {
      try {
        const res = await f();
        out[name] = `status ${res.status} type ${res.type}`;
      } catch (err) {
        out[name] = `blocked: ${(err as Error).name}`;
      }
    };
    // The classic drive-by: no preflight, opaque response.
    await attempt('no-cors text/plain', () => fetch(`${target}/api/runs`, { mode: 'no-cors', method: 'POST', body: code, headers: { 'Content-Type': 'text/plain' } }));
    // With JSON and a guessed token the browser must preflight, and no CORS header lets it through.
    await attempt('cors json', () => fetch(`${target}/api/runs`, { method: 'POST', body: code, headers: { 'Content-Type': 'application/json', Authorization: 'Bearer guess' } }));
    // Reading the script or the session is refused by the browser (no CORS headers).
    await attempt('read file', () => fetch(`${target}/api/file`));
    await attempt('health', () => fetch(`${target}/api/health`));
    // A form post navigates a hidden frame to the API.
    const frame = document.createElement('iframe');
    frame.name = 'sink';
    document.body.append(frame);
    const form = document.getElementById('f') as HTMLFormElement;
    form.action = `${target}/api/runs`;
    form.target = 'sink';
    const input = document.createElement('input');
    input.name = code;
    input.value = '';
    form.append(input);
    // The frame loads the server's answer (its 403) once the post has been handled.
    await new Promise((resolve, reject) => {
      frame.onload = resolve;
      setTimeout(() => reject(new Error('the form post got no answer in 10 s')), 10_000);
      form.submit();
    });
    return out;
  }, { target, pwned });

  expect(results['no-cors text/plain']).toBe('status 0 type opaque'); // sent, but refused by the server (403)
  expect(results['cors json']).toMatch(/^blocked: TypeError/);
  expect(results['read file']).toMatch(/^blocked: TypeError/);
  expect(results['health']).toMatch(/^blocked: TypeError/);

  const runs = await fetch(`${served.origin}/api/runs`, { headers: { authorization: `Bearer ${served.token}` } });
  expect(await runs.json()).toEqual([]);
  expect(existsSync(pwned)).toBe(false);
});

test('the notebook page cannot be framed by another origin', async () => {
  const page = await browser.newPage();
  await page.goto(attackerOrigin);
  // The frame's load event: Chromium has answered the navigation (with its error page, when refused).
  await page.evaluate((url) => new Promise((resolve, reject) => {
    const frame = document.createElement('iframe');
    frame.onload = resolve;
    setTimeout(() => reject(new Error('the frame did not load in 10 s')), 10_000);
    frame.src = url;
    document.body.append(frame);
  }), served.url);
  const child = page.frames().find((f) => f !== page.mainFrame());
  expect(child).toBeDefined();
  // Blocked by frame-ancestors 'none' and X-Frame-Options DENY: Chromium puts its error page there.
  expect(child!.url()).not.toContain(served.origin.replace('http://', ''));
  expect(await child!.locator('.cm-editor').count()).toBe(0);
  await page.close();
});
