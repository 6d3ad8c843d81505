import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

/** Runs a command to completion with no stdin; stdout and stderr apart. */
function exec(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const cmdrun = (args: string[], cwd: string) => exec(process.execPath, [BIN, ...args], cwd);

/** A fresh folder with `files` written in it. */
function folder(files: Record<string, string>): string {
  const dir = tempDir('cmdrun-md-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const md = (...lines: string[]) => lines.join('\n') + '\n';

/** A runbook with every kind of fence, and the bash script its runnable, not excluded fences make. */
const RUNBOOK = md(
  '# Deploy',
  '',
  'Prose with `echo never` in it.',
  '',
  '```sh {name=setup}',
  'export GREETING="hello"',
  'mkdir -p work && cd work',
  'say() { echo "$GREETING, $1"; }',
  '```',
  '',
  '```yaml',
  'echo: "data never runs"',
  '```',
  '',
  '## Check',
  '',
  '```console',
  '$ say world',
  'hello, world',
  '$ printf "%s\\n" "a',
  '> b" | tr a-z A-Z',
  'A',
  'B',
  '```',
  '',
  '1. In a list:',
  '',
  '   ~~~bash',
  '   basename "$PWD"',
  '   if true; then',
  '     echo indented',
  '   fi',
  '   ~~~',
  '',
  '> ```shell',
  '> cat <<EOF',
  '> quoted $GREETING',
  '> EOF',
  '> ```',
  '',
  '```sh { name=dangerous excludeFromRunAll=true }',
  'echo "this only runs when asked for"',
  '```',
  '',
  '## Finish',
  '',
  '```sh',
  'echo "done in $(basename "$PWD")"',
  '```',
);
const RUNBOOK_AS_BASH = [
  'export GREETING="hello"',
  'mkdir -p work && cd work',
  'say() { echo "$GREETING, $1"; }',
  'say world',
  'printf "%s\\n" "a',
  'b" | tr a-z A-Z',
  'basename "$PWD"',
  'if true; then',
  '  echo indented',
  'fi',
  'cat <<EOF',
  'quoted $GREETING',
  'EOF',
  'echo "done in $(basename "$PWD")"',
  '',
].join('\n');

describe('cmdrun run on a Markdown runbook', () => {
  test('prints what its runnable fences print when bash runs their code in order; prose, data and excluded fences do not run', () => {
    const viaBash = folder({ 'expected.sh': RUNBOOK_AS_BASH });
    const expected = exec('bash', ['-c', 'bash expected.sh 2>&1'], viaBash);
    expect(expected.stdout).toBe('hello, world\nA\nB\nwork\nindented\nquoted hello\ndone in work\n');
    const dir = folder({ 'RUNBOOK.md': RUNBOOK });
    const r = cmdrun(['run', '--quiet', 'RUNBOOK.md'], dir);
    expect(r).toMatchObject({ status: 0, stdout: expected.stdout, stderr: '' });
  });

  test('headers name each block by its fence name or heading, at its first code line', () => {
    const r = cmdrun(['run', 'RUNBOOK.md'], folder({ 'RUNBOOK.md': RUNBOOK }));
    expect(r.stderr).toBe(
      ['── [1/5] setup (RUNBOOK.md:6)', '── [2/5] Check (RUNBOOK.md:18)', '── [3/5] Check (RUNBOOK.md:29)', '── [4/5] Check (RUNBOOK.md:36)', '── [5/5] Finish (RUNBOOK.md:48)', ''].join('\n'),
    );
  });

  test('--block runs the fences with that name or under that heading; an excluded fence runs when named', () => {
    const dir = folder({ 'RUNBOOK.md': RUNBOOK });
    expect(cmdrun(['run', '--quiet', '--block', 'dangerous', 'RUNBOOK.md'], dir)).toMatchObject({ status: 0, stdout: 'this only runs when asked for\n' });
    expect(cmdrun(['run', '--quiet', '--block', 'Finish', 'RUNBOOK.md'], dir)).toMatchObject({ status: 0, stdout: `done in ${dir.split('/').pop()}\n` });
    // A named fence under a heading is found by either.
    expect(cmdrun(['run', '--quiet', '--block', 'Deploy', 'RUNBOOK.md'], dir)).toMatchObject({ status: 0, stdout: '' });
    expect(readdirSync(dir)).toContain('work');
    const missing = cmdrun(['run', '--block', 'nope', 'RUNBOOK.md'], dir);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('cmdrun: no block titled "nope" (titles: "setup", "Deploy", "Check", "dangerous", "Finish")\n');
  });

  test('--from and --to count every block, excluded ones too, and still skip those', () => {
    const dir = folder({ 'RUNBOOK.md': RUNBOOK });
    expect(cmdrun(['run', '--quiet', '--from', '5', 'RUNBOOK.md'], dir)).toMatchObject({ status: 0, stdout: `done in ${dir.split('/').pop()}\n` });
    expect(cmdrun(['run', '--quiet', '--from', '5', '--to', '5', 'RUNBOOK.md'], dir)).toMatchObject({ status: 0, stdout: '' });
  });

  test('a failing fence stops the run with its status, as in a script', () => {
    const dir = folder({ 'f.md': md('```sh', 'echo one', '```', '```sh', '(exit 3)', '```', '```sh', 'echo never', '```') });
    expect(cmdrun(['run', '--quiet', 'f.md'], dir)).toMatchObject({ status: 3, stdout: 'one\n' });
  });

  test('a CRLF runbook runs without carriage returns in its code', () => {
    const dir = folder({ 'crlf.md': '# T\r\n\r\n```sh\r\nx=1\r\necho "x=$x."\r\n```\r\n' });
    expect(cmdrun(['run', '--quiet', 'crlf.md'], dir)).toMatchObject({ status: 0, stdout: 'x=1.\n' });
  });

  test('.markdown and .mdx files are runbooks too', () => {
    const text = md('text', '```sh', 'echo fenced', '```');
    const dir = folder({ 'a.markdown': text, 'b.mdx': text });
    expect(cmdrun(['run', '--quiet', 'a.markdown'], dir).stdout).toBe('fenced\n');
    expect(cmdrun(['run', '--quiet', 'b.mdx'], dir).stdout).toBe('fenced\n');
  });
});

/** A runbook as Runme's CLI testdata writes them: `$ ` before the commands of sh and bash fences. */
const RUNME = md(
  '# Runme',
  '',
  '```sh {"name":"file"}',
  '$ cat > somefile << EOF',
  'line1',
  'line2',
  'EOF',
  '$ cat somefile',
  '```',
  '',
  '```bash {"name":"set-env"}',
  '$ export ENV="foo!"',
  '```',
  '',
  'A transcript with its output:',
  '',
  '```bash {"name":"print-env"}',
  '# print it',
  '$ echo "$ENV"',
  'foo!',
  "$ echo \"${#ENV} chars\"",
  '4 chars',
  '```',
  '',
  '```shellscript {"name":"vscode"}',
  'echo "from a shellscript fence"',
  '```',
);

describe('Runme runbooks', () => {
  test('$ prompts in sh and bash fences are removed and their output lines do not run; shellscript fences run', () => {
    const dir = folder({ 'README.md': RUNME });
    const r = cmdrun(['run', '--quiet', 'README.md'], dir);
    expect(r).toMatchObject({ status: 0, stdout: 'line1\nline2\nfoo!\n4 chars\nfrom a shellscript fence\n', stderr: '' });
  });

  test('--block given several times runs each named block once, in document order', () => {
    const dir = folder({ 'README.md': RUNME });
    const r = cmdrun(['run', '--block', 'print-env', '--block', 'set-env', '--block', 'vscode', '--block', 'set-env', 'README.md'], dir);
    expect(r).toMatchObject({ status: 0, stdout: 'foo!\n4 chars\nfrom a shellscript fence\n' });
    expect(existsSync(join(dir, 'somefile'))).toBe(false);
    expect(r.stderr).toBe(['── [1/3] set-env (README.md:12)', '── [2/3] print-env (README.md:19)', '── [3/3] vscode (README.md:26)', ''].join('\n'));
    const missing = cmdrun(['run', '--block', 'set-env', '--block', 'nope', '--block', 'gone', 'README.md'], dir);
    expect(missing).toMatchObject({ status: 2, stdout: '' });
    expect(missing.stderr).toBe('cmdrun: no block titled "nope", "gone" (titles: "file", "Runme", "set-env", "print-env", "vscode")\n');
  });
});

describe('cmdrun run --list', () => {
  test('a runbook: number, title and lines (opening to closing fence) of each block; nothing runs', () => {
    const dir = folder({ 'RUNBOOK.md': RUNBOOK });
    const r = cmdrun(['run', '--list', 'RUNBOOK.md'], dir);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout).toBe(
      [
        '[1] setup (RUNBOOK.md:5-9) asks GREETING',
        '[2] Check (RUNBOOK.md:17-24)',
        '[3] Check (RUNBOOK.md:28-33)',
        '[4] Check (RUNBOOK.md:35-39)',
        '[5] dangerous (RUNBOOK.md:41-43) excluded from run all',
        '[6] Finish (RUNBOOK.md:47-49)',
        '',
      ].join('\n'),
    );
    expect(existsSync(join(dir, 'work'))).toBe(false);
  });

  test('a shell script: its # %% titles or first lines', () => {
    const dir = folder({ 's.sh': '# %% one\necho 1\n# %% two\necho 2\n\n# %%\ntouch ran\n' });
    expect(cmdrun(['run', '--list', 's.sh'], dir)).toMatchObject({ status: 0, stdout: '[1] one (s.sh:1-2)\n[2] two (s.sh:3-4)\n[3] touch ran (s.sh:6-7)\n' });
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  test('interpreter fences say what runs them', () => {
    const dir = folder({ 'p.md': md('```python', 'print(1)', '```', '```js', 'console.log(1)', '```') });
    expect(cmdrun(['run', '--list', 'p.md'], dir).stdout).toBe('[1] print(1) (p.md:1-3) python3\n[2] console.log(1) (p.md:4-6) node\n');
  });
});

describe('interpreter fences', () => {
  test("a python fence runs python3 in the session: the shell's cwd and exported variables", () => {
    const dir = folder({
      'py.md': md('```sh', 'export WHO="world"', 'mkdir -p sub && cd sub', '```', '```python', 'import os', 'print("hello", os.environ["WHO"], "in", os.path.basename(os.getcwd()))', '```', '```sh', 'echo "back in $(basename "$PWD")"', '```'),
    });
    expect(cmdrun(['run', '--quiet', 'py.md'], dir)).toMatchObject({ status: 0, stdout: 'hello world in sub\nback in sub\n' });
  });

  test('a failing python fence stops the run with its exit status', () => {
    const dir = folder({ 'py.md': md('```py', 'import sys', 'print("before")', 'sys.exit(5)', '```', '```sh', 'echo never', '```') });
    expect(cmdrun(['run', '--quiet', 'py.md'], dir)).toMatchObject({ status: 5, stdout: 'before\n' });
  });

  test('a node fence runs node', () => {
    const dir = folder({ 'js.md': md('```js', 'console.log(typeof process.env.HOME, 6 * 7)', '```') });
    // node colours numbers on a terminal, as it does in one.
    expect(cmdrun(['run', '--quiet', '--no-color', 'js.md'], dir)).toMatchObject({ status: 0, stdout: 'string 42\n' });
  });
});

describe('examples/runbook.md', () => {
  test('runs from start to end, skipping its excluded fence, and cleans up after itself', () => {
    const r = cmdrun(['run', '--quiet', '--no-color', 'runbook.md'], EXAMPLES);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split(/\r?\n/);
    expect(lines[0]).toMatch(/^work area: \/.*\/logs$/);
    expect(r.stdout).toContain('3 logs, 3 errors, in LOG_DIR: True\n');
    expect(r.stdout).toContain('./app-2026-11-03.log\n');
    expect(r.stdout).not.toContain("removed './app");
    expect(r.stdout.endsWith('removed the work area\n')).toBe(true);
    expect(existsSync(lines[0].replace('work area: ', ''))).toBe(false);
  });
});
