// Fleets (issue 19, item 7): one block on N hosts through cmdrun beside the tools operators use for
// the same: N parallel `ssh HOST true` over ControlMaster sockets opened beforehand, parallel-ssh,
// Ansible ad-hoc (-m shell, -m raw) with ControlPersist warm, and N parallel cold `ssh HOST true`.
// The hosts are the tests' fleet fixture (test/helpers/fleet.ts): ports of real sshds on 127.0.0.1.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { memory, readRun, runBlock } from './cmdrun.mjs';
import { measureFleetPage, pinTree } from './page.mjs';
import { pauseReclaim, reclaimDaemons } from './reclaim.mjs';
import { repeat, summary } from './stats.mjs';

const FLEET_SIZES = [10, 50];
const FLEET_RUNS = 10; // warm fleet blocks timed per size (medians), interleaved with the ControlMaster fan-out
const COLD_RUNS = 3; // fresh servers for the cold first block, interleaved with cold ssh
const SLOW_RUNS = 3; // runs of Ansible and parallel-ssh (seconds each)
const PAGE_HOSTS = 50;
const PAGE_BYTES = 1_000_000; // per host
const PAGE_RUNS = Number(process.env.BENCH_PAGE_RUNS ?? 3); // page runs per setting
const PAGE_OUTPUT = `yes "$(hostname) line of fleet output, 64 bytes long .........." | head -c ${PAGE_BYTES}`;

const SOURCE = fileURLToPath(new URL('../../test/helpers/fleet.ts', import.meta.url));

/** Resolves with test/helpers/fleet.ts's exports, built into `dir` (as sshd.mjs does for sshd.ts). */
export async function loadFleetFixture(dir) {
  const outfile = join(dir, 'fleet-fixture.mjs');
  await esbuild.build({ entryPoints: [SOURCE], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
  return import(pathToFileURL(outfile).href);
}

/** True when `tool` is on the PATH. */
export function installed(tool) {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, tool)));
}

/**
 * Runs `file args` to its exit with stdio ignored (a child that forks a daemon, as `ssh -fN` does,
 * can keep a pipe open for ever) and resolves with the ms it took.
 * @throws when it exits non-zero
 */
export function timed(file, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    spawn(file, args, { stdio: 'ignore', env }).once('exit', (code, signal) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${file} ${args.slice(0, 6).join(' ')}… exited ${code ?? signal}`)),
    );
  });
}

/** Runs every command of `commands` ([file, args]) at once; resolves with the ms until the last exits. */
export async function parallel(commands) {
  const t0 = performance.now();
  await Promise.all(commands.map(([file, args]) => timed(file, args)));
  return performance.now() - t0;
}

/** `ssh -F CONFIG` plus `extra` options, as argv. */
const sshArgs = (fx, extra = []) => ['-F', fx.config, ...extra];

/** N parallel cold `ssh HOST true` (a new connection each). */
export const coldSsh = (fx, hosts) => parallel(hosts.map((h) => ['ssh', [...sshArgs(fx), h, 'true']]));

/**
 * Opens a ControlMaster connection to each host (`ssh -fN`, spawned with stdio ignored) and returns
 * `run()`: N parallel `ssh HOST true` over them (ms), and `close()`: `ssh -O exit` to each.
 */
export async function controlMasters(fx, hosts, dir) {
  const sockets = join(dir, 'cm');
  mkdirSync(sockets, { recursive: true, mode: 0o700 });
  const opts = ['-o', `ControlPath=${sockets}/%C`];
  await parallel(hosts.map((h) => ['ssh', [...sshArgs(fx, [...opts, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=yes', '-fN']), h]]));
  await parallel(hosts.map((h) => ['ssh', [...sshArgs(fx, [...opts, '-O', 'check']), h]]));
  return {
    run: () => parallel(hosts.map((h) => ['ssh', [...sshArgs(fx, [...opts, '-o', 'ControlMaster=no']), h, 'true']])),
    close: () => parallel(hosts.map((h) => ['ssh', [...sshArgs(fx, [...opts, '-O', 'exit']), h]])).catch(() => undefined),
  };
}

/** `parallel-ssh -p N -h HOSTS true` through the same ssh_config (a new connection per host); undefined when not installed. */
export async function parallelSsh(fx, hosts, dir) {
  if (!installed('parallel-ssh')) return undefined;
  const file = join(dir, `pssh-hosts-${hosts.length}`);
  writeFileSync(file, `${hosts.join('\n')}\n`);
  return () => timed('parallel-ssh', ['-h', file, '-p', String(hosts.length), '-t', '60', '-x', `-F ${fx.config}`, 'true']);
}

/**
 * `ansible all -i INVENTORY -m MODULE -a true -f N` with ControlPersist sockets in a temp folder
 * (ANSIBLE_SSH_CONTROL_PATH_DIR), warmed by a first run; undefined when Ansible is not installed.
 */
export async function ansibleAdHoc(fx, hosts, dir, module) {
  if (!installed('ansible')) return undefined;
  const base = join(dir, `ansible-${hosts.length}`);
  mkdirSync(join(base, 'cp'), { recursive: true, mode: 0o700 });
  const inventory = join(base, 'hosts.ini');
  writeFileSync(inventory, `[all]\n${hosts.join('\n')}\n\n[all:vars]\nansible_python_interpreter=/usr/bin/python3\n`);
  const env = {
    ...process.env,
    ANSIBLE_SSH_ARGS: `-F ${fx.config} -o ControlMaster=auto -o ControlPersist=600s`,
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(base, 'cp'),
    ANSIBLE_LOCAL_TEMP: join(base, 'tmp'),
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    ANSIBLE_NOCOLOR: '1',
  };
  const run = () => timed('ansible', ['all', '-i', inventory, '-m', module, '-a', 'true', '-f', String(hosts.length)], env);
  await run(); // warm: the ControlPersist masters stay up between runs
  return run;
}

/** Ends the ControlPersist masters Ansible left in `dir`'s ansible-N/cp folders (they would stay 600 s). */
export async function closeAnsibleMasters(dir) {
  const sockets = readdirSync(dir)
    .filter((d) => d.startsWith('ansible-'))
    .flatMap((d) => readdirSync(join(dir, d, 'cp')).map((s) => join(dir, d, 'cp', s)));
  await parallel(sockets.map((s) => ['ssh', ['-S', s, '-O', 'exit', 'host']])).catch(() => undefined);
}

/** POSTs `code` on fleet `on` (at most `forks` hosts at once) and reads to the run's own end: {ms, end}. */
export async function runFleet(server, on, code, forks) {
  const t0 = performance.now();
  const run = await readRun(await server.request('POST', '/api/runs', { code, on, forks }));
  if (run.end.exitCode !== 0) throw new Error(`fleet block ${JSON.stringify(code)} on ${on} exited ${run.end.exitCode}: ${JSON.stringify(run.end.hosts?.filter((h) => h.exitCode !== 0).slice(0, 3))}`);
  return { ms: run.endAt - t0, end: run.end };
}

/**
 * 10. Fleets (issue 19): `true` on 10 and 50 hosts of the fleet fixture (sessions connected) beside
 * N parallel `ssh HOST true` over ControlMaster sockets opened beforehand, parallel-ssh -p N and
 * Ansible ad-hoc -m shell / -m raw with ControlPersist warm (skipped when not installed); the first
 * block on 50 hosts on a fresh server (cold connections) beside 50 parallel cold `ssh HOST true`;
 * the server's RSS per connected host session.
 * `ctx`: bench.mjs's dir, script, withServer, row, f, results and history arguments.
 */
export async function fleetSection({ dir, script, withServer, row, f, results, history }) {
  const { startFleet } = await loadFleetFixture(dir);
  const fx = await startFleet({ hosts: Math.max(...FLEET_SIZES) });
  const on = (hosts) => hosts.map((h) => `ssh://${h}`).join(',');
  const args = [...history, '--ssh-command', fx.sshCommand];
  const out = (results.fleet = {});
  const big = fx.names.slice(0, 50);
  try {
    const cold = await repeat(COLD_RUNS, 0, () => withServer(script, async (server) => [(await runFleet(server, on(big), 'true', 50)).ms, await coldSsh(fx, big)], args));
    const [coldOurs, coldSshMs] = [0, 1].map((i) => summary(cold.map((p) => p[i])).median);
    row('fleet: first block on 50 hosts, cold, median (ms)', f(coldOurs, 0), `${f(coldSshMs, 0)} 50 parallel cold ssh true`, `${f(coldOurs / coldSshMs, 2)}x`, '≤ 1.5x', coldOurs <= 1.5 * coldSshMs);
    out.cold50 = { cmdrunMs: coldOurs, coldSshMs, runs: COLD_RUNS };

    await withServer(script, async (server) => {
      await runBlock(server, 'true'); // the local session: the RSS before any host connects
      const before = memory(server.pid);
      await runFleet(server, on(big), 'true', 50);
      const after = memory(server.pid);
      const perHost = (after.rssMB - before.rssMB) / big.length;
      row('fleet: server RSS per connected host session (MiB)', f(perHost, 2), `${f(before.rssMB, 0)} -> ${f(after.rssMB, 0)} MiB with 50`, '', '< 1 MiB', perHost < 1);
      out.rssMiB = { before, after, hosts: big.length, perHost };
      for (const n of FLEET_SIZES) {
        const hosts = fx.names.slice(0, n);
        const cm = await controlMasters(fx, hosts, join(dir, `cm-${n}`));
        try {
          const warm = await repeat(FLEET_RUNS, 2, async () => [(await runFleet(server, on(hosts), 'true', n)).ms, await cm.run()]);
          const [ours, cmMs] = [0, 1].map((i) => summary(warm.map((p) => p[i])).median);
          row(`fleet: \`true\` on ${n} hosts, warm, median (ms)`, f(ours, 0), `${f(cmMs, 0)} ControlMaster fan-out`, `${f(ours / cmMs, 2)}x`, ...(n === 50 ? ['≤ 1.5x', ours <= 1.5 * cmMs] : []));
          const contenders = { 'parallel-ssh -p N': await parallelSsh(fx, hosts, dir), 'ansible -m shell': await ansibleAdHoc(fx, hosts, dir, 'shell'), 'ansible -m raw': await ansibleAdHoc(fx, hosts, dir, 'raw') };
          const slow = {};
          for (const [name, run] of Object.entries(contenders)) {
            if (!run) {
              row(`  ${name}, ${n} hosts`, 'skipped', 'not installed');
              continue;
            }
            slow[name] = summary(await repeat(SLOW_RUNS, 0, run)).median;
            const target = name.startsWith('ansible') && n === 50 ? ['cmdrun ≥ 10x faster', slow[name] >= 10 * ours] : [];
            row(`  ${name}, ${n} hosts, median (ms)`, f(slow[name], 0), '', `cmdrun ${f(slow[name] / ours, 1)}x faster`, ...target);
          }
          out[`warm${n}`] = { cmdrunMs: ours, controlMasterMs: cmMs, runs: FLEET_RUNS, contendersMs: slow };
        } finally {
          await cm.close();
        }
      }
    }, args);

  } finally {
    await closeAnsibleMasters(dir);
    await fx.stop();
  }
}

/**
 * 11. The fleet page (issue 19): PAGE_HOSTS hosts print 1 MB each at once, their sessions
 * connected first (a warm `true`), the page in headless Chromium following its frames
 * (measureFleetPage). The hosts' sshds run at nice 19: sharing the machine, they take only the
 * CPU the client side leaves, as hosts of their own would. Measured PAGE_RUNS times in each
 * setting: Chromium on CPU 1 with the server, its ssh clients and the hosts on CPU 0, as on a
 * machine whose browser is not starved by the rest (skipped with fewer than 2 CPUs or without
 * taskset), and every process sharing the machine's cores. Where the machine runs proactive
 * memory reclaim (DAMON `pageout`, bench/lib/reclaim.mjs), the first setting is measured with it
 * as the machine has it, then the reclaim is paused for the rest (and started again after): it
 * evicts the browser's own code, which the page then waits for from disk. `ctx`: as fleetSection's.
 */
export async function fleetPageSection({ dir, withServer, row, f, results, history }) {
  const { startFleet } = await loadFleetFixture(dir);
  const fx = await startFleet({ hosts: PAGE_HOSTS, nice: 19 });
  const on = fx.targets.join(',');
  const file = join(dir, 'fleet-page.sh');
  writeFileSync(file, `# %% on="${on}"\n${PAGE_OUTPUT}\n`);
  const out = (results.fleetPage = {});
  const ownCore = cpus().length >= 2 && installed('taskset');
  const reclaiming = reclaimDaemons().length > 0;
  /** The settings, in order: whether Chromium has a core of its own, and whether the machine's reclaim runs. */
  const settings = [
    ...(ownCore && reclaiming ? [{ own: true, reclaim: true }] : []),
    ...(ownCore ? [{ own: true, reclaim: false }] : []),
    ...(process.env.BENCH_PAGE_OWN ? [] : [{ own: false, reclaim: false }]),
  ];
  let paused;
  try {
    for (const { own, reclaim } of settings) {
      if (!reclaim && reclaiming && !paused) {
        paused = pauseReclaim();
        if (!paused) process.stderr.write('  fleet page: the machine pages memory out (DAMON) and it cannot be paused here (not root): measured with it on\n');
      }
      // Everything of the bench's on CPU 0 (what it starts later inherits it); Chromium is moved to CPU 1 once launched.
      if (own) pinTree(process.pid, '0');
      try {
        const runs = await withServer(
          file,
          async (server) => {
            await runFleet(server, on, 'true', PAGE_HOSTS);
            return repeat(PAGE_RUNS, 0, () => measureFleetPage(server, PAGE_HOSTS, PAGE_BYTES, own ? { browserCpus: '1' } : {}));
          },
          [...history, '--ssh-command', fx.sshCommand],
        );
        if (runs.includes(undefined)) return row('fleet page', 'skipped', 'no Chromium (set CHROMIUM_PATH or apt-get install chromium)');
        const [longest, p95, end] = ['maxFrameMs', 'p95FrameMs', 'endMs'].map((k) => summary(runs.map((r) => r[k])));
        const worst = Math.max(...runs.map((r) => r.maxFrameMs));
        const reclaimed = reclaim || (reclaiming && !paused);
        const setting = `${own ? 'Chromium on a core of its own' : `all on ${cpus().length} shared cores`}${reclaimed ? ", the machine's memory reclaim on" : ''}`;
        const stalls = runs.map((r) => r.stall?.maxGapMs).filter((ms) => ms !== undefined);
        const stalled = stalls.length ? `; the core itself stalled up to ${f(Math.max(...stalls), 0)} ms` : '';
        const readBack = Math.max(...runs.map((r) => r.faults.refaultedMiB));
        const target = own && !reclaimed ? ['no frame > 100 ms', worst <= 100] : [];
        row(`fleet page: ${PAGE_HOSTS} hosts x 1 MB, ${setting}, longest frame, median (ms)`, f(longest.median, 0), `worst of ${PAGE_RUNS}: ${f(worst, 0)}`, `p95 frame ${f(p95.median, 0)} ms, ${f(end.median / 1000, 1)} s to the end${stalled}; read back from disk: up to ${readBack} MiB`, ...target);
        out[`${own ? 'ownCore' : 'shared'}${reclaim ? 'Reclaim' : ''}`] = { runs, hosts: PAGE_HOSTS, bytesPerHost: PAGE_BYTES, reclaim: reclaimed };
      } finally {
        if (own) pinTree(process.pid, `0-${cpus().length - 1}`);
      }
    }
  } finally {
    paused?.resume();
    await fx.stop();
  }
}
