// The interrupt tests that local and remote sessions share: the same block, the same assertions.
import { expect } from 'vitest';
import type { ShellSession } from '../../src/session/session.js';
import { run, startRun, untilChildRuns, USER_TRAP_BLOCK } from './session.js';
import { readFileSync } from 'node:fs';
import { childrenOf, readStat } from '../../src/session/processes.js';
import { holdFirstIoctls, holdForks, holdNewChildren } from './strace.js';
import { waitFor } from './wait.js';

/**
 * Holds `session`'s shell in fork(2) for `holdMs` (strace) as it starts `sleep 30`, types Ctrl-C
 * there, and expects the block to end interrupted well before the sleep would (30 s) and the
 * session to keep its state. The shell must be on this machine (or an sshd's on it: same pids).
 */
export async function expectCtrlCInHeldFork(session: ShellSession, holdMs: number): Promise<void> {
  await run(session, 'kept=1');
  await expectCtrlCWhileHeld(session, await holdForks(session.pid!, holdMs), (hold) => hold.untilForking());
}

/**
 * Runs `sleep 30` in `session` (where `kept=1` ran) with `hold` on its shell, types Ctrl-C once
 * `held` resolves, and expects the block to end interrupted well before the sleep would (30 s) and
 * the session to keep its state.
 */
async function expectCtrlCWhileHeld<H extends { stop(): Promise<void> }>(session: ShellSession, hold: H, held: (hold: H) => Promise<void>): Promise<void> {
  try {
    const block = startRun(session, 'echo started; sleep 30; echo not-reached');
    await block.untilOutput('started');
    await held(hold);
    const t0 = performance.now();
    session.interrupt();
    const r = await block.result;
    expect(performance.now() - t0).toBeLessThan(20_000); // the hold and a check; 30 s when the sleep is missed
    expect(r).toMatchObject({ exitCode: 130, interrupted: true, sessionRestarted: false });
    expect(r.output).not.toContain('not-reached');
  } finally {
    await hold.stop();
  }
  expect((await run(session, 'echo "$kept"')).output).toBe('1\n');
}

/**
 * Runs USER_TRAP_BLOCK in `session` (connected: its pid known), types Ctrl-C once `sleep 30` runs,
 * and expects the block's own trap to let it go on and what it runs next to get no Ctrl-C.
 */
export async function expectUserTrapGoesOn(session: ShellSession): Promise<void> {
  const block = startRun(session, USER_TRAP_BLOCK);
  await untilChildRuns(session.pid!, 'sleep 30'); // a Ctrl-C as bash forks it is missed, and none is caught up here
  session.interrupt();
  const r = await block.result;
  expect(r.output).toContain('caught');
  expect(r.output).toContain('slept 4 s');
  expect(r.output).not.toContain('got-int');
}

/**
 * Holds each child `session`'s local shell forks right after fork(2) for `holdMs` (strace), with
 * the shell's handlers and SIGINT blocked, types Ctrl-C while the child of `sleep 30` is held
 * there, and expects the block to end interrupted well before the sleep would (30 s): the child
 * lost the Ctrl-C to the shell's handler, then reset it and ran `sleep`, which must still get it.
 */
export async function expectCtrlCBeforeChildExecs(session: ShellSession, holdMs: number): Promise<void> {
  const shell = session.pid!;
  const comm = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return ''; // gone
    }
  };
  // The shell's child that will run `sleep`, held before it runs anything of its own.
  await run(session, 'kept=1');
  const held = async () => void (await waitFor(() => childrenOf(shell).some((pid) => comm(pid) === comm(shell)), 'the shell\'s held child', { intervalMs: 1 }));
  await expectCtrlCWhileHeld(session, await holdNewChildren(shell, holdMs), held);
}

/**
 * Holds the child of `session`'s local job-control shell (zsh, dash) for `holdMs` right after it
 * made its job the terminal's foreground group (its first ioctl, TIOCSPGRP; strace), before it resets
 * the shell's SIGINT handler, types Ctrl-C there, and expects the block to end interrupted well
 * before the sleep would (30 s): the child lost the Ctrl-C to the shell's handler and ran `sleep`,
 * and the shell, which did not get it, would go on to the rest of the block.
 */
export async function expectCtrlCAsJobTakesTerminal(session: ShellSession, holdMs: number): Promise<void> {
  const shell = session.pid!;
  await run(session, 'kept=1');
  const comm = readStat(shell)?.comm;
  const held = async () =>
    void (await waitFor(
      () =>
        childrenOf(shell).some((pid) => {
          const stat = readStat(pid);
          return stat !== undefined && stat.comm === comm && stat.tpgid === stat.pgrp && stat.pgrp === pid;
        }),
      "the shell's child, its job in the foreground",
      { intervalMs: 1 },
    ));
  await expectCtrlCWhileHeld(session, await holdFirstIoctls(shell, holdMs), held);
}
