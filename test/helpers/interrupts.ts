// The interrupt tests that local and remote sessions share: the same block, the same assertions.
import { expect } from 'vitest';
import type { ShellSession } from '../../src/session/session.js';
import { run, startRun, untilChildRuns, USER_TRAP_BLOCK } from './session.js';
import { holdForks } from './strace.js';

/**
 * Holds `session`'s shell in fork(2) for `holdMs` (strace) as it starts `sleep 30`, types Ctrl-C
 * there, and expects the block to end interrupted well before the sleep would (30 s) and the
 * session to keep its state. The shell must be on this machine (or an sshd's on it: same pids).
 */
export async function expectCtrlCInHeldFork(session: ShellSession, holdMs: number): Promise<void> {
  await run(session, 'kept=1');
  const hold = await holdForks(session.pid!, holdMs);
  try {
    const block = startRun(session, 'echo started; sleep 30; echo not-reached');
    await block.untilOutput('started');
    await hold.untilForking();
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
