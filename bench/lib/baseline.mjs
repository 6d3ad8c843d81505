// What cmdrun is compared with: the same commands in a bare bash, without cmdrun in between.
import { spawn } from 'node:child_process';
import pty from '@lydell/node-pty';

const BASH = ['--noprofile', '--norc'];

/**
 * A bare interactive bash in a PTY (`stty -onlcr` as cmdrun sets), driven from this process line by
 * line. Each command is followed by its own sentinel (`printf '\1N\2'`); `run(cmd)` resolves with the
 * ms from writing the line to reading the sentinel, and the bytes of output read before it.
 *
 * Why this baseline: cmdrun's own transport is exactly this (one persistent bash in a PTY, read by
 * Node), so the difference is what cmdrun adds on top: HTTP, SSE, the block's temp file, the syntax
 * check and the markers. Timing inside bash with $EPOCHREALTIME would leave out the PTY and process
 * round trip that any notebook over a persistent shell pays. The shell stays up between commands, so
 * no output is lost to the terminal hang-up at exit (as it can be with a `bash -c` per command).
 * `file` and `args` are the PTY's program (default: bash, as above).
 */
export async function barePtyShell({ file = 'bash', args = [...BASH, '--noediting', '-i'] } = {}) {
  const term = pty.spawn(file, args, { cols: 120, rows: 30, env: { ...process.env, PS1: '' } });
  let waiter; // {sentinel, resolve, bytes, tail}
  term.onData((d) => {
    if (!waiter) return;
    waiter.bytes += Buffer.byteLength(d);
    waiter.tail = (waiter.tail + d.slice(-32)).slice(-32); // the sentinel may be split across reads
    if (waiter.tail.endsWith(waiter.sentinel)) {
      waiter.resolve(waiter.bytes - waiter.sentinel.length);
      waiter = undefined;
    }
  });
  let n = 0;
  const run = (line) =>
    new Promise((resolve) => {
      n++; // each line's own sentinel: a late one from an earlier line never matches
      waiter = { sentinel: `\x01${n}\x02`, resolve, bytes: 0, tail: '' };
      term.write(`${line}; printf '\\001%d\\002' ${n}\n`);
    });
  await run("PS1=''; PS2=''; stty -echo -onlcr");
  return {
    /** Runs `cmd`: {ms: line written to sentinel read, bytes: output read before the sentinel}. */
    async run(cmd) {
      const t0 = performance.now();
      const bytes = await run(cmd);
      return { ms: performance.now() - t0, bytes };
    },
    close: () => term.kill(),
  };
}

/**
 * The same bare bash on another machine: `ssh -tt -e none HOST bash ...` in the PTY (what a remote
 * cmdrun session runs, without cmdrun), ssh run by `sshCommand` as a shell reads it (`ssh -F CONFIG`).
 * Resolves once connected and logged in, the first line's sentinel read.
 */
export function bareSshShell(sshCommand, host) {
  return barePtyShell({ file: 'sh', args: ['-c', `exec ${sshCommand} "$@"`, 'ssh', '-tt', '-e', 'none', '--', host, `bash ${BASH.join(' ')} --noediting -i`] });
}

/** A bare `podman exec -it -- CONTAINER bash -i` in a PTY, driven as barePtyShell is: the container rows' baseline. */
export function barePodmanShell(container) {
  return barePtyShell({ file: 'podman', args: ['exec', '-i', '-t', '--', container, 'bash', ...BASH, '--noediting', '-i'] });
}

/** Runs `bash ARGS` with stdout into a pipe that is read and discarded; resolves with its ms from spawn to exit. */
export function timeBash(args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('bash', [...BASH, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`bash ${args} exited ${code}`))));
  });
}

/** Spawn-to-exit ms of `node -e 0`: the floor of any Node CLI's start-up. */
export function timeNodeStart() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }).on('exit', () => resolve(performance.now() - t0));
  });
}
