import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/tmp.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/equivalence/', import.meta.url));

/** Runs a command to completion with no stdin; stdout and stderr apart, and stdout's bytes. */
function exec(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString(), bytes: r.stdout };
}

/** A digest and the size of some bytes: what the byte-for-byte comparisons compare. */
const digest = (bytes: Buffer) => `${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex')}`;

/** A fresh folder holding a copy of the fixture (scripts write files beside themselves). */
function copyOf(name: string): { dir: string; file: string } {
  const dir = tempDir('cmdrun-eq-');
  copyFileSync(join(FIXTURES, name), join(dir, name));
  return { dir, file: join(dir, name) };
}

function script(text: string): { dir: string; file: string } {
  const dir = tempDir('cmdrun-run-');
  writeFileSync(join(dir, 's.sh'), text);
  return { dir, file: join(dir, 's.sh') };
}

const cmdrun = (args: string[], cwd: string, env?: NodeJS.ProcessEnv) => exec(process.execPath, [BIN, ...args], cwd, env);

describe('cmdrun run prints the same bytes and exits with the same status as bash', () => {
  test.each(readdirSync(FIXTURES).filter((n) => n.endsWith('.sh')))('%s', (name) => {
    const viaBash = copyOf(name);
    const expected = exec('bash', ['-c', `bash ${name} 2>&1`], viaBash.dir);
    const viaCmdrun = copyOf(name);
    const actual = cmdrun(['run', '--quiet', name], viaCmdrun.dir);
    expect(actual.stdout).toBe(expected.stdout); // decoded: a readable difference
    expect(digest(actual.bytes)).toBe(digest(expected.bytes)); // and byte for byte
    expect(actual.status).toBe(expected.status);
    expect(actual.stderr).toBe('');
    expect(readdirSync(viaCmdrun.dir).sort()).toEqual(readdirSync(viaBash.dir).sort()); // same files left behind
  });

  test('the fixtures cover failing and succeeding scripts', () => {
    const statuses = readdirSync(FIXTURES)
      .filter((n) => n.endsWith('.sh'))
      .map((n) => exec('bash', [n], copyOf(n).dir).status);
    expect(statuses).toContain(0);
    expect(statuses.some((s) => s !== 0)).toBe(true);
  });
});

describe('over ssh, the same bytes as bash prints here', () => {
  let sshd: Sshd;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  test.each(['invalid-utf8.sh', 'latin1.sh', 'random-bytes.sh'])('%s', (name) => {
    const viaBash = copyOf(name);
    const expected = exec('bash', ['-c', `bash ${name} 2>&1`], viaBash.dir);
    const viaCmdrun = copyOf(name);
    const actual = cmdrun(['run', '--quiet', '--no-history', '--on', `ssh://${sshd.host}`, '--cwd', viaCmdrun.dir, name], viaCmdrun.dir, { ...process.env, CMDRUN_SSH_COMMAND: sshd.sshCommand });
    expect(actual.stderr).toBe('');
    expect(actual.stdout).toBe(expected.stdout);
    expect(digest(actual.bytes)).toBe(digest(expected.bytes));
    expect(actual.status).toBe(expected.status);
  });
});

describe('cmdrun run', () => {
  const three = '# %% one\necho 1\n# %% two\necho 2; (exit 4)\n# %% three\necho 3\n';

  test('stops at the first failing block with its status; headers go to stderr', () => {
    const { dir } = script(three);
    const r = cmdrun(['run', 's.sh'], dir);
    expect(r.status).toBe(4);
    expect(r.stdout).toBe('1\n2\n');
    expect(r.stderr).toBe('── [1/3] one (s.sh:2)\n── [2/3] two (s.sh:4)\n');
  });

  test('--keep-going runs every block and exits with the first failure', () => {
    const { dir } = script(three);
    const r = cmdrun(['run', '--keep-going', '--quiet', 's.sh'], dir);
    expect(r).toMatchObject({ status: 4, stdout: '1\n2\n3\n', stderr: '' });
  });

  test('--from, --to and --block select blocks', () => {
    const { dir } = script(three);
    expect(cmdrun(['run', '--quiet', '--from', '3', 's.sh'], dir)).toMatchObject({ status: 0, stdout: '3\n' });
    expect(cmdrun(['run', '--quiet', '--to', '1', 's.sh'], dir)).toMatchObject({ status: 0, stdout: '1\n' });
    expect(cmdrun(['run', '--quiet', '--block', 'three', 's.sh'], dir)).toMatchObject({ status: 0, stdout: '3\n' });
    const missing = cmdrun(['run', '--block', 'four', 's.sh'], dir);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('cmdrun: no block titled "four" (titles: "one", "two", "three")\n');
  });

  test('--json prints one JSON line per event', () => {
    const { dir } = script('echo hi\n\nfalse\n');
    const r = cmdrun(['run', '--json', 's.sh'], dir);
    expect(r.status).toBe(1);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; text?: string; exitCode?: number });
    expect(events.map((e) => e.event)).toEqual(['start', 'output', 'end', 'start', 'end']);
    expect(events[1].text).toBe('hi\n');
    expect(events[4].exitCode).toBe(1);
  });

  test('--timeout interrupts a block that runs too long and reports it', () => {
    const { dir } = script('echo start\nsleep 30\n\necho next\n');
    const r = cmdrun(['run', '--quiet', '--timeout', '0.5', 's.sh'], dir);
    expect(r.status).toBe(124);
    expect(r.stdout).toMatch(/^start\n/);
    expect(r.stderr).toBe('cmdrun: block 1 (s.sh:1) timed out after 0.5 s\n');
  });

  test('colours are kept by default and stripped with --no-color or NO_COLOR', () => {
    const { dir } = script("printf '\\033[31mred\\033[0m\\n'\n");
    expect(cmdrun(['run', '--quiet', 's.sh'], dir).stdout).toBe('\x1b[31mred\x1b[0m\n');
    expect(cmdrun(['run', '--quiet', '--no-color', 's.sh'], dir).stdout).toBe('red\n');
    expect(cmdrun(['run', '--quiet', 's.sh'], dir, { ...process.env, NO_COLOR: '1' }).stdout).toBe('red\n');
  });

  test('other shells: --shell zsh and --shell sh', () => {
    const { dir } = script('x=5\n\necho "x=$x"\n');
    expect(cmdrun(['run', '--quiet', '--shell', 'zsh', 's.sh'], dir)).toMatchObject({ status: 0, stdout: 'x=5\n' });
    expect(cmdrun(['run', '--quiet', '--shell', 'sh', 's.sh'], dir)).toMatchObject({ status: 0, stdout: 'x=5\n' });
  });

  test.each([
    [['run'], /missing required argument 'file'/],
    [['run', 'no-such-file.sh'], /no-such-file\.sh: no such file/],
    [['run', '.'], /is a directory/],
    [['run', '--shell', 'fish', 's.sh'], /unsupported shell "fish"/],
    [['run', '--from', 'x', 's.sh'], /--from/],
    [['run', '--from', '9', 's.sh'], /--from 9: the script has 1 blocks/],
  ])('usage error %j: one line, exit 2', (args, message) => {
    const { dir } = script('echo hi\n');
    const r = cmdrun(args as string[], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
