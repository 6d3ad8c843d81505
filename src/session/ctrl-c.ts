/**
 * Ctrl-C for a session's running block, and the catch-up of what it missed: a Ctrl-C typed as the
 * shell starts a command can miss that command, which the shell then waits for.
 *
 * Why it is missed: bash blocks SIGINT around fork(2) (its make_child), and the child has bash's
 * handlers until it resets them to exec, so a child forked as the signal came never gets it; a
 * job-control shell (zsh, dash) gets the signal itself while its new job is not yet the terminal's
 * foreground process group (on a loaded machine that job may have been forked well before).
 * A real terminal has the same race; there a second Ctrl-C stops the command, here it escalates.
 */
import { childrenOf, readStat, sessionMembers, sigintIsDefault, uptimeTicks, type ProcStat } from './processes.js';
import type { ShellProcess } from './shell-process.js';

/** How long after Ctrl-C the shell is first checked for what the signal missed (ms). */
export const READ_INTERRUPT_MS = 50;
/** How often, past the first checks, an interrupted bash block is checked until it ends (ms). */
export const LATE_INTERRUPT_MS = 1000;

/**
 * True when a shell block may set an INT trap of its own: it says `trap` and names SIGINT (`INT`,
 * `SIGINT`, any case, as bash(1) accepts signal names; or `2`), or ends a `trap` line with an
 * expansion (signals named by a variable). A heuristic on the text: a trap set by a sourced
 * file or by a function defined elsewhere is not seen. Once such a block ran in a shell, its
 * Ctrl-Cs get no catch-up ({@link typeCtrlC}): the user's trap may let the block go on, and a
 * command it starts after the Ctrl-C cannot be told from one that missed it.
 */
export function mayTrapInterrupt(code: string): boolean {
  if (!/\btrap\b/.test(code)) return false;
  return /\b(sig)?int\b/i.test(code) || /\btrap\b[^\n]*\s(2|["']?\$\S*)\s*(;|&|\||$)/m.test(code);
}

/** What {@link typeCtrlC} needs to know of the session. */
export interface CtrlCContext {
  /** The shell runs each job in a process group of its own (zsh, dash), not bash. */
  jobControl: boolean;
  /** The shell is on another machine (its processes are out of reach from here). */
  remote: boolean;
  /** True once the block the Ctrl-C was typed for has ended. */
  ended(): boolean;
  /** True while this Ctrl-C is still the block's only interrupt (a second one escalates instead). */
  firstInterrupt(): boolean;
}

/**
 * Types Ctrl-C: the terminal sends SIGINT to its foreground process group. Then, checked
 * {@link READ_INTERRUPT_MS}, 10x and 40x that later:
 * - without job control (bash), the shell's own `read` takes its INT trap and reads on (bash(1):
 *   SIGNALS): the line it has is dropped (^U) and end of input (^D) ends it;
 * - the foreground group's processes that take SIGINT's default action and still run, and the
 *   shell's children started since the Ctrl-C, get their SIGINT now (missedInterrupt):
 *   what a terminal would have sent them had the shell been quick. A program that catches SIGINT
 *   and was running at the Ctrl-C never gets a second one (a second Ctrl-C means "force" to many).
 * On a loaded machine the shell may finish that fork(2), or its child reset the shell's handler
 * and exec its command, after every check: it is then checked every {@link LATE_INTERRUPT_MS}
 * until the block ends, for children of the shell started since the Ctrl-C or now taking
 * SIGINT's default action (shellChildrenMissed). A process is signalled again only once it runs
 * another program: one signalled before its exec lost it to the shell's handler. Once the shell
 * itself got Ctrl-C it starts nothing more of the block (bash: cmdrun's INT trap runs first and
 * unwinds it; zsh and dash abandon the rest of its line): such a child is the one it was forking.
 * A zsh or dash job that got Ctrl-C, caught it and exited 0 lets the shell go on, as in a
 * terminal: so with zsh and dash, unless the shell was the terminal's foreground group as Ctrl-C
 * came (its job not yet, or none), the catch-up is only for the job that was (jobMissed): its
 * processes that now take SIGINT's default action yet run (one that still had the shell's handler
 * as the signal came), checked as above and then every {@link LATE_INTERRUPT_MS}.
 *
 * A remote shell's processes are out of reach from here, and nothing there can see a Ctrl-C (a
 * process started in the background, as its input watcher is, ignores SIGINT for good: sh(1)).
 * Its watcher reports the start times of the shell's foreground commands instead
 * (ChildrenReport, remote.ts), and one started since the Ctrl-C (its time there reckoned back
 * from the report's, so a little early: by the round trip) missed it: Ctrl-C is typed once more,
 * while it is the block's first interrupt. bash only: whether a zsh or dash there was in the
 * foreground as Ctrl-C came is not known here.
 *
 * No catch-up at all once a block of the shell may have set its own INT trap
 * ({@link mayTrapInterrupt}, ShellProcess.mayTrapInterrupt): the block may go on after Ctrl-C.
 */
export function typeCtrlC(proc: ShellProcess, ctx: CtrlCContext): void {
  // The window opens before the write: Node may be descheduled after it on a loaded machine.
  const since = uptimeTicks() - 1;
  const sentAt = performance.now();
  // A job-control shell got the signal itself only while it was the foreground group.
  const foreground = ctx.jobControl && !ctx.remote ? proc.foregroundGroup() : undefined;
  const shellGotIt = !ctx.jobControl || (!ctx.remote && foreground === readStat(proc.pid)?.pgrp);
  proc.write('\x03');
  const catchUp = shellGotIt && !proc.mayTrapInterrupt;
  // A zsh or dash job that was the foreground group as Ctrl-C came, and missed it (jobMissed).
  const job = ctx.jobControl && !shellGotIt && foreground !== undefined && !proc.mayTrapInterrupt ? foreground : undefined;
  if (ctx.remote) {
    if (!catchUp) return;
    proc.onChildrenReport((report) => {
      if (ctx.ended() || !ctx.firstInterrupt()) return;
      const at = report.now - Math.floor((report.at - sentAt) / 10); // ms to clock ticks (USER_HZ 100)
      if (!report.starts.some((start) => start >= at)) return;
      proc.onChildrenReport(undefined);
      proc.write('\x03');
    });
    return;
  }
  // Each process is sent SIGINT once per program it runs: one signalled between fork(2) and
  // exec(2) still had the shell's handler (or SIGINT blocked) and lost it, so it gets it again
  // once it runs its command; a program that catches SIGINT never gets a second one.
  const signalled = new Map<number, string>();
  const signal = (pids: number[]) => {
    for (const pid of pids) {
      const comm = readStat(pid)?.comm;
      if (comm === undefined || signalled.get(pid) === comm) continue;
      signalled.set(pid, comm);
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // It ended meanwhile.
      }
    }
  };
  const check = (first: boolean) => {
    if (ctx.ended()) return;
    if (first && !ctx.jobControl && proc.shellReadsInput()) proc.write('\x15\x04');
    if (catchUp) signal(missedInterrupt(proc, since));
    if (job !== undefined) signal(jobMissed(proc, job));
  };
  const late = () => {
    if (ctx.ended()) return;
    if (catchUp) signal(shellChildrenMissed(proc, since));
    if (job !== undefined) signal(jobMissed(proc, job));
    setTimeout(late, LATE_INTERRUPT_MS).unref();
  };
  setTimeout(() => check(true), READ_INTERRUPT_MS);
  setTimeout(() => check(false), READ_INTERRUPT_MS * 10);
  setTimeout(() => {
    check(false);
    if (catchUp || job !== undefined) setTimeout(late, LATE_INTERRUPT_MS).unref();
  }, READ_INTERRUPT_MS * 40);
}

/**
 * The processes of job `pgrp` of a job-control shell (zsh, dash), the terminal's foreground group
 * as a Ctrl-C came, that missed it: the shell's children in that group that take SIGINT's default
 * action yet still run. The shell's child puts its job in the foreground (tcsetpgrp) before it
 * resets the shell's handlers to exec its command (zsh's entersubsh: attachtty, then
 * signal_default; dash's forkchild likewise): a Ctrl-C in between goes to the shell's handler in
 * the child, which then runs its command as if none had come, and the shell the rest of the
 * block after it. A job the shell starts after the Ctrl-C is a group of its own, never this one:
 * a job that caught Ctrl-C and exited 0 lets the shell go on, as in a terminal. Local shells
 * only: [] for a remote one.
 */
export function jobMissed(proc: ShellProcess, pgrp: number): number[] {
  return liveShellChildren(proc, pgrp, (pid) => sigintIsDefault(pid));
}

/**
 * The shell's own live children (childrenOf: no zombies) in process group `pgrp` for which
 * `take` is true. Local shells only: [] for a remote one.
 */
function liveShellChildren(proc: ShellProcess, pgrp: number | undefined, take: (pid: number, stat: ProcStat) => boolean): number[] {
  if (proc.layout.remote || !proc.pid) return [];
  return childrenOf(proc.pid).filter((pid) => {
    const stat = readStat(pid);
    return stat !== undefined && stat.state !== 'Z' && stat.pgrp === pgrp && take(pid, stat);
  });
}

/**
 * The live processes of `proc`'s terminal foreground process group that a Ctrl-C typed at
 * `sinceTicks` (clock ticks since boot, see uptimeTicks) missed: those that take SIGINT's default
 * action yet still run (whenever they started: a job that became the foreground group only after
 * the Ctrl-C, or a child that exec'd after swallowing it with the shell's handler), and the
 * shell's own children started since then that catch it (the fork the shell was making as the
 * signal came; {@link shellChildrenMissed}). Never the shell itself, nor a background job of a
 * job-control shell (its own process group). Local shells only: [] for a remote one.
 */
export function missedInterrupt(proc: ShellProcess, sinceTicks: number): number[] {
  if (proc.layout.remote) return [];
  const fg = proc.foregroundGroup();
  // One pass: the shell's children that shellChildrenMissed takes are the members started since
  // (those taking SIGINT's default action are among the first).
  return sessionMembers(proc.sid).filter((pid) => {
    if (pid === proc.sid || pid === proc.pid) return false;
    const stat = readStat(pid);
    if (!stat || stat.pgrp !== fg) return false;
    return sigintIsDefault(pid) || (stat.ppid === proc.pid && stat.starttime >= sinceTicks);
  });
}

/**
 * The shell's own children in its terminal's foreground process group that a Ctrl-C typed at
 * `sinceTicks` (clock ticks since boot) missed: those started at or after it (the fork the shell
 * was making as the signal came), and those that take SIGINT's default action yet still run (one
 * forked before it that had not yet reset the shell's handler: it lost the signal, and runs its
 * command once it does). Found through the shell's children file alone (childrenOf), cheap enough
 * to ask every second; a grandchild (what a program that caught Ctrl-C starts to clean up) is
 * never among them. Local shells only: [] for a remote one.
 */
export function shellChildrenMissed(proc: ShellProcess, sinceTicks: number): number[] {
  if (proc.layout.remote || !proc.pid) return [];
  return liveShellChildren(proc, proc.foregroundGroup(), (pid, stat) => stat.starttime >= sinceTicks || sigintIsDefault(pid));
}
