// cmdrun's benchmark: the built CLI driven over real HTTP + SSE, beside bare bash baselines.
// Prints a table (figure, baseline, target, pass/miss) and writes bench/results.json.
//
//   npm run bench                      build dist/, then every section (~1 min)
//   node bench/bench.mjs [section...]  only these: startup latency runall throughput history secrets remote container page fleet fleetpage
//   BENCH_NODE_ARGS='--cpu-prof' node bench/bench.mjs throughput   node flags for the servers
//   BENCH_PAGE_PROFILE=/tmp/fp node bench/bench.mjs fleetpage   also a CPU profile of the page per run (/tmp/fp-*.cpuprofile)
//   BENCH_PAGE_TRACE=1 node bench/bench.mjs fleetpage   also the page's thread CPU time per run (`cpu`: longest task, draw, backfill; `cpu.threads`: the CPU time of each of Chromium's threads by name)
//   BENCH_PAGE_TRACE=/tmp/tr ...   the same, and each run's whole Chromium trace (more categories) in /tmp/tr-*.json (chrome://tracing, Perfetto)
//   BENCH_PAGE_OWN=1 BENCH_PAGE_RUNS=5 node bench/bench.mjs fleetpage   only the "Chromium on a core of its own" settings (with the machine's memory reclaim on where it runs, then paused), 5 runs each
//
// Units: ms for times, MB = 10^6 bytes for throughput, MiB = 2^20 bytes for memory.
import { cpus, release, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { barePodmanShell, barePtyShell, bareSshShell, timeBash, timeNodeStart } from './lib/baseline.mjs';
import { memory, readRun, runBlock, shellPid, startCmdrun, timeCmdrunRun } from './lib/cmdrun.mjs';
import { measurePage } from './lib/page.mjs';
import { fleetPageSection, fleetSection } from './lib/fleet.mjs';
import { loadContainerFixture, loadSshdFixture } from './lib/sshd.mjs';
import { repeat, summary } from './lib/stats.mjs';

const LATENCY_RUNS = 300; // measured runs per command, after LATENCY_WARMUP
const LATENCY_WARMUP = 30;
const RUN_ALL_BLOCKS = 1000;
const BIG_OUTPUT = 'yes | head -c 200000000'; // 200 MB
const MANY_LINES = 'seq 1000000'; // 6.9 MB in 10^6 lines
const BIG_OUTPUT_RUNS = 3; // medians of these many runs (the machine may be noisy)
const MANY_LINES_RUNS = 5;
const STARTS = 10;
const PAGE_LINES = 100_000;
const REMOTE_OUTPUT = "head -c 50000000 /dev/zero | tr '\\0' x"; // 50 MB of x

const dir = mkdtempSync(join(tmpdir(), 'cmdrun-bench-'));
const script = join(dir, 'bench.sh');
writeFileSync(script, 'true\n');
const nodeArgs = process.env.BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];

/** The run history of every server but the history section's: a database in the temp folder. */
const HISTORY = ['--history', join(dir, 'history.db')];

/**
 * Rows for 50 MB of output (REMOTE_OUTPUT) through cmdrun's session on `server` beside the same
 * block typed into a bare shell `bare` in a PTY, BIG_OUTPUT_RUNS times each: MB/s of the medians,
 * and the bytes each delivered when either fell short. Returns the figures for results.json.
 */
async function bigOutputRows(server, bare, label, bareLabel) {
  const [ptyRuns, runs] = [[], []];
  for (let i = 0; i < BIG_OUTPUT_RUNS; i++) {
    ptyRuns.push(await bare.run(REMOTE_OUTPUT));
    runs.push(await runBlock(server, REMOTE_OUTPUT));
  }
  const ptyMs = summary(ptyRuns.map((r) => r.ms)).median;
  const ms = summary(runs.map((r) => r.ms)).median;
  const bytes = 50_000_000;
  const mbps = (t) => bytes / 1e3 / t;
  const delivered = Math.min(...runs.map((r) => r.bytes));
  const bareDelivered = Math.min(...ptyRuns.map((r) => r.bytes));
  row(`${label} 50 MB output (MB/s)`, f(mbps(ms), 0), `${f(mbps(ptyMs), 0)} ${bareLabel}`, `${f(ptyMs / ms, 2)} of bare`, 'every byte', delivered === bytes);
  if (delivered !== bytes || bareDelivered !== bytes) row(`  ${label} 50 MB: bytes delivered`, `${delivered}`, `${bareDelivered}`, `of ${bytes}`);
  return { runs: BIG_OUTPUT_RUNS, bytes, deliveredBytes: delivered, bareDeliveredBytes: bareDelivered, cmdrunMs: ms, bareMs: ptyMs };
}

/** Calls fn(server) with a fresh cmdrun serving `file` (with `args`), and stops it afterwards. */
async function withServer(file, fn, args = HISTORY) {
  const server = await startCmdrun(file, { nodeArgs, args });
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/** Rows of the table; `pass` is undefined for figures without a target. */
const rows = [];
const results = {};
const row = (metric, value, baseline = '', comparison = '', target = '', pass = undefined) => {
  rows.push({ metric, value, baseline, comparison, target, pass });
  // As measured, too: a long section (fleet) stopped midway still leaves its figures.
  process.stderr.write(`  ${metric}: ${value}${baseline ? ` | ${baseline}` : ''}${comparison ? ` | ${comparison}` : ''}\n`);
};
const f = (n, digits = 1) => (n === undefined ? '–' : n.toFixed(digits));

/** 1. POST a block to its `end` event, beside the bare PTY shell's round trip for the same command. */
async function latency() {
  const bare = await barePtyShell();
  await withServer(script, async (server) => {
    for (const cmd of ['true', 'echo hi']) {
      // Interleaved: each run through cmdrun follows one through the bare shell.
      const pairs = await repeat(LATENCY_RUNS, LATENCY_WARMUP, async () => [await bare.run(cmd), await runBlock(server, cmd)]);
      const base = summary(pairs.map(([b]) => b.ms));
      const runs = pairs.map(([, r]) => r);
      const ours = summary(runs.map((r) => r.ms));
      // The `end` event's durationMs: the server's own time for the block, in whole ms.
      const inServer = summary(runs.map((r) => r.end.durationMs));
      results[`latency ${cmd}`] = { cmdrunMs: ours, serverDurationMs: inServer, barePtyBashMs: base, runs: LATENCY_RUNS };
      for (const q of ['median', 'p95']) {
        const overhead = ours[q] - base[q];
        const median = q === 'median';
        const target = median ? 1 : 2;
        row(`block \`${cmd}\`, ${q} (ms)`, f(ours[q], 2), `${f(base[q], 2)} bare PTY bash`, `+${f(overhead, 2)} ms, ${f(ours[q] / base[q], 0)}x`,
          `≤ ${target} ms`, ours[q] <= target);
      }
    }
  });
  bare.close();
}

/** 2. 1,000 one-line blocks queued in order, first POST to the last `end`; then the server's memory. */
async function runAll() {
  const lines = Array.from({ length: RUN_ALL_BLOCKS }, (_, i) => `echo "block ${i + 1}"`);
  const file = join(dir, 'lines.sh');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const scriptMs = await timeBash([file]);
  const bare = await barePtyShell();
  let bareMs = 0;
  for (const line of lines) bareMs += (await bare.run(line)).ms;
  bare.close();

  const { ms, end, mem } = await withServer(script, async (server) => {
    const t0 = performance.now();
    let last;
    for (const code of lines) {
      const res = await server.request('POST', '/api/runs', { code }, { accept: 'application/json' });
      if (res.status !== 202) throw new Error(`POST /api/runs: ${res.status}`);
      last = (await res.json()).runId;
    }
    const { end, endAt } = await readRun(await server.request('GET', `/api/runs/${last}/events`));
    const mem = { server: memory(server.pid), shell: memory(await shellPid(server)) };
    return { ms: endAt - t0, end, mem };
  });
  results.runAll = { blocks: RUN_ALL_BLOCKS, cmdrunMs: ms, lastExitCode: end.exitCode, bashScriptMs: scriptMs, barePtyLineByLineMs: bareMs, memoryMiB: mem };
  row(`run-all ${RUN_ALL_BLOCKS} blocks (ms)`, f(ms, 0), `${f(scriptMs, 0)} as one script`, `${f(ms / scriptMs, 0)}x`, '≤ 1000 ms', ms <= 1000);
  row('  the same, per block (ms)', f(ms / RUN_ALL_BLOCKS, 2), `${f(bareMs / RUN_ALL_BLOCKS, 2)} bare PTY bash`, `${f(ms / bareMs, 0)}x`);
  row(`server RSS after ${RUN_ALL_BLOCKS} blocks (MiB)`, `${f(mem.server.rssMB, 0)} (peak ${f(mem.server.peakMB, 0)})`);
  row(`shell RSS after ${RUN_ALL_BLOCKS} blocks (MiB)`, `${f(mem.shell.rssMB, 0)} (peak ${f(mem.shell.peakMB, 0)})`);
}

/**
 * 3 and 5. Output throughput to an SSE client that reads everything, beside the same block into
 * /dev/null and through the bare PTY shell (medians of `times` runs); the server's memory after 200 MB.
 */
async function throughput() {
  const bare = await barePtyShell();
  await withServer(script, async (server) => {
    const shell = await shellPid(server);
    for (const [name, block, times] of [['200 MB output', BIG_OUTPUT, BIG_OUTPUT_RUNS], ['1M lines output', MANY_LINES, MANY_LINES_RUNS]]) {
      // Interleaved, so that a burst of load on the machine hits every contender alike.
      const [devNull, ptyRuns, runs] = [[], [], []];
      for (let i = 0; i < times; i++) {
        devNull.push(await timeBash(['-c', `${block} > /dev/null`]));
        ptyRuns.push(await bare.run(block));
        runs.push(await runBlock(server, block));
        // VmHWM is the peak since start: this fresh server has run nothing before this first 200 MB.
        if (i === 0 && block === BIG_OUTPUT) results.memoryMiB = { server: memory(server.pid), shell: memory(shell) };
      }
      const devNullMs = summary(devNull).median;
      const ptyMs = summary(ptyRuns.map((r) => r.ms)).median;
      const ms = summary(runs.map((r) => r.ms)).median;
      const bytes = ptyRuns[0].bytes;
      const mbps = (t) => bytes / 1e3 / t; // bytes per ms / 1000 = MB/s
      const ratio = ptyMs / ms;
      const delivered = Math.min(...runs.map((r) => r.bytes));
      results[name] = { block, runs: times, bytes, deliveredBytes: delivered, cmdrunMs: ms, barePtyMs: ptyMs, devNullMs };
      row(`${name} (MB/s)`, f(mbps(ms), 0), `PTY ${f(mbps(ptyMs), 0)}, /dev/null ${f(mbps(devNullMs), 0)}`,
        `${f(ratio, 2)} of PTY, ${f(devNullMs / ms, 3)} of /dev/null`,
        ...(block === BIG_OUTPUT
          ? ['≥ 0.6 of PTY, every byte', ratio >= 0.6 && delivered === bytes]
          : ['≥ 50 MB/s, ≥ 0.5 of PTY', mbps(ms) >= 50 && ratio >= 0.5]));
      if (delivered !== bytes) row(`  ${name}: bytes delivered`, `${delivered}`, `${bytes}`, 'output lost');
      if (block === BIG_OUTPUT) {
        const { server: ours, shell: theirs } = results.memoryMiB;
        row('server peak RSS, 200 MB run (MiB)', f(ours.peakMB, 0), '', '', '< 150 MiB', ours.peakMB < 150);
        row('shell peak RSS, 200 MB run (MiB)', f(theirs.peakMB, 0));
      }
    }
  });
  bare.close();
}

/**
 * 7. What recording the run history costs: the same blocks and the same 200 MB, interleaved,
 * through a server with --no-history and one writing to a fresh database (issue 14: at most
 * +0.2 ms a block and 10% of the throughput).
 */
async function history() {
  const file = join(dir, 'history.sh');
  writeFileSync(file, 'true\n');
  const off = await startCmdrun(file, { nodeArgs, args: ['--no-history'] });
  const on = await startCmdrun(file, { nodeArgs, args: ['--history', join(dir, 'history-bench.db')] });
  try {
    const pairs = await repeat(LATENCY_RUNS, LATENCY_WARMUP, async () => [await runBlock(off, 'true'), await runBlock(on, 'true')]);
    const [without, withHistory] = [0, 1].map((i) => summary(pairs.map((p) => p[i].ms)));
    const extra = withHistory.median - without.median;
    row('block `true` with history, median / p95 (ms)', `${f(withHistory.median, 2)} / ${f(withHistory.p95, 2)}`, `${f(without.median, 2)} / ${f(without.p95, 2)} --no-history`,
      `${extra >= 0 ? '+' : ''}${f(extra, 2)} ms`, '≤ +0.2 ms', extra <= 0.2);
    const big = [[], []];
    for (let i = 0; i < BIG_OUTPUT_RUNS; i++) {
      big[0].push(await runBlock(off, BIG_OUTPUT));
      big[1].push(await runBlock(on, BIG_OUTPUT));
    }
    const [offMs, onMs] = big.map((runs) => summary(runs.map((r) => r.ms)).median);
    const mbps = (t) => big[0][0].bytes / 1e3 / t;
    row('200 MB output with history (MB/s)', f(mbps(onMs), 0), `${f(mbps(offMs), 0)} --no-history`, `${f(offMs / onMs, 2)} of it`, '≥ 0.9', offMs / onMs >= 0.9);
    results.history = { latencyTrueMs: { withHistory, without }, bigOutputMs: { withHistory: onMs, without: offMs }, runs: { latency: LATENCY_RUNS, bigOutput: BIG_OUTPUT_RUNS } };
  } finally {
    await Promise.all([off.stop(), on.stop()]);
  }
}

/**
 * 9. What masking secrets costs (issue 18: at most 10% of the throughput): the same 200 MB,
 * interleaved, through a server that knows two secrets (`--env`, names that are secrets; both start
 * with the output's own letter, so every chunk's end is checked for a secret's beginning) and one
 * that knows none.
 */
async function secrets() {
  const file = join(dir, 'secrets.sh');
  writeFileSync(file, 'true\n');
  const plain = await startCmdrun(file, { nodeArgs, args: HISTORY });
  const masking = await startCmdrun(file, { nodeArgs, args: [...HISTORY, '--env', 'API_TOKEN=yes-it-is-a-token', '--env', 'DB_PASSWORD=y-not-a-password'] });
  try {
    const big = [[], []];
    for (let i = 0; i < BIG_OUTPUT_RUNS; i++) {
      big[0].push(await runBlock(plain, BIG_OUTPUT));
      big[1].push(await runBlock(masking, BIG_OUTPUT));
    }
    const [plainMs, maskingMs] = big.map((runs) => summary(runs.map((r) => r.ms)).median);
    const mbps = (t) => big[0][0].bytes / 1e3 / t;
    row('200 MB output, two secrets masked (MB/s)', f(mbps(maskingMs), 0), `${f(mbps(plainMs), 0)} no secrets`, `${f(plainMs / maskingMs, 2)} of it`, '≥ 0.9', plainMs / maskingMs >= 0.9);
    results.secrets = { bigOutputMs: { twoSecrets: maskingMs, none: plainMs }, runs: BIG_OUTPUT_RUNS };
  } finally {
    await Promise.all([plain.stop(), masking.stop()]);
  }
}

/**
 * 8. A session on ssh://<the test sshd on 127.0.0.1> (issue 15): `true` blocks after the first (which
 * connects), and 50 MB of output, beside a bare `ssh -tt -e none HOST bash` in a PTY driven line by
 * line, connected once too. Interleaved, as the local rows are.
 */
async function remote() {
  const { startSshd } = await loadSshdFixture(dir);
  let sshd;
  try {
    sshd = await startSshd();
  } catch (err) {
    if (!/the sshd fixture needs/.test(err.message)) throw err;
    console.log(`remote: skipped, ${err.message}`);
    return;
  }
  const bare = await bareSshShell(sshd.sshCommand, sshd.host);
  const args = [...HISTORY, '--on', `ssh://${sshd.host}`, '--ssh-command', sshd.sshCommand];
  try {
    await withServer(script, async (server) => {
      await runBlock(server, 'true'); // connects
      const pairs = await repeat(LATENCY_RUNS, LATENCY_WARMUP, async () => [await bare.run('true'), await runBlock(server, 'true')]);
      const base = summary(pairs.map(([b]) => b.ms));
      const ours = summary(pairs.map(([, r]) => r.ms));
      for (const q of ['median', 'p95']) {
        row(`remote block \`true\`, ${q} (ms)`, f(ours[q], 2), `${f(base[q], 2)} bare ssh -tt bash`, `+${f(ours[q] - base[q], 2)} ms, ${f(ours[q] / base[q], 1)}x`);
      }
      const output = await bigOutputRows(server, bare, 'remote', 'bare ssh -tt');
      results.remote = {
        target: 'ssh://127.0.0.1 (test sshd)',
        latencyTrueMs: { cmdrun: ours, bareSsh: base, runs: LATENCY_RUNS },
        output: { block: REMOTE_OUTPUT, ...output },
      };
    }, args);
  } finally {
    bare.close();
    await sshd.stop();
  }
}

/**
 * 9. A session on podman://<a container of the tests' image> (issue 20): `true` blocks after the
 * first (which starts the exec), and 50 MB of output, beside a bare `podman exec -it -- C bash` in a
 * PTY driven line by line, started once too. Interleaved, as the other rows are.
 */
async function container() {
  const { canRunContainers, startContainerLab } = await loadContainerFixture(dir);
  if (!canRunContainers()) {
    console.log('container: skipped, podman, runc, busybox or bash is missing');
    return;
  }
  const lab = await startContainerLab();
  let bare;
  try {
    const name = await lab.run();
    bare = await barePodmanShell(name);
    await withServer(script, async (server) => {
      await runBlock(server, 'true'); // starts the exec
      const pairs = await repeat(LATENCY_RUNS, LATENCY_WARMUP, async () => [await bare.run('true'), await runBlock(server, 'true')]);
      const base = summary(pairs.map(([b]) => b.ms));
      const ours = summary(pairs.map(([, r]) => r.ms));
      for (const q of ['median', 'p95']) {
        row(`container block \`true\`, ${q} (ms)`, f(ours[q], 2), `${f(base[q], 2)} bare podman exec -it bash`, `+${f(ours[q] - base[q], 2)} ms, ${f(ours[q] / base[q], 1)}x`);
      }
      const output = await bigOutputRows(server, bare, 'container', 'bare podman exec -it');
      results.container = {
        target: 'podman://<busybox + bash image, runc>',
        latencyTrueMs: { cmdrun: ours, barePodmanExec: base, runs: LATENCY_RUNS },
        output: { block: REMOTE_OUTPUT, ...output },
      };
    }, [...HISTORY, '--on', `podman://${name}`]);
  } finally {
    bare?.close();
    await lab.stop();
  }
}

/** 4. From launching the CLI to the first successful GET /api/health, beside `node -e 0`. */
async function startup() {
  // With --port 0 the port is known once the URL line is printed, so health is asked right after it.
  const once = () =>
    withServer(script, async (server) => {
      const res = await fetch(`${server.origin}/api/health`);
      if (!res.ok) throw new Error(`health: ${res.status}`);
      return performance.now() - server.startedAt;
    });
  const ours = summary(await repeat(STARTS, 1, once));
  const node = summary(await repeat(STARTS, 1, timeNodeStart));
  // `cmdrun run` of a one-line script, launch to exit, interleaved with `node -e 0`.
  const pairs = await repeat(STARTS, 1, async () => [await timeCmdrunRun(script), await timeNodeStart()]);
  const run = summary(pairs.map(([r]) => r));
  const nodeBeside = summary(pairs.map(([, n]) => n));
  // A server that has started and served nothing but health: its resident memory.
  const idle = await withServer(script, async (server) => {
    await fetch(`${server.origin}/api/health`);
    await new Promise((r) => setTimeout(r, 500));
    return memory(server.pid);
  });
  results.startup = { cmdrunMs: ours, nodeMs: node, starts: STARTS, cmdrunRunMs: run, nodeBesideRunMs: nodeBeside, idleMemoryMiB: idle };
  row('start-up to health, median (ms)', f(ours.median, 0), `node -e 0: ${f(node.median, 0)}`, `+${f(ours.median - node.median, 0)} ms`, '≤ 150 ms', ours.median <= 150);
  row('`cmdrun run` one-line script, median (ms)', f(run.median, 0), `node -e 0: ${f(nodeBeside.median, 0)}`, `${f(run.median / nodeBeside.median, 1)}x`,
    '≤ 200 ms, ≤ 3x', run.median <= 200 && run.median <= 3 * nodeBeside.median);
  row('server RSS idle after start (MiB)', f(idle.rssMB, 0), '', '', '≤ 80 MiB', idle.rssMB <= 80);
}

/** 6. The page in headless Chromium: interactive editor, and `seq 100000` rendered. */
async function page() {
  const file = join(dir, 'page.sh');
  writeFileSync(file, `seq ${PAGE_LINES}\n`);
  const p = await withServer(file, (server) => measurePage(server, PAGE_LINES));
  if (!p) {
    console.log('page: skipped, no Chromium (set CHROMIUM_PATH or apt-get install chromium)');
    return;
  }
  results.page = p;
  row('page: editor ready (ms)', f(p.readyMs, 0), `DOMContentLoaded ${f(p.domContentLoadedMs, 0)}, load ${f(p.loadMs, 0)}`);
  row(`page: seq ${PAGE_LINES} rendered (ms)`, f(p.renderMs, 0), '', `exit ${p.exitCode}`);
  row('page: key delay while it renders, max (ms)', f(p.keyDelay.maxMs, 0), '', `p95 ${f(p.keyDelay.p95Ms, 0)}, ${p.keyDelay.count} keys`, '≤ 200', p.keyDelay.maxMs <= 200);
}

/** 10. Fleets (issue 19): bench/lib/fleet.mjs. */
const fleet = () => fleetSection({ dir, script, withServer, row, f, results, history: HISTORY });
/** 11. The fleet page (issue 19): bench/lib/fleet.mjs. */
const fleetPage = () => fleetPageSection({ dir, withServer, row, f, results, history: HISTORY });

const sections = { startup, latency, runall: runAll, throughput, history, secrets, remote, container, page, fleet, fleetpage: fleetPage };
const chosen = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(sections);
const started = performance.now();
try {
  for (const name of chosen) {
    if (!sections[name]) throw new Error(`unknown section ${name}; one of ${Object.keys(sections).join(' ')}`);
    process.stderr.write(`bench: ${name}...\n`);
    await sections[name]();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model;
const os = /PRETTY_NAME="(.*)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
const machine = { cpu, cores: cpus().length, node: process.version, os: `${os}, kernel ${release()}` };
const table = rows.map((r) => ({ ...r, pass: r.pass === undefined ? '' : r.pass ? 'pass' : 'miss' }));
const header = { metric: 'metric', value: 'cmdrun', baseline: 'baseline', comparison: 'vs baseline', target: 'target', pass: '' };
const widths = Object.keys(header).map((k) => Math.max(...[header, ...table].map((r) => String(r[k]).length)));
for (const r of [header, ...table]) console.log(Object.keys(header).map((k, i) => String(r[k]).padEnd(widths[i])).join('  ').trimEnd());
console.log(`\n${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}; ${f((performance.now() - started) / 1000, 0)} s`);

const out = fileURLToPath(new URL('./results.json', import.meta.url));
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), machine, nodeArgs, results, table }, null, 2)}\n`);
console.log(`written ${out}`);
