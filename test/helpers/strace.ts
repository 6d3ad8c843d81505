// Holding a process in fork(2) for a while, to put a Ctrl-C exactly where a real one sometimes
// lands: strace(1) attached to it delays every clone/clone3 it makes (`-e inject=...:delay_enter`).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { waitFor } from './wait.js';

/** A strace attached to a process; stop() detaches it (the process goes on untouched). */
export interface ForkHold {
  /** Resolves once the process is held in a fork (in clone(2) or clone3(2), before the kernel makes the child). */
  untilForking(): Promise<void>;
  stop(): Promise<void>;
}

/** The fork system calls' numbers (x86_64: clone, fork, vfork, clone3; arm64: clone, clone3). */
const FORKS = process.arch === 'x64' ? ['56', '57', '58', '435'] : ['220', '435'];

/** The write system call's number (x86_64: 1; arm64 and the generic table: 64). */
export const WRITE = process.arch === 'x64' ? ['1'] : ['64'];

/** The read system call's number (x86_64: 0; arm64 and the generic table: 63). */
const READ = process.arch === 'x64' ? ['0'] : ['63'];

/**
 * True while `pid` is in one of the system calls `numbers` (/proc/PID/syscall: its number, then
 * its arguments in hex), on file descriptor `fd` (its first argument) when given; false once it
 * is gone.
 */
export function inSyscall(pid: number, numbers: readonly string[], fd?: number): boolean {
  try {
    const [nr, first] = readFileSync(`/proc/${pid}/syscall`, 'utf8').split(' ');
    return numbers.includes(nr) && (fd === undefined || first === `0x${fd.toString(16)}`);
  } catch {
    return false;
  }
}

/** True while `pid` is in one of the fork system calls. */
const forking = (pid: number): boolean => inSyscall(pid, FORKS);

/** The pid tracing `pid` (/proc/PID/status TracerPid), 0 when none. */
const tracer = (pid: number): number => Number(/^TracerPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

/**
 * Attaches strace to `pid` (its main thread only, not its children) so that each fork it makes
 * waits `delayMs` before the kernel makes the child. Resolves once strace has attached.
 * @throws Error when strace cannot attach (not installed, no permission to trace).
 */
export async function holdForks(pid: number, delayMs: number): Promise<ForkHold> {
  const strace = await attach(pid, ['-e', 'trace=clone,clone3,fork,vfork', '-e', `inject=clone,clone3,fork,vfork:delay_enter=${delayMs * 1000}`]);
  return {
    untilForking: async () => {
      await waitFor(() => forking(pid), `${pid} to fork`, { intervalMs: 1 });
    },
    stop: strace.stop,
  };
}

/** True while `pid` is in read(2) of its standard input. */
export const readsStdin = (pid: number): boolean => inSyscall(pid, READ, 0);

/**
 * Attaches strace to `pid` (its main thread only) so that each read(2) it makes waits `delayMs`
 * before the kernel runs it: what arrives meanwhile is there when it reads, a signal included.
 * Resolves once strace has attached.
 * @throws Error when strace cannot attach (not installed, no permission to trace).
 */
export async function holdReads(pid: number, delayMs: number): Promise<ChildHold> {
  return attach(pid, ['-e', 'trace=read', '-e', `inject=read:delay_enter=${delayMs * 1000}`]);
}

/** A strace holding each new child of a process right after fork(2); stop() detaches it. */
export interface ChildHold {
  stop(): Promise<void>;
}

/**
 * Attaches strace to `pid` and the children it forks from now on (`-f`), so that each new child
 * waits `delayMs` at its first system call: set_robust_list(2), which glibc makes in the child
 * right after fork (`when=1`: a process's first only; the program it then runs is not held).
 * There a child of a shell still has the shell's signal mask and handlers: a Ctrl-C then is
 * lost to the shell's handler before the child resets it and runs its command. Resolves once
 * strace has attached.
 * @throws Error when strace cannot attach (not installed, no permission to trace).
 */
export async function holdNewChildren(pid: number, delayMs: number): Promise<ChildHold> {
  return attach(pid, ['-f', '-e', 'trace=set_robust_list', '-e', `inject=set_robust_list:delay_exit=${delayMs * 1000}:when=1`]);
}

/**
 * Attaches strace to `pid` and the children it forks from now on (`-f`), so that each process's
 * first ioctl(2) from now on returns only after `delayMs`. A job-control shell's child (zsh's
 * entersubsh) makes its first one to put its job in the terminal's foreground (TIOCSPGRP), before
 * it resets the shell's signal handlers: held there, the job is the foreground group while the
 * shell's SIGINT handler is still the child's. The shell's own first ioctl is held too. Resolves
 * once strace has attached.
 * @throws Error when strace cannot attach (not installed, no permission to trace).
 */
export async function holdFirstIoctls(pid: number, delayMs: number): Promise<ChildHold> {
  return attach(pid, ['-f', '-e', 'trace=ioctl', '-e', `inject=ioctl:delay_exit=${delayMs * 1000}:when=1`]);
}

/**
 * Starts `strace -qq -o /dev/null ARGS -p PID` and resolves once it has attached to `pid`;
 * stop() ends it (the process goes on untouched).
 * @throws Error when strace cannot attach (not installed, no permission to trace).
 */
async function attach(pid: number, args: string[]): Promise<ChildHold> {
  const child = spawn('strace', ['-qq', '-o', '/dev/null', ...args, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor(() => gone || tracer(pid) === child.pid, `strace to attach to ${pid}`);
  if (gone) throw new Error(`strace could not attach to ${pid}: ${stderr.trim()}`);
  return {
    async stop() {
      if (!gone) child.kill('SIGTERM');
      await exited;
    },
  };
}
