// `cmdrun run` on a terminal asks for parameters there (message, default in brackets, Enter takes
// it, a secret without echo) and confirms with [y/N]; Ctrl-C at a prompt cancels. A real PTY.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pty from '@lydell/node-pty';
import { expect, test } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('cmdrun-params-tty-');

/** `cmdrun run FILE ARGS` on a terminal; waitFor(text) resolves once the terminal showed it. */
function onTerminal(file: string, args: string[] = []) {
  const env = { ...process.env, CLUSTER: '', REGION: '', DB_PASSWORD: '' } as Record<string, string>;
  const term = pty.spawn(process.execPath, [BIN, 'run', file, '--no-history', '--quiet', ...args], { cols: 120, rows: 30, cwd: dir, env });
  let output = '';
  const waiters: Array<() => void> = [];
  term.onData((data) => {
    output += data;
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  let ended = false;
  void exited.then(() => ((ended = true), waiters.splice(0).forEach((w) => w())));
  const waitFor = async (text: string) => {
    while (!output.includes(text)) {
      if (ended) throw new Error(`exited without showing ${JSON.stringify(text)}: ${output}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { term, exited, waitFor, output: () => output };
}

const file = join(dir, 'deploy.sh');
writeFileSync(file, [
  '# %% Deploy',
  'export CLUSTER=Enter the cluster name',
  'export REGION="eu-west-1"',
  'export DB_PASSWORD',
  'echo "deploying to $CLUSTER in $REGION with $DB_PASSWORD"',
  '# %% Restart confirm="Restart production?"',
  'echo restarted',
  '',
].join('\n'));

test('the terminal asks each parameter, Enter takes the default, a secret is not echoed; [y/N] confirms', async () => {
  const run = onTerminal(file);
  await run.waitFor('CLUSTER (Enter the cluster name): ');
  run.term.write('prod\r');
  await run.waitFor('REGION [eu-west-1]: ');
  run.term.write('\r');
  await run.waitFor('DB_PASSWORD: ');
  run.term.write('pa55-w0rd-x\r');
  await run.waitFor('Restart: Restart production? [y/N] ');
  run.term.write('y\r');
  expect(await run.exited).toBe(0);
  expect(run.output()).toContain('deploying to prod in eu-west-1 with ***');
  expect(run.output()).toContain('restarted');
  expect(run.output()).not.toContain('pa55');
});

test('no at the confirmation cancels that block; Ctrl-C at a prompt cancels the run (130)', async () => {
  const no = onTerminal(file, ['--from', '2']);
  await no.waitFor('[y/N] ');
  no.term.write('\r');
  expect(await no.exited).toBe(130);
  expect(no.output()).not.toContain('restarted');
  const stop = onTerminal(file);
  await stop.waitFor('CLUSTER (Enter the cluster name): ');
  stop.term.write('pr\x03');
  expect(await stop.exited).toBe(130);
  expect(stop.output()).not.toContain('deploying');
});
