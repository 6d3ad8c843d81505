import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { childrenOf } from '../../src/session/processes.js';
import { ShellSession, type BlockResult } from '../../src/session/session.js';
import { waitFor } from './wait.js';

/**
 * A block whose own INT trap lets it go on after Ctrl-C, and then runs a command that says if a
 * SIGINT reaches it in the 4 s it sleeps (past cmdrun's late checks of a missed Ctrl-C).
 */
export const USER_TRAP_BLOCK = [
  "trap 'echo caught' INT",
  'echo ready; sleep 30',
  `sh -c 'trap "echo got-int; exit 1" INT; sleep 4 & wait $!; echo slept 4 s'`,
].join('\n');

/**
 * Resolves once process `pid` (a session's shell: on this machine, or over ssh to this machine's
 * sshd) has a child running `command` (its command line, arguments joined by spaces): the
 * command has started, past the fork a Ctrl-C can miss.
 */
export async function untilChildRuns(pid: number, command: string): Promise<void> {
  const runs = (child: number) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') === command;
    } catch {
      return false;
    }
  };
  await waitFor(() => childrenOf(pid).some(runs), `${pid} to run ${command}`, { timeoutMs: 60_000 });
}

/** A block's result and everything it printed. */
export type Ran = BlockResult & { output: string };

/** Starts a real bash session in the temp folder. */
export function startBash(): Promise<ShellSession> {
  return ShellSession.start({ shell: 'bash', cwd: tmpdir(), scriptName: 'test.sh' });
}

/** Runs one block and collects its output. */
export async function run(session: ShellSession, code: string, lineStart?: number): Promise<Ran> {
  let output = '';
  const result = await session.run(code, { lineStart, onOutput: (text) => (output += text) });
  return { ...result, output };
}

/** A block started by {@link startRun}: its result to come, and waits for what it prints. */
export interface Running {
  result: Promise<Ran>;
  /** Resolves once the block's output so far contains `text` (rejects if the block ends first). */
  untilOutput(text: string): Promise<void>;
  /** Resolves once the block waits for terminal input (the session's `waiting`). */
  untilWaiting(): Promise<void>;
}

/** Starts one block and lets the test wait for its output or for it to wait for input, never a fixed time. */
export function startRun(session: ShellSession, code: string): Running {
  let output = '';
  let waited = false;
  const wakes = new Set<() => void>();
  const wakeAll = () => [...wakes].forEach((w) => w());
  const result = session
    .run(code, {
      onOutput: (text) => {
        output += text;
        wakeAll();
      },
      onWaiting: () => {
        waited = true;
        wakeAll();
      },
    })
    .then((r) => ({ ...r, output }));
  let ended = false;
  const end = () => {
    ended = true;
    wakeAll();
  };
  result.then(end, end);
  const until = async (done: () => boolean, what: string) => {
    while (!done()) {
      if (ended) throw new Error(`the block ended before ${what}; output: ${JSON.stringify(output)}`);
      await new Promise<void>((wake) => {
        const w = () => {
          wakes.delete(w);
          wake();
        };
        wakes.add(w);
      });
    }
  };
  return {
    result,
    untilOutput: (text) => until(() => output.includes(text), `printing ${JSON.stringify(text)}`),
    untilWaiting: () => until(() => waited, 'waiting for input'),
  };
}

/**
 * Runs a block that prints `bytes` bytes and then `END`, counting what arrives (nothing is kept):
 * the 100 MB tests of remote and container sessions.
 */
export async function runCounting(session: ShellSession, code: string): Promise<{ exitCode: number; bytes: number; last: string }> {
  let bytes = 0;
  let last = '';
  const result = await session.run(code, {
    onOutput: (text) => {
      bytes += text.length;
      last = (last + text).slice(-4);
    },
  });
  return { exitCode: result.exitCode, bytes, last };
}
