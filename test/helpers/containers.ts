/**
 * Real containers for the container-target tests (issue 20), never a mock: Debian's podman runs
 * them from an image made on the spot (no registry is reachable), and `podman system service`
 * serves the Docker API for the docker CLI. The image's root filesystem holds busybox's static
 * binary and its applet links (`sh` is busybox's ash), and bash with the libraries `ldd` lists;
 * /etc/passwd knows root and `app` (uid 1000). Containers run with `--runtime runc` (crun fails
 * on these machines: "cgroups in hybrid mode not supported"), explicit ulimits (the engine's
 * defaults exceed the machine's hard limits) and no network.
 *
 * Everything made here (containers, the image, the service and its socket, the temp folder) is
 * removed by {@link ContainerLab.stop}, and when the test process exits first.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { tempDir } from './tmp.js';
import { waitFor } from './wait.js';

/** What a test container's first process runs, again and again. */
const FIRST_SLEEP = 'sleep 86399';

/** podman's options for every container the tests run. */
export const RUN_OPTIONS = ['--runtime', 'runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096', '--network', 'none'];

/** The docker CLI the tests drive against podman's Docker API (installed at /usr/local/bin/docker here, Debian's docker.io elsewhere). */
export const DOCKER = existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : 'docker';

/** True when a program is found on PATH (or is an existing path). */
export function hasProgram(name: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The container tests' timeout (ms): starting a container, a session in it and waiting until
 * nothing is left there (up to 60 s) takes far longer than the suite's 20 s on a loaded machine.
 */
export const CONTAINER_TEST_MS = 120_000;

/** True when the container tests can run here: podman, runc, busybox and bash are installed. */
export const canRunContainers = (): boolean => ['podman', 'runc', 'busybox', 'bash'].every(hasProgram);

/** Runs a program and resolves with its status and output (never rejects for a non-zero status). */
export function runProgram(file: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** podman, failing with its stderr. */
export async function podman(...args: string[]): Promise<string> {
  const r = await runProgram('podman', args);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A process seen inside a container (from its /proc). */
export interface FarProcess {
  pid: number;
  state: string;
  /** Its command line, arguments joined by spaces. */
  args: string;
}

/** The test image, its containers and the Docker API socket. */
export interface ContainerLab {
  /** The image's name (`localhost/cmdrun-test-…:latest`). */
  image: string;
  /** The temp folder (the root filesystem's tarball, the service's socket). */
  dir: string;
  /**
   * Runs a new container from the image (`podman run -d`), named `cmdrun-test-…` unless `name`
   * is given, whose first process only sleeps; resolves with its name once it runs.
   */
  run(name?: string): Promise<string>;
  /**
   * The environment for the docker CLI: DOCKER_HOST at podman's Docker API, started on first use
   * (at `socket` when given: a second service there; else in {@link dir}).
   */
  dockerEnv(socket?: string): Promise<NodeJS.ProcessEnv>;
  /** The processes in `container`, but the probe itself, zombies, and the container's own first process and its sleep. */
  processes(container: string): Promise<FarProcess[]>;
  /** The names in the container's /tmp that start with `cmdrun-`. */
  tmpEntries(container: string): Promise<string[]>;
  /**
   * Resolves once `container` holds no process but its first one ({@link processes}) and no
   * `cmdrun-` entry in /tmp; after `timeoutMs` (default 60 000 ms) rejects naming what is left.
   * The two probes run one after the other, so neither sees the other as a process left.
   */
  untilNothingLeft(container: string, timeoutMs?: number): Promise<void>;
  /** Removes every container, the image, stops the service and removes {@link dir}. */
  stop(): Promise<void>;
}

const labs = new Set<{ cleanup: () => void }>();
process.once('exit', () => {
  for (const lab of labs) lab.cleanup();
});

/**
 * One lab for the calling test file: started before its tests when containers can run here
 * ({@link canRunContainers}), stopped after them. Returns the lab (call it inside a test).
 */
export function useContainerLab(): () => ContainerLab {
  let lab: ContainerLab | undefined;
  beforeAll(async () => {
    if (canRunContainers()) lab = await startContainerLab();
  }, 120_000);
  afterAll(async () => {
    await lab?.stop();
  }, 120_000);
  return () => lab!;
}

/**
 * Builds the root filesystem (busybox static with its applets, bash and its libraries), imports it
 * as a fresh image, and returns the lab.
 * @throws when podman, busybox or bash is missing (.ci/run installs podman, runc and busybox-static).
 */
export async function startContainerLab(): Promise<ContainerLab> {
  if (!canRunContainers()) throw new Error('the container tests need podman, runc, busybox and bash: .ci/run installs podman, runc and busybox-static from Debian');
  const dir = tempDir('cmdrun-lab-');
  const id = randomBytes(5).toString('hex');
  const image = `localhost/cmdrun-test-${id}:latest`;
  const containers = new Set<string>();
  const services = new Map<string, ChildProcess>();
  const cleanup = () => {
    if (containers.size) spawnQuiet('podman', ['rm', '-f', '-t', '0', ...containers]);
    spawnQuiet('podman', ['rmi', '-f', image]);
    for (const service of services.values()) if (service.exitCode === null) service.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const entry = { cleanup };
  labs.add(entry);

  const tarball = buildRootfs(dir);
  await podman('import', '--change', 'CMD ["/bin/sh"]', tarball, image);

  const lab: ContainerLab = {
    image,
    dir,
    async run(name = `cmdrun-test-${id}-${randomBytes(4).toString('hex')}`) {
      containers.add(name);
      // A first process that reaps what is left to it (exec's orphans) and stops at once on SIGTERM.
      await podman('run', '-d', '--name', name, ...RUN_OPTIONS, image, 'sh', '-c', `trap 'exit 0' TERM; while :; do ${FIRST_SLEEP} & wait; done`);
      return name;
    },
    async dockerEnv(socket = join(dir, 'podman.sock')) {
      if (!services.has(socket)) {
        const service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], { stdio: 'ignore', detached: true });
        service.unref();
        services.set(socket, service);
      }
      const env = { ...process.env, DOCKER_HOST: `unix://${socket}` };
      await waitFor(async () => existsSync(socket) && (await runProgram(DOCKER, ['version', '--format', '{{.Server.Version}}'], env)).code === 0, 'podman\'s Docker API', { timeoutMs: 60_000, intervalMs: 100 });
      return env;
    },
    async processes(container) {
      // One line a process: pid, state, command line (NULs as spaces); the probe's own shell is $$.
      const probe = 'for f in /proc/[0-9]*; do p=${f#/proc/}; [ "$p" = "$$" ] && continue; read -r st <$f/stat 2>/dev/null || continue; set -- ${st##*) }; a=$(tr "\\0\\n" "  " <$f/cmdline 2>/dev/null); [ -n "$a" ] && echo "$p $1 $a"; done; :';
      const out = await podman('exec', container, 'sh', '-c', probe);
      return out
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [pid, state, ...args] = line.split(' ');
          return { pid: Number(pid), state, args: args.join(' ').trim() };
        })
        .filter((p) => p.state !== 'Z' && !p.args.startsWith('tr ') && p.pid !== 1 && p.args !== FIRST_SLEEP);
    },
    async tmpEntries(container) {
      const out = await podman('exec', container, 'sh', '-c', 'cd /tmp && for f in cmdrun-*; do [ -e "$f" ] && echo "$f"; done; :');
      return out.split('\n').filter(Boolean);
    },
    async untilNothingLeft(container, timeoutMs = 60_000) {
      let left = '';
      await waitFor(async () => {
        const procs = await lab.processes(container);
        const entries = await lab.tmpEntries(container);
        left = [...procs.map((p) => `process ${p.pid} (${p.state}) ${p.args}`), ...entries.map((e) => `/tmp/${e}`)].join('; ');
        return !left;
      }, `nothing of cmdrun's left in ${container}`, { timeoutMs, intervalMs: 200 }).catch((err: Error) => {
        throw new Error(`${err.message}; left: ${left}`);
      });
    },
    async stop() {
      if (containers.size) await runProgram('podman', ['rm', '-f', '-t', '0', ...containers]);
      containers.clear();
      await runProgram('podman', ['rmi', '-f', image]);
      for (const service of services.values()) {
        if (service.exitCode !== null) continue;
        const exited = new Promise((resolve) => service.once('exit', resolve));
        service.kill('SIGTERM');
        await exited;
      }
      labs.delete(entry);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return lab;
}

/** Runs a command and forgets it (for the exit handler, which cannot wait). */
function spawnQuiet(file: string, args: string[]): void {
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: 30_000 });
  } catch {
    // nothing more to do
  }
}

/** Makes the root filesystem under `dir/rootfs` and returns its tarball's path. */
function buildRootfs(dir: string): string {
  const root = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'root', 'home/app', 'tmp', 'usr/bin', 'proc', 'sys', 'dev']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  const busybox = execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim();
  copyFileSync(busybox, join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const applet of execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    if (applet !== 'busybox' && !existsSync(join(root, 'bin', applet))) symlinkSync('busybox', join(root, 'bin', applet));
  }
  const bash = execFileSync('sh', ['-c', 'command -v bash'], { encoding: 'utf8' }).trim();
  copyFileSync(bash, join(root, 'bin/bash'));
  chmodSync(join(root, 'bin/bash'), 0o755);
  for (const lib of execFileSync('ldd', [bash], { encoding: 'utf8' }).match(/\/\S+/g) ?? []) {
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(root, lib)); // follows links: the library itself under the name asked for
  }
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\n');
  execFileSync('chown', ['1000:1000', join(root, 'home/app')]);
  const tarball = join(dir, 'rootfs.tar');
  execFileSync('tar', ['-C', root, '-cf', tarball, '.']);
  return tarball;
}
