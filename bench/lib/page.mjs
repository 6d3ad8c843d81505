// The page in headless Chromium: time to an interactive editor, and to render a long output.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { faultCounters, faultsSince } from './reclaim.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The output panel states of a run that has finished (the page may use `done` or the outcome). */
const FINISHED = ['done', 'ok', 'failed', 'interrupted', 'error'];

/**
 * Opens `server.url` (a notebook whose only block is `seq LINES`), runs the block with Shift+Enter
 * and waits until its panel is finished and shows the last line. All times in ms.
 * Resolves with undefined when Chromium is missing.
 */
export async function measurePage(server, lines) {
  return withBrowser(async (browser) => {
    const page = browser.pages()[0] ?? (await browser.newPage());
    // Records when the page marks itself ready, on the page's own clock (ms since navigation start).
    await page.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (document.body?.dataset.ready === 'true') {
          window.__readyAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-ready'] });
    });
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    // Navigation Timing, and the page's own `cmdrun:*` marks (start, file, parser, editor, ready) if it sets them.
    const nav = await page.evaluate(() => {
      const [entry] = performance.getEntriesByType('navigation');
      const marks = Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('cmdrun:')).map((m) => [m.name, m.startTime]));
      return { readyMs: marks['cmdrun:ready'] ?? window.__readyAt, domContentLoadedMs: entry.domContentLoadedEventEnd, loadMs: entry.loadEventEnd, marks };
    });

    await page.click('.cm-content');
    // How long key presses wait while the output renders: event.timeStamp is when the browser got
    // the key, so the difference is the time the page's main thread kept it waiting.
    await page.evaluate(() => {
      window.__keyDelays = [];
      addEventListener('keydown', (event) => window.__keyDelays.push(performance.now() - event.timeStamp), true);
    });
    const t0 = performance.now();
    await page.keyboard.press('Shift+Enter');
    let rendering = true;
    const typing = (async () => {
      while (rendering) await page.keyboard.press('Shift'); // a key that changes nothing
    })();
    await page.waitForFunction(
      ({ finished, last }) => {
        const panels = document.querySelectorAll('[data-testid=output]');
        const panel = panels[panels.length - 1];
        return panel && finished.includes(panel.dataset.state) && panel.textContent.includes(last);
      },
      { finished: FINISHED, last: String(lines) },
      { polling: 'raf', timeout: 120_000 },
    );
    const renderMs = performance.now() - t0;
    rendering = false;
    await typing;
    const delays = (await page.evaluate(() => window.__keyDelays)).slice(1).sort((x, y) => x - y);
    const keyDelay = { count: delays.length, p95Ms: delays[Math.floor(delays.length * 0.95)] ?? NaN, maxMs: delays.at(-1) ?? NaN };
    const exitCode = await page.$eval('[data-testid=output]', (el) => el.dataset.exitCode);
    return { ...nav, renderMs, keyDelay, exitCode: Number(exitCode) };
  });
}

/** Calls fn(browser) with headless Chromium on a fresh profile; undefined when Chromium is missing. */
async function withBrowser(fn) {
  if (!existsSync(CHROMIUM)) return undefined;
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'cmdrun-bench-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    return await fn(browser);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** A /proc stat file (proc(5)): the command name (field 2) and the fields after it (field 3 first). */
function procStat(path) {
  const stat = readFileSync(path, 'utf8');
  return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), fields: stat.slice(stat.lastIndexOf(')') + 2).split(' ') };
}

/** Every live process under `root` (Linux /proc/PID/stat: field 4 is the parent) with its command name. */
function descendants(root) {
  const byParent = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const { comm, fields } = procStat(`/proc/${name}/stat`);
      const ppid = Number(fields[1]);
      byParent.set(ppid, [...(byParent.get(ppid) ?? []), { pid: Number(name), comm }]);
    } catch {
      // it exited meanwhile
    }
  }
  const out = [];
  for (let todo = [root]; todo.length; ) for (const child of byParent.get(todo.pop()) ?? []) out.push(child), todo.push(child.pid);
  return out;
}

/**
 * Pins `root` and the processes under it that `which` takes (every thread of each) to `cpus`, a
 * taskset(1) list (`0`, `1-3`); processes forked later inherit it.
 */
export function pinTree(root, cpus, which = () => true) {
  for (const p of [{ pid: root, comm: '' }, ...descendants(root)].filter((p, i) => i === 0 || which(p))) {
    try {
      execFileSync('taskset', ['-a', '-p', '-c', cpus, String(p.pid)], { stdio: 'ignore' });
    } catch {
      // it exited meanwhile
    }
  }
}

/** True for Chromium's processes (browser, zygotes, renderers, GPU, utilities). */
const isChromium = (p) => /^chrom/.test(p.comm);

/**
 * CPU time (ms: utime + stime, proc(5), at 100 ticks a second) of every thread of Chromium's
 * processes under `root`, by thread id, with its process type (`--type=`; `browser` without) and
 * the thread's name: `renderer/DedicatedWorker`, `renderer/Compositor`, `gpu-process/...`.
 */
function chromiumThreadCpu(root) {
  const out = new Map();
  for (const p of descendants(root).filter(isChromium)) {
    try {
      const type = /--type=(\S+)/.exec(readFileSync(`/proc/${p.pid}/cmdline`, 'utf8'))?.[1] ?? 'browser';
      for (const tid of readdirSync(`/proc/${p.pid}/task`)) {
        const { comm, fields } = procStat(`/proc/${p.pid}/task/${tid}/stat`);
        out.set(tid, { name: `${type}/${comm}`, ms: (Number(fields[11]) + Number(fields[12])) * 10 });
      }
    } catch {
      // it exited meanwhile
    }
  }
  return out;
}

/** The CPU time (ms) Chromium's threads took between two {@link chromiumThreadCpu} snapshots, by thread name, largest first. */
function threadCpuSince(before, after) {
  const byName = new Map();
  for (const [tid, t] of after) byName.set(t.name, (byName.get(t.name) ?? 0) + t.ms - (before.get(tid)?.ms ?? 0));
  return Object.fromEntries([...byName].filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]).slice(0, 8));
}

/**
 * Opens `server.url` (a notebook whose only block runs on a fleet of `hosts` hosts, each printing
 * `bytes`), runs it and follows the frames until every host's chip is settled: the longest time
 * between two animation frames (ms; what a user feels as a stall), the p95 frame, and the time to
 * the end, and what the machine read back from disk meanwhile (`faults`: faultsSince, system-wide).
 * With `browserCpus` (a taskset list), Chromium's processes run on those CPUs only.
 */
export async function measureFleetPage(server, hosts, bytes, { browserCpus } = {}) {
  return withBrowser(async (browser) => {
    if (browserCpus !== undefined) pinTree(process.pid, browserCpus, isChromium);
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    // As a person would: the block is run once the page has loaded what it fetches after it is ready
    // (xterm.js), and has shown the runs the server still keeps (the earlier runs of this section,
    // each a fleet run; until they are shown, a new run would wait behind them).
    await page.waitForFunction(() => performance.getEntriesByName('cmdrun:terminal').length > 0, undefined, { timeout: 30_000 });
    await page.waitForFunction(
      () => {
        const panels = [...document.querySelectorAll('[data-testid=output]')];
        for (const p of panels) p.dataset.benchEarlier = '';
        return panels.every((p) => p.dataset.state !== 'queued' && p.dataset.state !== 'running');
      },
      undefined,
      { polling: 100, timeout: 120_000 },
    );
    // The probe first: its own start-up (at real-time priority) is no frame of the page's.
    const probe = browserCpus !== undefined ? await startStallProbe(browserCpus) : undefined;
    await page.click('.cm-content');
    await page.evaluate(() => {
      // When each animation frame began (ms, the page's clock), after the time it started following them.
      window.__frameTimes = [performance.now()];
      // What the longest frames spent their time on (Long Animation Frames API, Chromium 123+).
      window.__loafs = [];
      try {
        new PerformanceObserver((list) => window.__loafs.push(...list.getEntries())).observe({ type: 'long-animation-frame' });
      } catch {
        // an older Chromium: no attribution
      }
      const frame = (now) => {
        window.__frameTimes.push(now);
        if (!window.__stopFrames) requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    });
    const cdp = process.env.BENCH_PAGE_PROFILE ? await page.context().newCDPSession(page) : undefined;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
    }
    const trace = process.env.BENCH_PAGE_TRACE ? await startTrace(page) : undefined;
    const threadsBefore = trace ? chromiumThreadCpu(process.pid) : undefined;
    const faultsBefore = faultCounters();
    const t0 = performance.now();
    await page.keyboard.press('Shift+Enter');
    await page.waitForFunction(
      (n) => {
        const panel = document.querySelector('[data-testid=output]:not([data-bench-earlier])');
        const chips = [...(panel?.querySelectorAll('[data-testid=fleet-host]') ?? [])];
        return panel && chips.length === n && chips.every((c) => c.dataset.state === 'ok') && ['ok', 'failed'].includes(panel.dataset.state);
      },
      hosts,
      { polling: 500, timeout: 300_000 },
    );
    const endMs = performance.now() - t0;
    const faults = faultsSince(faultsBefore);
    const stall = await probe?.stop();
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      writeFileSync(`${process.env.BENCH_PAGE_PROFILE}-${Date.now()}.cpuprofile`, JSON.stringify(profile));
    }
    const threads = threadsBefore ? threadCpuSince(threadsBefore, chromiumThreadCpu(process.pid)) : undefined;
    const cpu = trace ? { ...(await trace.stop()), threads } : undefined;
    // Each frame's length and when it ended (epoch ms), from the second on (the first began before
    // the frames were followed).
    const timed = await page.evaluate(() => {
      window.__stopFrames = true;
      const t = window.__frameTimes;
      return t.slice(2).map((now, i) => [now - t[i + 1], performance.timeOrigin + now]);
    });
    const frames = timed.map(([ms]) => ms);
    // When the three longest frames ended, to line them up with the machine's own traces.
    const longestAt = [...timed]
      .sort((a, b) => b[0] - a[0])
      .slice(0, 3)
      .map(([ms, at]) => [Math.round(ms), Math.round(at)]);
    // The three longest animation frames: their duration, the part before rendering (tasks and
    // scripts), style and layout, and the scripts that took 5 ms or more (where, what called them).
    const longFrames = await page.evaluate(() =>
      window.__loafs
        .sort((a, b) => b.duration - a.duration)
        .slice(0, 3)
        .map((e) => ({
          ms: Math.round(e.duration),
          beforeRenderMs: Math.round((e.renderStart || e.startTime + e.duration) - e.startTime),
          styleLayoutMs: e.styleAndLayoutStart ? Math.round(e.startTime + e.duration - e.styleAndLayoutStart) : 0,
          blockingMs: Math.round(e.blockingDuration),
          scripts: e.scripts
            .filter((x) => x.duration >= 5)
            .map((x) => `${Math.round(x.duration)} ms ${x.invokerType} ${x.invoker} ${x.sourceFunctionName || ''} ${(x.sourceURL || '').split('/').pop()}:${x.sourceCharPosition}`),
        })),
    );
    const sorted = [...frames].sort((a, b) => a - b);
    return { endMs, frames: frames.length, maxFrameMs: sorted.at(-1) ?? NaN, p95FrameMs: sorted[Math.floor(sorted.length * 0.95)] ?? NaN, bytes, longFrames, longestAt, faults, ...(stall && { stall }), ...(cpu && { cpu }) };
  });
}

/**
 * Starts bench/lib/stall-probe.mjs as a real-time thread (chrt -f 50) on `cpus`, the CPUs the page
 * runs on; `stop()` resolves with the longest gap it saw between two of its 1 ms wake-ups
 * (`maxGapMs`) and the gaps over 50 ms (`over50`: [ms after the probe started, gap ms]): how long that CPU ran nothing at all that it was
 * asked to (the machine's own stalls, which no page can avoid). Undefined when chrt or real-time
 * scheduling is not available (not root).
 */
async function startStallProbe(cpus) {
  const child = spawn('chrt', ['-f', '50', 'taskset', '-c', cpus, process.execPath, fileURLToPath(new URL('./stall-probe.mjs', import.meta.url))], { stdio: ['pipe', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => {
    child.once('close', resolve);
    child.once('error', resolve); // no chrt
  });
  const ready = await Promise.race([new Promise((resolve) => child.stdout.on('data', () => out.startsWith('ready\n') && resolve(true))), exited.then(() => false)]);
  if (!ready) return undefined;
  return {
    async stop() {
      child.stdin.end();
      await exited;
      try {
        return JSON.parse(out.slice('ready\n'.length));
      } catch {
        return undefined;
      }
    },
  };
}

/** Trace events of the page's main thread whose thread CPU time is summarized (see startTrace). */
const CPU_EVENTS = { task: 'ThreadControllerImpl::RunTask', animationFrame: 'FireAnimationFrame', idleCallback: 'FireIdleCallback', timer: 'TimerFire' };

/**
 * Starts a Chromium trace of `page` (BENCH_PAGE_TRACE=1); `stop()` ends it and resolves with the
 * thread CPU time (ms) of the page's main thread: the longest and the total of its tasks, its
 * animation-frame callbacks (the terminal's draws), idle callbacks (the backfill) and timers
 * (xterm.js parsing), and (`byEvent`) its CPU time by trace event name, the 14 largest (style,
 * layout, paint...). Unlike the frames' wall time, CPU time holds when other work shares the cores.
 */
async function startTrace(page) {
  const cdp = await page.context().newCDPSession(page);
  const events = [];
  const dump = process.env.BENCH_PAGE_TRACE.startsWith('/') ? process.env.BENCH_PAGE_TRACE : undefined;
  const raw = [];
  cdp.on('Tracing.dataCollected', ({ value }) => {
    if (dump) raw.push(...value);
    events.push(...value.filter((e) => e.ph === 'M' || (e.ph === 'X' && e.tdur !== undefined)));
  });
  const categories = dump ? ['toplevel', 'devtools.timeline', 'cc', 'viz', 'gpu', 'v8', 'blink', 'disabled-by-default-devtools.timeline.frame'] : ['toplevel', 'devtools.timeline'];
  await cdp.send('Tracing.start', { transferMode: 'ReportEvents', traceConfig: { includedCategories: categories, excludedCategories: ['*'] } });
  return {
    async stop() {
      const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
      await cdp.send('Tracing.end');
      await complete;
      await cdp.detach();
      if (dump) writeFileSync(`${dump}-${Date.now()}.json`, JSON.stringify({ traceEvents: raw }));
      // The page's main thread: the renderer main thread with the most animation frames.
      const thread = (e) => `${e.pid}:${e.tid}`;
      const mains = events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map(thread);
      const frames = (t) => events.filter((e) => thread(e) === t && e.name === CPU_EVENTS.animationFrame).length;
      const main = mains.sort((a, b) => frames(b) - frames(a))[0];
      const out = {};
      for (const [key, name] of Object.entries(CPU_EVENTS)) {
        const ms = events.filter((e) => thread(e) === main && e.name === name && e.ph === 'X' && e.tdur !== undefined).map((e) => e.tdur / 1000);
        out[key] = { maxMs: Math.round(Math.max(0, ...ms)), totalMs: Math.round(ms.reduce((a, b) => a + b, 0)), count: ms.length };
      }
      // The main thread's CPU by trace event (style, layout, paint, GC, script...; events nest, so the parts overlap).
      const byName = new Map();
      for (const e of events) if (thread(e) === main && e.ph === 'X' && e.tdur !== undefined) byName.set(e.name, (byName.get(e.name) ?? 0) + e.tdur / 1000);
      out.byEvent = Object.fromEntries([...byName].sort((a, b) => b[1] - a[1]).slice(0, 14).map(([n, ms]) => [n, Math.round(ms)]));
      return out;
    },
  };
}
