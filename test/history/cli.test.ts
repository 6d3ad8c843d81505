// `cmdrun history` and the history options of `cmdrun run`, as real processes on real databases.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pty from '@lydell/node-pty';
import { describe, expect, test } from 'vitest';
import { HISTORY_DISK_BOUND } from '../../src/history/store.js';
import { BIN, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('cmdrun-history-cli-');
const db = join(dir, 'history.db');
const deploy = join(dir, 'deploy.sh');
writeFileSync(deploy, '# %% Build\necho building app\n\n# %% Colour\nprintf "\\033[31mred alert\\033[0m\\n"\n\n# %% Fail\necho broken; exit 3\n');
const check = join(dir, 'check.sh');
writeFileSync(check, 'echo healthy\n');

/** Runs `cmdrun ARGS` in a real terminal (a PTY) and returns what it printed. */
function inTerminal(args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const term = pty.spawn(process.execPath, [BIN, ...args], { cols: 200, rows: 40, env: { ...process.env, ...env } as Record<string, string> });
    term.onData((d) => (out += d));
    term.onExit(() => resolve(out));
  });
}

interface Line {
  runId: string;
  script: string;
  title?: string;
  code: string;
  exitCode?: number;
}
const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);

describe('cmdrun history', () => {
  test('cmdrun run records every block; history lists them newest first: time, script, block, target, exit status, duration, run id', async () => {
    const ran = await runCli(['run', deploy, '--history', db]);
    expect(ran.code).toBe(3);
    expect((await runCli(['run', check, '--history', db])).code).toBe(0);
    const list = await runCli(['history', '--history', db], { COLUMNS: '200' });
    expect(list.code).toBe(0);
    const rows = list.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^TIME\s+SCRIPT\s+BLOCK\s+TARGET\s+EXIT\s+DURATION\s+RUN ID$/);
    expect(rows).toHaveLength(5); // header, check's block, then deploy's three (the closing `exit` is not a block)
    expect(rows[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\S*check\.sh\s+echo healthy\s+local\s+0\s+\d+ ms\s+[0-9a-f-]{36}$/);
    expect(rows[2]).toMatch(/deploy\.sh\s+Fail\s+local\s+3\s+/);
    expect(rows[3]).toMatch(/deploy\.sh\s+Colour\s+local\s+0\s+/);
    expect(rows[4]).toMatch(/deploy\.sh\s+Build\s+local\s+0\s+/);
  });

  test('[file], --json, --limit and --search', async () => {
    const all = jsonLines((await runCli(['history', '--json', '--history', db])).stdout);
    expect(all.map((r) => r.title ?? r.code)).toEqual(['echo healthy', 'Fail', 'Colour', 'Build']);
    const one = jsonLines((await runCli(['history', deploy, '--json', '--history', db])).stdout);
    expect(one.map((r) => r.script)).toEqual([deploy, deploy, deploy]);
    expect(jsonLines((await runCli(['history', '--json', '--limit', '2', '--history', db])).stdout)).toHaveLength(2);
    // Code and output both match.
    expect(jsonLines((await runCli(['history', '--json', '--search', 'RED ALERT', '--history', db])).stdout).map((r) => r.title)).toEqual(['Colour']);
    expect(jsonLines((await runCli(['history', '--json', '--search', 'exit 3', '--history', db])).stdout).map((r) => r.title)).toEqual(['Fail']);
    const none = await runCli(['history', '--search', 'no such text', '--history', db]);
    expect([none.code, none.stdout, none.stderr]).toEqual([0, '', 'cmdrun: no runs found\n']);
  });

  test('show prints the run as it was: colours on a terminal, stripped when piped or with NO_COLOR', async () => {
    const [colour] = jsonLines((await runCli(['history', '--json', '--search', 'red alert', '--history', db])).stdout);
    const piped = await runCli(['history', 'show', colour.runId, '--history', db]);
    expect(piped.code).toBe(0);
    expect(piped.stdout).toContain(`# run ${colour.runId}\n# ${deploy}:5 (Colour)\n`);
    expect(piped.stdout).toMatch(/# exit 0 after \d+ ms; cwd /);
    expect(piped.stdout).toContain('printf "\\033[31mred alert\\033[0m\\n"\n# output:\nred alert\n');
    expect(piped.stdout).not.toContain('\x1b');
    const terminal = await inTerminal(['history', 'show', colour.runId, '--history', db]);
    expect(terminal).toContain('\x1b[31mred alert\x1b[0m');
    const noColor = await inTerminal(['history', 'show', colour.runId, '--history', db], { NO_COLOR: '1' });
    expect(noColor).toContain('red alert');
    expect(noColor).not.toContain('\x1b[31m');
    const missing = await runCli(['history', 'show', 'no-such-run', '--history', db]);
    expect([missing.code, missing.stderr]).toEqual([2, 'cmdrun: no run no-such-run in the history\n']);
  });

  test('clear deletes one script\'s history, then all of it', async () => {
    const copy = join(dir, 'copy.db');
    await runCli(['run', check, '--history', copy]);
    await runCli(['run', deploy, '--history', copy]);
    expect(await runCli(['history', 'clear', check, '--history', copy])).toMatchObject({ code: 0, stdout: `cmdrun: deleted 1 run of ${check}\n` });
    expect(jsonLines((await runCli(['history', '--json', '--history', copy])).stdout).map((r) => r.script)).toEqual([deploy, deploy, deploy]);
    expect(await runCli(['history', 'clear', '--history', copy])).toMatchObject({ code: 0, stdout: 'cmdrun: deleted 3 runs\n' });
    expect((await runCli(['history', '--json', '--history', copy])).stdout).toBe('');
  });

  test('without a database yet, history says so and creates nothing', async () => {
    const state = tempDir('cmdrun-empty-state-');
    const res = await runCli(['history'], { XDG_STATE_HOME: state });
    expect([res.code, res.stdout, res.stderr]).toEqual([0, '', `cmdrun: no history yet (${join(state, 'cmdrun', 'history.db')})\n`]);
    expect(existsSync(join(state, 'cmdrun'))).toBe(false);
  });
});

describe('the history options of cmdrun run', () => {
  test('by default runs go to $XDG_STATE_HOME/cmdrun/history.db; --no-history writes nothing', async () => {
    const state = tempDir('cmdrun-state-');
    expect((await runCli(['run', check, '--no-history'], { XDG_STATE_HOME: state })).code).toBe(0);
    expect(existsSync(join(state, 'cmdrun'))).toBe(false);
    expect((await runCli(['run', check], { XDG_STATE_HOME: state })).code).toBe(0);
    const listed = jsonLines((await runCli(['history', '--json'], { XDG_STATE_HOME: state })).stdout);
    expect(listed.map((r) => r.code)).toEqual(['echo healthy']);
  });

  test('a corrupt database is one warning; the blocks run as without history', async () => {
    const corrupt = join(dir, 'corrupt.db');
    writeFileSync(corrupt, 'not a database '.repeat(100));
    const res = await runCli(['run', check, '--history', corrupt]);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('healthy\n');
    expect(res.stderr).toMatch(/^cmdrun: warning: history is off: cannot open .*corrupt\.db: file is not a database\n/);
    expect(res.stderr.match(/warning/g)).toHaveLength(1);
  });

  test('two processes writing at once: every run of both is recorded, no warning', async () => {
    const shared = join(dir, 'shared.db');
    const many = (name: string) => {
      const file = join(dir, name);
      writeFileSync(file, Array.from({ length: 40 }, (_, i) => `# %% ${name} ${i}\necho ${name}-${i}; head -c 20000 /dev/zero | tr '\\0' x; echo\n`).join('\n'));
      return file;
    };
    const [a, b] = [many('a.sh'), many('b.sh')];
    const results = await Promise.all([runCli(['run', a, '--history', shared]), runCli(['run', b, '--history', shared])]);
    for (const r of results) expect([r.code, r.stderr.includes('history')]).toEqual([0, false]);
    const runs = jsonLines((await runCli(['history', '--json', '--limit', '1000', '--history', shared])).stdout);
    expect(runs.filter((r) => r.script === a)).toHaveLength(40);
    expect(runs.filter((r) => r.script === b)).toHaveLength(40);
    expect(runs.every((r) => r.exitCode === 0)).toBe(true);
  });
});

describe('the database file', () => {
  test('--history-max 1M: ten runs of 400 KB leave the file (and its WAL) within the README\'s bound, with the newest runs', async () => {
    const path = join(dir, 'bounded.db');
    const big = join(dir, 'big.sh');
    writeFileSync(big, Array.from({ length: 10 }, (_, i) => `# %% out ${i}\nhead -c 409600 /dev/zero | tr '\\0' ${i}\n`).join('\n'));
    const ran = await runCli(['run', '--quiet', big, '--history', path, '--history-max', '1M']);
    expect([ran.code, ran.stderr]).toEqual([0, '']);
    expect(ran.stdout.length).toBe(10 * 409600);
    const onDisk = statSync(path).size + (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
    expect(onDisk).toBeLessThanOrEqual(HISTORY_DISK_BOUND(1024 * 1024));
    const kept = jsonLines((await runCli(['history', '--json', '--history', path])).stdout);
    expect(kept.map((r) => r.title)).toEqual(['out 9', 'out 8']);
  });

  // Node 22.13+ writes with node:sqlite, Node 20 with better-sqlite3: .ci/run names the other Node
  // (the machine's for the Node 26 run, Node 26 for the machine's) in CMDRUN_TEST_OTHER_NODE.
  const other = process.env.CMDRUN_TEST_OTHER_NODE;
  test.skipIf(!other)('the same database file with either SQLite driver: each Node reads what the other wrote', async () => {
    const hasSqlite = (node: string) => spawnSync(node, ['-p', "Boolean(process.getBuiltinModule?.('node:sqlite'))"], { encoding: 'utf8' }).stdout.trim();
    expect([hasSqlite(process.execPath), hasSqlite(other!)].sort()).toEqual(['false', 'true']);
    const path = join(dir, 'shared-drivers.db');
    const otherCli = (args: string[]) => spawnSync(other!, [BIN, ...args], { encoding: 'utf8', env: process.env });
    const first = otherCli(['run', '--quiet', check, '--history', path]);
    expect([first.status, first.stdout, first.stderr]).toEqual([0, 'healthy\n', '']);
    expect((await runCli(['run', '--quiet', deploy, '--history', path])).stderr).toBe('');
    const ours = jsonLines((await runCli(['history', '--json', '--history', path])).stdout);
    const theirs = jsonLines(otherCli(['history', '--json', '--history', path]).stdout);
    expect(ours.map((r) => r.title ?? r.code)).toEqual(['Fail', 'Colour', 'Build', 'echo healthy']);
    expect(theirs).toEqual(ours);
    expect(otherCli(['history', 'show', ours[1].runId, '--history', path]).stdout).toContain('red alert');
  });
});
