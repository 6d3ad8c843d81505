import { beforeAll, describe, expect, test } from 'vitest';
import { isTranscript } from '../../src/blocks/console.js';
import { documentKind, type BlockSplitter, type Splitters } from '../../src/blocks/parser.js';
import { blockLines } from '../../src/blocks/split.js';
import { nodeSplitters } from '../helpers/grammar.js';

let splitters: Splitters;
let split: BlockSplitter;
beforeAll(async () => {
  splitters = await nodeSplitters();
  split = splitters.forFile('RUNBOOK.md');
});

const md = (...lines: string[]) => lines.join('\n');
/** [code, fence open line, close line] of each block. */
const fences = (source: string) => split(source).map((b) => [b.code, b.fence?.openLine, b.fence?.closeLine]);

describe('the splitter is picked by file name', () => {
  test('.md, .markdown and .mdx are Markdown (any case); everything else is shell', () => {
    expect(['a.md', 'docs/RUNBOOK.MD', 'x.markdown', 'page.mdx'].map(documentKind)).toEqual(['markdown', 'markdown', 'markdown', 'markdown']);
    expect(['deploy.sh', 'Makefile', 'notes.txt', 'md', 'x.md.sh'].map(documentKind)).toEqual(['shell', 'shell', 'shell', 'shell', 'shell']);
  });

  test('a .sh file keeps the shell rules: the same text splits differently', () => {
    const text = md('echo a', '', '~~~sh', 'echo b', '~~~');
    expect(splitters.forFile('x.sh')(text).map((b) => b.code)).toEqual(['echo a', '~~~sh\necho b\n~~~']);
    expect(splitters.forFile('x.md')(text).map((b) => b.code)).toEqual(['echo b']);
  });
});

describe('fences follow CommonMark (section 4.5)', () => {
  test('prose is no block; a backtick fence is one, with its lines', () => {
    const text = md('# Title', '', 'Some prose with `echo inline`.', '', '```sh', 'echo one', 'echo two', '```', '', 'More prose.');
    const [block, ...rest] = split(text);
    expect(rest).toEqual([]);
    expect(block).toMatchObject({ index: 0, code: 'echo one\necho two', lineStart: 6, lineEnd: 7, markerLine: 5, title: 'Title' });
    expect(block.fence).toEqual({ openLine: 5, closeLine: 8, closed: true, language: 'sh', attributes: {} });
    expect(blockLines(block)).toEqual({ first: 5, last: 8 });
  });

  test('tilde fences, and a closing fence longer than the opening one', () => {
    expect(fences(md('~~~bash', 'echo t', '~~~~~~', '', '```sh', 'echo b', '`````'))).toEqual([
      ['echo t', 1, 3],
      ['echo b', 5, 7],
    ]);
  });

  test('a shorter closing fence, or one of the other character, does not close it', () => {
    expect(fences(md('````sh', 'echo a', '```', '~~~~', 'echo b', '````'))).toEqual([['echo a\n```\n~~~~\necho b', 1, 6]]);
  });

  test('a ```` fence that contains ``` is one block, the inner fence its code', () => {
    expect(fences(md('````sh', 'cat <<EOF', '```', 'inner', '```', 'EOF', '````'))).toEqual([['cat <<EOF\n```\ninner\n```\nEOF', 1, 7]]);
  });

  test('up to 3 spaces of indentation: removed from the code up to that many; 4 spaces is indented code, not a fence', () => {
    expect(fences(md('   ```sh', '   echo three', '     echo five', ' echo one', '   ```'))).toEqual([['echo three\n  echo five\necho one', 1, 5]]);
    expect(split(md('    ```sh', '    echo not a fence', '    ```'))).toEqual([]);
  });

  test('an unclosed fence runs to the end of the document', () => {
    const blocks = split(md('intro', '', '```sh', 'echo a', '', 'echo b', ''));
    expect(blocks.map((b) => [b.code, b.lineStart, b.lineEnd])).toEqual([['echo a\n\necho b', 4, 6]]);
    expect(blocks[0].fence).toMatchObject({ openLine: 3, closed: false });
  });

  test('a fence in a block quote: the quote markers are not code', () => {
    const blocks = split(md('> Note:', '>', '> ```sh', '> echo quoted', '>   echo indented', '> ```', '', 'after'));
    expect(blocks.map((b) => [b.code, b.lineStart, b.lineEnd, b.fence?.closeLine])).toEqual([['echo quoted\n  echo indented', 4, 5, 6]]);
  });

  test('fences in list items: the item indentation is not code; the fence ends with its item', () => {
    const text = md('1. Install:', '', '   ```sh', '   npm install', '     --verbose', '   ```', '2. Run:', '   ```bash', '   npm start', '   ```');
    expect(fences(text)).toEqual([
      ['npm install\n  --verbose', 3, 6],
      ['npm start', 8, 10],
    ]);
    const nested = md('- outer', '  - inner', '    ```sh', '    echo deep', '    ```');
    expect(fences(nested)).toEqual([['echo deep', 3, 5]]);
  });

  test('a fence indented inside its list item: the extra indentation is removed as well', () => {
    expect(fences(md('- item', '', '   ```sh', '   echo a', '     echo b', '   ```'))).toEqual([['echo a\n  echo b', 3, 6]]);
  });

  test('CRLF and lone CR line breaks count as one line each; the code has none', () => {
    const crlf = split('# T\r\n\r\n```sh\r\necho a\r\n\r\necho b\r\n```\r\nprose\r\n');
    expect(crlf.map((b) => [b.code, b.lineStart, b.lineEnd, b.fence?.closeLine, b.title])).toEqual([['echo a\n\necho b', 4, 6, 7, 'T']]);
    expect(split('```sh\recho cr\r```\r').map((b) => [b.code, b.lineStart])).toEqual([['echo cr', 2]]);
  });

  test('a fence without code, or only blank lines, is no block', () => {
    expect(split(md('```sh', '```', '', '```bash', '', '   ', '```'))).toEqual([]);
  });

  test('blank lines around the code are not part of it; blank lines inside are', () => {
    expect(split(md('```sh', '', 'echo a', '', 'echo b', '', '```')).map((b) => [b.code, b.lineStart, b.lineEnd])).toEqual([['echo a\n\necho b', 3, 5]]);
  });
});

describe('which fences run (the first word of the info string)', () => {
  test('sh, bash, shell and zsh run in the shell; the language is compared without case', () => {
    const text = ['sh', 'bash', 'shell', 'zsh', 'Bash'].map((lang, i) => md('```' + lang, `echo ${i}`, '```')).join('\n\n');
    expect(split(text).map((b) => [b.code, b.fence?.language, b.interpreter])).toEqual([
      ['echo 0', 'sh', undefined],
      ['echo 1', 'bash', undefined],
      ['echo 2', 'shell', undefined],
      ['echo 3', 'zsh', undefined],
      ['echo 4', 'Bash', undefined],
    ]);
  });

  test("shellscript (VS Code's name, which Runme runs) is a shell fence; sh-session is a transcript", () => {
    expect(split(md('```shellscript', 'echo vs', '```')).map((b) => [b.code, b.interpreter])).toEqual([['echo vs', undefined]]);
    expect(split(md('```sh-session', '$ echo hi', 'hi', '```')).map((b) => b.code)).toEqual(['echo hi']);
  });

  test('data and other languages never run: yaml, json, text, diff, no language, indented code', () => {
    const text = ['yaml', 'json', 'text', 'diff', 'go', 'shx', ''].map((lang) => md('```' + lang, 'echo no', '```')).join('\n\n');
    expect(split(text + '\n\n    echo indented\n')).toEqual([]);
  });

  test('a fence inside an HTML comment, or in inline code, is no fence', () => {
    expect(split(md('<!--', '```sh', 'echo hidden', '```', '-->', '', 'Run `` ```sh echo inline ``` `` like this.'))).toEqual([]);
  });

  test('interpreter fences name their program', () => {
    const langs = ['python', 'py', 'node', 'js', 'javascript', 'ruby', 'perl'];
    const text = langs.map((lang) => md('```' + lang, `print(1)`, '```')).join('\n\n');
    expect(split(text).map((b) => b.interpreter)).toEqual(['python3', 'python3', 'node', 'node', 'node', 'ruby', 'perl']);
  });

  test('a python fence keeps its indentation (the code is the fence content as written)', () => {
    const code = md('import os', 'for k in ("HOME",):', '    print(os.environ[k])');
    expect(split(md('```python', code, '```'))[0]).toMatchObject({ code, interpreter: 'python3', lineStart: 2 });
  });
});

describe('console and shell-session fences: only the command lines run', () => {
  test('$ lines run without the prompt; output lines are blank in the code, so line numbers stay', () => {
    const text = md('```console', '$ echo hello', 'hello', '$ ls /', 'bin', 'etc', '```');
    const [block] = split(text);
    expect(block).toMatchObject({ code: 'echo hello\n\nls /', lineStart: 2, lineEnd: 4 });
    expect(split(text.replace('console', 'shell-session'))[0].code).toBe('echo hello\n\nls /');
  });

  test('output before the first prompt and after the last command is left out', () => {
    const [block] = split(md('```console', 'Last login: today', '$ whoami', 'me', '```'));
    expect(block).toMatchObject({ code: 'whoami', lineStart: 3, lineEnd: 3 });
  });

  test('a trailing backslash continues the command', () => {
    expect(split(md('```console', '$ docker run \\', '    --rm alpine \\', '    echo hi', 'hi', '```'))[0].code).toBe('docker run \\\n    --rm alpine \\\n    echo hi');
  });

  test('an open quote continues it, with bash\'s "> " prompt removed', () => {
    expect(split(md('```console', '$ echo "one', '> two"', 'one', 'two', '```'))[0].code).toBe('echo "one\ntwo"');
    expect(split(md('```console', "$ echo 'a", "b'", 'a', '```'))[0].code).toBe("echo 'a\nb'");
  });

  test('a heredoc continues it up to its end line', () => {
    const plain = md('```console', '$ cat <<EOF', '> a', '> b', '> EOF', 'a', 'b', '$ echo done', 'done', '```');
    expect(split(plain)[0].code).toBe('cat <<EOF\na\nb\nEOF\n\n\necho done');
  });

  test('a new $ prompt always starts a new command, even after an unfinished one', () => {
    expect(split(md('```console', '$ echo "oops', '$ echo fine', 'fine', '```'))[0].code).toBe('echo "oops\necho fine');
  });

  test('an unfinished compound command continues it; a finished one does not', () => {
    const text = md('```console', '$ for i in 1 2; do', '>   echo $i', '> done', '1', '2', '```');
    expect(split(text)[0].code).toBe('for i in 1 2; do\n  echo $i\ndone');
  });

  test('a transcript without any prompt is no block', () => {
    expect(split(md('```console', 'just output', '```'))).toEqual([]);
  });

  test('isIncomplete comes from the bash grammar', () => {
    const incomplete = ['echo "a', "echo 'a", 'cat <<EOF\nx', 'echo a \\', 'if true; then', 'echo $(ls'];
    const complete = ['echo a', 'echo "a\nb"', 'cat <<EOF\nx\nEOF', 'echo a \\\n b', 'if true; then :; fi'];
    expect(incomplete.map(splitters.isIncomplete)).toEqual(incomplete.map(() => true));
    expect(complete.map(splitters.isIncomplete)).toEqual(complete.map(() => false));
  });
});

describe('shell fences written as transcripts (Runme runbooks): their $ lines run as in a console fence', () => {
  test('a sh or bash fence whose command lines start with "$ " runs them without the prompt, heredoc lines with them', () => {
    // As in Runme's CLI testdata (testdata/flags/fmt.txtar).
    const text = md('```sh {"name":"file"}', '$ cat > somefile << EOF', 'line1', 'line2', 'EOF', '$ cat somefile', '```');
    expect(split(text)[0]).toMatchObject({ code: 'cat > somefile << EOF\nline1\nline2\nEOF\ncat somefile', lineStart: 2, lineEnd: 6, name: 'file' });
    for (const lang of ['bash', 'shell', 'shellscript', 'zsh']) expect(split(text.replace('```sh', '```' + lang))[0].code).toBe(split(text)[0].code);
  });

  test('the other lines are example output: blank in the code, so line numbers stay', () => {
    const [block] = split(md('```bash', '# Say hello', '$ echo hello', 'hello', '$ whoami', 'me', '```'));
    expect(block).toMatchObject({ code: 'echo hello\n\nwhoami', lineStart: 3, lineEnd: 5 });
  });

  test('a fence whose first command line has no prompt runs as written, "$ " lines and all', () => {
    const heredoc = md('```sh', 'cat <<EOF', '$ not a prompt', 'EOF', '```');
    expect(split(heredoc)[0].code).toBe('cat <<EOF\n$ not a prompt\nEOF');
    expect(split(md('```sh', '$HOME/bin/setup', '$ echo x', '```'))[0].code).toBe('$HOME/bin/setup\n$ echo x');
    // An indented "$ " is no prompt (Runme's test is at the line's start).
    expect(split(md('```sh', '  $ echo x', '```'))[0].code).toBe('  $ echo x');
  });

  test('isTranscript: the first line neither blank nor a comment starts with "$ "', () => {
    expect([['$ ls'], ['', '# list', '$ ls'], ['  # c', '$ ls', 'a b']].map(isTranscript)).toEqual([true, true, true]);
    expect([['ls'], ['$'], ['$HOME/x'], [' $ ls'], ['echo', '$ ls'], [], ['# only']].map(isTranscript)).toEqual([false, false, false, false, false, false, false]);
  });
});

describe('fence attributes and titles', () => {
  test('key=value attributes: name titles the block, excludeFromRunAll marks it; unknown ones are kept', () => {
    const [block] = split(md('## Setup', '```sh { name=setup excludeFromRunAll=true interactive=false }', 'echo s', '```'));
    expect(block).toMatchObject({ name: 'setup', title: 'setup', excludeFromRunAll: true });
    expect(block.fence?.attributes).toEqual({ name: 'setup', excludeFromRunAll: 'true', interactive: 'false' });
  });

  test('JSON attributes', () => {
    const [block] = split(md('```bash {"name":"db","excludeFromRunAll":true,"on":"ssh://db1"}', 'echo d', '```'));
    expect(block).toMatchObject({ name: 'db', excludeFromRunAll: true });
    expect(block.fence?.attributes).toEqual({ name: 'db', excludeFromRunAll: 'true', on: 'ssh://db1' });
  });

  test('the on attribute names where the block runs (key=value or JSON); the title is unchanged', () => {
    const blocks = split(md(
      '## Replication', '```sh { name=check on="ssh://db1" }', 'echo 1', '```',
      '```bash {"on":"ssh://deploy@[::1]:2222"}', 'echo 2', '```',
      '```console { on=local }', '$ echo 3', '3', '```',
      '```python {on=ssh://db1}', 'print(4)', '```',
      '```sh', 'echo 5', '```',
    ));
    expect(blocks.map((b) => [b.title, b.on, b.onError])).toEqual([
      ['check', 'ssh://db1', undefined],
      ['Replication', 'ssh://deploy@[::1]:2222', undefined],
      ['Replication', 'local', undefined],
      ['Replication', 'ssh://db1', undefined],
      ['Replication', undefined, undefined],
    ]);
    expect(blocks.map((b) => 'onError' in b)).toEqual([false, false, false, false, false]);
    expect(blocks[4]).not.toHaveProperty('on');
  });

  test('an invalid on attribute: the block is kept, with onError the TargetError message', () => {
    const blocks = split(md(
      '```sh { on="ssh://-oProxyCommand=touch%20/tmp/x" }', 'echo 1', '```',
      '```sh {"on":true}', 'echo 2', '```',
      '```sh { on }', 'echo 3', '```',
    ));
    expect(blocks.map((b) => [b.code, b.on])).toEqual([['echo 1', 'ssh://-oProxyCommand=touch%20/tmp/x'], ['echo 2', 'true'], ['echo 3', 'true']]);
    expect(blocks[0].onError).toMatch(/^invalid target "ssh:\/\/-oProxyCommand=touch%20\/tmp\/x": a target has no "%"/);
    expect(blocks[1].onError).toContain('invalid target "true"');
  });

  test('excludeFromRunAll=false does not exclude', () => {
    expect(split(md('```sh {excludeFromRunAll=false}', 'echo', '```'))[0].excludeFromRunAll).toBeUndefined();
  });

  test('without a name, the nearest heading above titles the block (ATX and setext, marks removed)', () => {
    const text = md(
      'no heading yet', '```sh', 'echo 0', '```',
      '# Install ##', '```sh', 'echo 1', '```', '```sh', 'echo 2', '```',
      'Deploy *now*', '------------', '```sh {name=push}', 'echo 3', '```', '```sh', 'echo 4', '```',
    );
    expect(split(text).map((b) => b.title ?? null)).toEqual([null, 'Install', 'Install', 'push', 'Deploy *now*']);
  });
});
