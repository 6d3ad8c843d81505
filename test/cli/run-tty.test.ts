// `cmdrun run` on a terminal: what the user types reaches the block that reads it, Ctrl-C
// interrupts the running block and a second one ends cmdrun. Driven through a real PTY.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pty from '@lydell/node-pty';
import { expect, test } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor as until } from '../helpers/wait.js';

/** Starts `cmdrun run FILE --no-history --quiet` on a terminal; resolves its output and status at exit. */
function onTerminal(file: string) {
  const term = pty.spawn(process.execPath, [BIN, 'run', file, '--no-history', '--quiet'], { cols: 100, rows: 30, cwd: tmpdir(), env: process.env as Record<string, string> });
  let output = '';
  term.onData((data) => (output += data));
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  const waitFor = async (text: string) => {
    // Bounded by the test's own time limit only: a cold, loaded machine starts cmdrun slowly.
    await until(() => output.includes(text), `${JSON.stringify(text)} on the terminal; it shows ${JSON.stringify(output)}`, { timeoutMs: 55_000, intervalMs: 15 });
  };
  return { term, exited, waitFor, output: () => output };
}

test('typed input reaches a block that reads it; the next block runs after', async () => {
  const dir = tempDir('cmdrun-tty-');
  const file = join(dir, 'ask.sh');
  writeFileSync(file, '# %% ask\nprintf "Name? "; read -r name; echo "Hello, $name!"\n# %% after\necho "done with $name"\n');
  const run = onTerminal(file);
  await run.waitFor('Name? ');
  run.term.write('Ada\r');
  expect(await run.exited).toBe(0);
  expect(run.output()).toContain('Hello, Ada!');
  expect(run.output()).toContain('done with Ada');
});

test('Ctrl-C interrupts the running block: cmdrun exits 130 and the blocks after it do not run', async () => {
  const dir = tempDir('cmdrun-tty-');
  const file = join(dir, 'slow.sh');
  writeFileSync(file, '# %% slow\necho started; sleep 30; echo not-reached\n# %% next\necho next-block\n');
  const run = onTerminal(file);
  await run.waitFor('started');
  run.term.write('\x03');
  expect(await run.exited).toBe(130);
  expect(run.output()).not.toContain('not-reached');
  expect(run.output()).not.toContain('next-block');
});
