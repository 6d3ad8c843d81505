// `cmdrun run RUNBOOK.md --write-outputs` / `--clear-outputs`: outputs written into the runbook
// under each fence by the real CLI and a real bash, read back from the file on disk.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const cmdrun = (args: string[], cwd: string) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** A folder holding `name` with `text`; returns the file's path. */
function file(name: string, text: string): string {
  const path = join(tempDir('cmdrun-outputs-'), name);
  writeFileSync(path, text);
  return path;
}

const md = (...lines: string[]) => lines.join('\n') + '\n';
const read = (path: string) => readFileSync(path, 'utf8');
/** The marker line of an output region, time and duration left out. */
const MARKER = /^<!-- cmdrun-output block="([^"]*)" exit=(\S+) duration="[^"]+" time="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d" -->$/;

const RUNBOOK = md(
  '# Greet',
  '',
  'Some prose.',
  '',
  '```sh {name=hello}',
  'echo hello',
  "printf 'working...\\rdone      \\n'",
  "printf '\\033[1;31mred\\033[0m\\n'",
  '```',
  'A paragraph right after the fence.',
  '',
  '## Count',
  '',
  '```bash',
  'cat count 2>/dev/null || echo none',
  '```',
);

describe('cmdrun run --write-outputs', () => {
  test('writes each output after its fence, as the terminal shows it; a second run changes nothing; --clear-outputs gives the runbook back byte for byte', () => {
    const path = file('RUNBOOK.md', RUNBOOK);
    const dir = join(path, '..');
    const r = cmdrun(['run', '--quiet', '--write-outputs', 'RUNBOOK.md'], dir);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const once = read(path);
    const lines = once.split('\n');
    // After the first fence: a blank line, the marker, the output fence; then the paragraph as it was.
    expect(lines.slice(8, 16)).toEqual(['```', '', lines[10], '```text', 'hello', 'done', 'red', '```']);
    expect(MARKER.exec(lines[10])?.slice(1)).toEqual(['hello', '0']);
    expect(lines[16]).toBe('A paragraph right after the fence.');
    expect(lines.slice(-6)).toEqual(['', lines.at(-5), '```text', 'none', '```', '']);
    expect(MARKER.exec(lines.at(-5)!)?.slice(1)).toEqual(['Count', '0']);
    // The document is still the same blocks: the output fences never run.
    expect(cmdrun(['run', '--list', 'RUNBOOK.md'], dir).stdout).toBe('[1] hello (RUNBOOK.md:5-9)\n[2] Count (RUNBOOK.md:21-23)\n');

    expect(cmdrun(['run', '--quiet', '--write-outputs', 'RUNBOOK.md'], dir).status).toBe(0);
    expect(read(path)).toBe(once);

    expect(cmdrun(['run', '--clear-outputs', 'RUNBOOK.md'], dir)).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(read(path)).toBe(RUNBOOK);
  });

  test('a new output replaces the old one; a block that did not run keeps its own', () => {
    const path = file('RUNBOOK.md', RUNBOOK);
    const dir = join(path, '..');
    expect(cmdrun(['run', '--quiet', '--write-outputs', 'RUNBOOK.md'], dir).status).toBe(0);
    writeFileSync(join(dir, 'count'), '2\n');
    expect(cmdrun(['run', '--quiet', '--write-outputs', '--block', 'Count', 'RUNBOOK.md'], dir).status).toBe(0);
    const text = read(path);
    expect(text).toContain('```text\nhello\ndone\nred\n```\n');
    expect(text).toContain('```text\n2\n```\n');
    expect(text).not.toContain('```text\nnone');
    expect(text.match(/cmdrun-output/g)).toHaveLength(2);
  });

  test('a failing block writes its output and exit status; the run still exits with it', () => {
    const path = file('f.md', md('```sh', 'echo partial; exit 3', '```'));
    expect(cmdrun(['run', '--quiet', '--write-outputs', 'f.md'], join(path, '..')).status).toBe(3);
    const lines = read(path).split('\n');
    expect(MARKER.exec(lines[4])?.slice(1)).toEqual(['block 1', '3']);
    expect(lines.slice(5)).toEqual(['```text', 'partial', '```', '']);
  });

  test('a CRLF runbook keeps CRLF everywhere, and its last line without a break stays without one', () => {
    const source = '# T\r\n\r\n```sh\r\necho one\r\necho two\r\n```\r\n\r\nEnd\r\n\r\n```sh\r\necho last\r\n```';
    const path = file('crlf.md', source);
    const dir = join(path, '..');
    expect(cmdrun(['run', '--quiet', '--write-outputs', 'crlf.md'], dir).status).toBe(0);
    const written = read(path);
    expect(written.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(written).toMatch(/```\r\n\r\n<!-- cmdrun-output [^\r\n]+ -->\r\n```text\r\none\r\ntwo\r\n```\r\n\r\nEnd\r\n/);
    expect(written).toMatch(/```\r\n\r\n<!-- cmdrun-output [^\r\n]+ -->\r\n```text\r\nlast\r\n```$/);
    expect(cmdrun(['run', '--quiet', '--write-outputs', 'crlf.md'], dir).status).toBe(0);
    expect(read(path)).toBe(written);
    expect(cmdrun(['run', '--clear-outputs', 'crlf.md'], dir).status).toBe(0);
    expect(read(path)).toBe(source);
  });

  test('an output holding fences gets a longer fence, and the runbook still splits into the same blocks', () => {
    const source = md('````sh', "printf '```sh\\necho inner\\n```\\n````\\nafter\\n'", '````', '', '```sh', 'echo second', '```');
    const path = file('fences.md', source);
    const dir = join(path, '..');
    expect(cmdrun(['run', '--quiet', '--write-outputs', 'fences.md'], dir).status).toBe(0);
    const written = read(path);
    expect(written).toContain('`````text\n```sh\necho inner\n```\n````\nafter\n`````\n');
    expect(cmdrun(['run', '--list', 'fences.md'], dir).stdout).toBe('[1] printf \'```sh\\necho inner\\n```\\n````\\nafter\\n\' (fences.md:1-3)\n[2] echo second (fences.md:14-16)\n');
    expect(cmdrun(['run', '--quiet', '--write-outputs', 'fences.md'], dir)).toMatchObject({ status: 0, stdout: '```sh\necho inner\n```\n````\nafter\nsecond\n' });
    expect(read(path)).toBe(written);
    expect(cmdrun(['run', '--clear-outputs', 'fences.md'], dir).status).toBe(0);
    expect(read(path)).toBe(source);
  });

  test('fences in a block quote and a list item get their output inside the same container', () => {
    const source = md('> ```sh', '> echo quoted', '> ```', '', '1. Step:', '', '   ```sh', '   printf "a\\n\\nb\\n"', '   ```', '', '2. Next');
    const path = file('nested.md', source);
    const dir = join(path, '..');
    expect(cmdrun(['run', '--quiet', '--write-outputs', 'nested.md'], dir).status).toBe(0);
    const lines = read(path).split('\n');
    expect(lines.slice(2, 7)).toEqual(['> ```', '>', expect.stringMatching(/^> <!-- cmdrun-output /), '> ```text', '> quoted']);
    expect(lines.slice(7, 8)).toEqual(['> ```']);
    expect(lines.slice(13, 21)).toEqual(['   ```', '', expect.stringMatching(/^ {3}<!-- cmdrun-output /), '   ```text', '   a', '', '   b', '   ```']);
    expect(cmdrun(['run', '--quiet', '--write-outputs', 'nested.md'], dir).status).toBe(0);
    expect(read(path).split('\n')).toEqual(lines);
    expect(cmdrun(['run', '--clear-outputs', 'nested.md'], dir).status).toBe(0);
    expect(read(path)).toBe(source);
  });

  test('--write-outputs-lines N keeps the first and last lines and says how many were left out', () => {
    const path = file('long.md', md('```sh', 'seq 1 100', '```'));
    expect(cmdrun(['run', '--quiet', '--write-outputs', '--write-outputs-lines', '5', 'long.md'], join(path, '..')).status).toBe(0);
    expect(read(path).split('\n').slice(5)).toEqual(['```text', '1', '2', '3', '… 95 lines left out …', '99', '100', '```', '']);
    // Past what a terminal keeps (10,000 lines), the first lines are still the output's first.
    writeFileSync(path, md('```sh', 'seq 1 30000', '```'));
    expect(cmdrun(['run', '--quiet', '--write-outputs', '--write-outputs-lines', '4', 'long.md'], join(path, '..')).status).toBe(0);
    expect(read(path).split('\n').slice(5)).toEqual(['```text', '1', '2', '… 29996 lines left out …', '29999', '30000', '```', '']);
  });

  test('a runbook changed on disk during the run is left as the other program wrote it, with exit status 1', () => {
    const path = file('self.md', md('```sh', 'echo "appended by the block" >> self.md', 'echo ran', '```'));
    const r = cmdrun(['run', '--quiet', '--write-outputs', 'self.md'], join(path, '..'));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('ran\n');
    expect(r.stderr).toBe('cmdrun: self.md changed on disk since the run read it: outputs not written (the file is as the other program left it)\n');
    expect(read(path)).toBe(md('```sh', 'echo "appended by the block" >> self.md', 'echo ran', '```', 'appended by the block'));
  });

  test("a runbook's written outputs are no prose in its transcript: the run's own output is there once", () => {
    const path = file('RUNBOOK.md', RUNBOOK);
    const dir = join(path, '..');
    expect(cmdrun(['run', '--quiet', '--write-outputs', 'RUNBOOK.md'], dir).status).toBe(0);
    expect(cmdrun(['run', '--quiet', '--report', 'out.md', 'RUNBOOK.md'], dir).status).toBe(0);
    const transcript = read(join(dir, 'out.md'));
    expect(transcript).not.toContain('<!-- cmdrun-output');
    expect(transcript.match(/^hello$/gm)).toHaveLength(1);
    expect(transcript).toContain('A paragraph right after the fence.');
  });

  test('a fence never closed has no place for its output: said on stderr, the others written', () => {
    const path = file('open.md', md('```sh', 'echo closed', '```', '', '```sh', 'echo open'));
    const r = cmdrun(['run', '--quiet', '--write-outputs', 'open.md'], join(path, '..'));
    expect(r).toMatchObject({ status: 0, stdout: 'closed\nopen\n', stderr: 'cmdrun: open.md:5: the fence is never closed: its output has no place in the document\n' });
    expect(read(path)).toMatch(/^```sh\necho closed\n```\n\n<!-- cmdrun-output [^\n]+ -->\n```text\nclosed\n```\n\n```sh\necho open\n$/);
  });

  test('a shell script has no place for outputs: a usage error, the script untouched', () => {
    const path = file('s.sh', 'echo hi\n');
    const r = cmdrun(['run', '--write-outputs', 's.sh'], join(path, '..'));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('cmdrun: s.sh: only Markdown runbooks and notebooks keep outputs (a shell script has no place for them; use --report)\n');
    expect(read(path)).toBe('echo hi\n');
  });
});
