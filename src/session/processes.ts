/**
 * Finding and signalling every process of a shell's terminal session (Linux /proc, proc(5)).
 * A PTY's shell is a session leader (setsid), and with job control each job gets its own process
 * group, so "the shell's process group" alone misses background jobs: we signal the whole session.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Fields of /proc/PID/stat (proc(5)) that cmdrun reads. */
export interface ProcStat {
  pid: number;
  /** Field 2: the command name (the executable's name, at most 15 bytes; it changes at exec). */
  comm: string;
  /** Field 3: state (R running, S sleeping, Z zombie, ...). */
  state: string;
  /** Field 4: parent pid. */
  ppid: number;
  /** Field 5: process group id. */
  pgrp: number;
  /** Field 6: session id. */
  session: number;
  /** Field 8: foreground process group of the controlling terminal. */
  tpgid: number;
  /** Field 22: when the process started, in clock ticks since boot (see {@link uptimeTicks}). */
  starttime: number;
}

/**
 * The time since boot in clock ticks, as /proc/PID/stat's `starttime` counts them: /proc/uptime
 * in seconds times USER_HZ, which is 100 on every Linux architecture (proc(5), sysconf(_SC_CLK_TCK)).
 */
export function uptimeTicks(): number {
  return Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100);
}

/** Reads /proc/PID/stat, or undefined when the process is gone. */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, comm: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')), state: fields[0], ppid: Number(fields[1]), pgrp: Number(fields[2]), session: Number(fields[3]), tpgid: Number(fields[5]), starttime: Number(fields[19]) };
}

/** Lists the live pids whose session id is `sid` (the session leader included; zombies are dead). */
export function sessionMembers(sid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of entries) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat?.session === sid && stat.state !== 'Z' && stat.state !== 'X') pids.push(pid);
  }
  return pids;
}

/**
 * The live children of process `pid`, from /proc/PID/task/PID/children (proc(5): the children of
 * that thread, which for a single-threaded shell are all of its children). [] when the process is
 * gone or the kernel has no children files (CONFIG_PROC_CHILDREN).
 */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Sends `signal` to every process of session `sid`; returns how many signals were sent. A walk of
 * /proc misses a process forked after it listed /proc, so SIGKILL is sent in walks until one
 * finds no process left (50 walks at most): a loop that forks as fast as it can leaves nothing.
 */
export function signalSession(sid: number, signal: NodeJS.Signals): number {
  let count = 0;
  for (let walk = 0; walk < (signal === 'SIGKILL' ? 50 : 1); walk++) {
    let signalled = 0;
    for (const pid of sessionMembers(sid)) {
      try {
        process.kill(pid, signal);
        signalled++;
      } catch {
        // Already gone.
      }
    }
    if (!signalled) break;
    count += signalled;
  }
  return count;
}

/**
 * True when process `pid` takes SIGINT's default action (terminate): neither ignored nor caught,
 * as the SigIgn and SigCgt masks of /proc/PID/status say (proc(5); SIGINT is signal 2, bit 1).
 * Such a process still running after a Ctrl-C never got it. False when the process is gone.
 */
export function sigintIsDefault(pid: number): boolean {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return false;
  }
  const mask = (name: string) => BigInt('0x' + (new RegExp(`^${name}:\\s*([0-9a-f]+)`, 'm').exec(status)?.[1] ?? '0'));
  return ((mask('SigIgn') | mask('SigCgt')) & 2n) === 0n;
}

/** The `read` system call's number (x86_64: 0; arm64 and the generic table: 63). */
const READ_SYSCALL = process.arch === 'x64' ? 0 : 63;

/**
 * True when a process of the terminal's foreground process group is blocked in read(2) on the
 * terminal `ttyPath` (/dev/pts/N): the block waits for input. Reads /proc/PID/syscall (proc(5):
 * the syscall number, then its arguments in hex) and /proc/PID/fd/N.
 * @param sid the shell's session id, @param fgPgrp the terminal's foreground process group.
 */
export function waitsForTerminalInput(sid: number, fgPgrp: number, ttyPath: string): boolean {
  return sessionMembers(sid).some((pid) => readStat(pid)?.pgrp === fgPgrp && readsTerminal(pid, ttyPath));
}

/** True when process `pid` is blocked in read(2) on the terminal `ttyPath` (/proc/PID/syscall). */
export function readsTerminal(pid: number, ttyPath: string): boolean {
  let syscall: string;
  try {
    syscall = readFileSync(`/proc/${pid}/syscall`, 'utf8');
  } catch {
    return false;
  }
  const [nr, fdHex] = syscall.split(' ');
  if (Number(nr) !== READ_SYSCALL) return false;
  try {
    return readlinkSync(`/proc/${pid}/fd/${Number.parseInt(fdHex, 16)}`) === ttyPath;
  } catch {
    return false; // the process or its descriptor is gone
  }
}
