// Nothing is left behind after a fault (issue 22 item 4): a connection lost, an sshd stopped or
// killed, cmdrun stopped with SIGTERM or SIGKILL while remote and container sessions are open. Each
// case then checks the far side itself, waiting for it (never a fixed time): no process of the
// session (its block's program, its leader, its watcher) and no /tmp/cmdrun-remote-* folder of it,
// on this machine's real sshd and in a real podman container.
import { randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ShellSession } from '../../src/session/session.js';
import { serveCli, type Served } from '../helpers/cli.js';
import { canRunContainers, CONTAINER_TEST_MS, startContainerLab, type ContainerLab } from '../helpers/containers.js';
import { run, startRun } from '../helpers/session.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A block that prints its session's folder name: the shell's parent is the session leader's
 * subshell, whose command line names the folder (other tests on this machine make folders too).
 */
const PRINT_DIR = "tr '\\0' ' ' </proc/$PPID/cmdline | grep -o 'cmdrun-remote-[A-Za-z0-9_-]*' | head -1";
const dirIn = (output: string): string => /cmdrun-remote-[A-Za-z0-9_-]{16}/.exec(output)?.[0] ?? '';

/** Command lines of this machine's live processes (not zombies) that contain `text`. */
function processesWith(text: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) continue;
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (args.includes(text)) found.push(`${name} ${args}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** A `sleep` no other test runs: the block's own program, found by its command line. */
const uniqueSleep = () => `sleep ${randomInt(100_000, 999_999)}`;

/** Waits until this machine has no process of the ssh session (`dirs`, `sleep`) and none of its folders. */
async function untilSshSideClean(dirs: string[], sleep: string): Promise<void> {
  await waitFor(
    () => dirs.every((d) => !existsSync(`/tmp/${d}`) && processesWith(d).length === 0) && processesWith(sleep).length === 0,
    `nothing left of ${dirs.join(', ')} (${sleep}): ${dirs.flatMap(processesWith).concat(processesWith(sleep)).join(' | ')}`,
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

describe('a remote session whose connection goes', () => {
  let sshd: Sshd;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  const cases: Array<[string, (s: Sshd) => void]> = [
    ['sshd stops the connection (SIGTERM)', (s) => s.endConnections('SIGTERM')],
    ['the connection\'s sshd is killed (SIGKILL)', (s) => s.endConnections('SIGKILL')],
    ['the connection drops: every process under sshd is SIGKILLed at once, the session leader included', (s) => s.dropConnections()],
  ];
  test.each(cases)('%s: the block ends, and no process or folder of the session remains there', async (_name, fault) => {
    const session = await ShellSession.start({ shell: 'bash', cwd: '', scriptName: 'x.sh', remote: { target: { kind: 'ssh', host: sshd.host }, sshCommand: sshd.sshCommand } });
    try {
      const dirs = [dirIn((await run(session, PRINT_DIR)).output)];
      expect(existsSync(`/tmp/${dirs[0]}`)).toBe(true);
      const sleep = uniqueSleep();
      // A block whose program ignores the hang-up: only the session's own clean-up ends it.
      const block = startRun(session, `echo started; trap '' HUP; ${sleep}`);
      await block.untilOutput('started');
      fault(sshd);
      const r = await block.result;
      expect(r.output).toMatch(/cmdrun: the connection to ssh:\/\/cmdrun-test was lost/);
      await untilSshSideClean(dirs, sleep);
    } finally {
      await session.close();
    }
  }, 240_000);
});

describe.skipIf(!canRunContainers())('cmdrun stopped while remote and container sessions are open', { timeout: CONTAINER_TEST_MS }, () => {
  let sshd: Sshd;
  let lab: ContainerLab;
  beforeAll(async () => {
    sshd = await startSshd();
    lab = await startContainerLab();
  }, 120_000);
  afterAll(async () => {
    await lab?.stop();
    await sshd?.stop();
  }, 120_000);

  /** Posts a run and resolves with what it sent once its output holds `text` (the stream stays open). */
  async function startBlock(served: Served, code: string, on: string, text: string): Promise<string> {
    const res = await fetch(`${served.origin}/api/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${served.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ code, on }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let seen = '';
    while (!seen.includes(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the run ended before printing ${text}: ${seen}`);
      seen += decoder.decode(value, { stream: true });
    }
    reader.cancel().catch(() => {});
    return seen;
  }

  test.each(['SIGTERM', 'SIGKILL'] as const)('%s: no process or folder of cmdrun\'s remains in the container or over ssh', async (signal) => {
    const dir = tempDir('cmdrun-faults-');
    writeFileSync(join(dir, 'x.sh'), 'echo local\n');
    const container = await lab.run();
    const served = await serveCli([join(dir, 'x.sh'), '--no-history', '--ssh-command', sshd.sshCommand]);
    try {
      const sshSleep = uniqueSleep();
      const containerSleep = uniqueSleep();
      // Busy in the container, idle over ssh, and a background job in each.
      const sshSent = await startBlock(served, `(${sshSleep} &); ${PRINT_DIR}; echo ssh-ready`, `ssh://${sshd.host}`, 'ssh-ready');
      await startBlock(served, `(${containerSleep} &); echo started; ${containerSleep}`, `podman://${container}`, 'started');
      const dirs = [dirIn(sshSent)];
      expect(existsSync(`/tmp/${dirs[0]}`)).toBe(true);
      await waitFor(async () => (await lab.processes(container)).filter((p) => p.args === containerSleep).length === 2, 'both sleeps in the container');
      expect(await lab.tmpEntries(container)).toHaveLength(1);

      served.child.kill(signal);
      await served.exited;
      await untilSshSideClean(dirs, sshSleep);
      await lab.untilNothingLeft(container);
    } finally {
      if (served.child.exitCode === null && served.child.signalCode === null) served.child.kill('SIGKILL');
    }
  }, 300_000);
});
