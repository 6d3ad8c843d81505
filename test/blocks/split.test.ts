import { beforeAll, describe, expect, test } from 'vitest';
import type { BlockSplitter } from '../../src/blocks/parser.js';
import { markerTitle, parseMarker } from '../../src/blocks/split.js';
import { nodeSplitter } from '../helpers/grammar.js';

let split: BlockSplitter;
beforeAll(async () => {
  split = await nodeSplitter();
});

const ranges = (source: string) => split(source).map((b) => [b.lineStart, b.lineEnd]);

describe('paragraph blocks (no # %% markers)', () => {
  test('blank lines separate top-level commands into blocks', () => {
    const src = 'echo a\necho b\n\necho c\n\n\necho d\n';
    expect(ranges(src)).toEqual([[1, 2], [4, 4], [7, 7]]);
    expect(split(src)[0].code).toBe('echo a\necho b');
  });

  test('a blank line inside a function, loop, if or case never splits it', () => {
    const src = [
      'f() {', '  echo 1', '', '  echo 2', '}', // 1-5
      '', // 6
      'for i in 1 2; do', '', '  echo $i', 'done', // 7-10
      '', // 11
      'if true; then', '', '  echo yes', 'else', '', '  echo no', 'fi', // 12-18
      '', // 19
      'case $x in', '  a)', '', '    echo a ;;', 'esac', // 20-24
    ].join('\n');
    expect(ranges(src)).toEqual([[1, 5], [7, 10], [12, 18], [20, 24]]);
  });

  test('nested compound commands with blank lines stay one block', () => {
    const src = 'while read -r l; do\n  if [ -n "$l" ]; then\n\n    for w in $l; do\n\n      echo "$w"\n    done\n  fi\ndone < input\n\necho after';
    expect(ranges(src)).toEqual([[1, 9], [11, 11]]);
  });

  test('a heredoc body with blank lines and marker-like lines is part of its command', () => {
    const src = 'cat <<EOF > out\n\ntext\n# %% not a marker\n\nEOF\necho next\n\necho last';
    expect(ranges(src)).toEqual([[1, 7], [9, 9]]);
    expect(split(src)[0].markerLine).toBeUndefined();
  });

  test('backslash continuations join lines', () => {
    const src = 'docker run \\\n  --rm \\\n  alpine echo hi\n\necho done';
    expect(ranges(src)).toEqual([[1, 3], [5, 5]]);
  });

  test('a comment directly above a command belongs to its block; comment-only paragraphs are no blocks', () => {
    const src = '#!/bin/bash\n# header comment\n\n# explain\necho a\n\n# trailing note\n';
    expect(ranges(src)).toEqual([[4, 5]]);
  });

  test('an empty or comment-only script has no blocks', () => {
    expect(split('')).toEqual([]);
    expect(split('\n\n# just a comment\n')).toEqual([]);
  });

  test('commands on one line separated by ; stay together', () => {
    expect(ranges('cd /tmp; ls\necho x')).toEqual([[1, 2]]);
  });
});

describe('# %% cell markers', () => {
  test('markers divide the script; titles are kept; the marker line is not code', () => {
    const src = '# %% Setup\nx=1\n\ny=2\n\n# %%\necho $x\n# %% Last one\necho end\n';
    const blocks = split(src);
    expect(blocks.map((b) => [b.markerLine, b.lineStart, b.lineEnd, b.title])).toEqual([
      [1, 2, 4, 'Setup'],
      [6, 7, 7, undefined],
      [8, 9, 9, 'Last one'],
    ]);
    expect(blocks[0].code).toBe('x=1\n\ny=2');
  });

  test('text before the first marker is a block only when it has a command', () => {
    expect(ranges('#!/bin/bash\n# intro\n\n# %% one\necho 1')).toEqual([[5, 5]]);
    expect(ranges('set -e\n\n# %% one\necho 1')).toEqual([[1, 1], [4, 4]]);
  });

  test('markers inside a function body are comments, not markers', () => {
    const src = '# %% a\nf() {\n  # %% inside\n  echo\n}\n# %% b\nf';
    expect(ranges(src)).toEqual([[2, 5], [7, 7]]);
  });

  test('empty cells are skipped', () => {
    expect(ranges('# %% a\n\n# %% b\necho b\n')).toEqual([[4, 4]]);
  });

  test('markerTitle follows the percent format', () => {
    expect(markerTitle('# %%')).toBe('');
    expect(markerTitle('# %% Deploy step')).toBe('Deploy step');
    expect(markerTitle('#%% tight')).toBe('tight');
    expect(markerTitle('# %%%')).toBeUndefined();
    expect(markerTitle('# not %%')).toBeUndefined();
  });
});

describe('# %% marker metadata: on= names where a block runs', () => {
  test('on="..." after the title: the title is the text before it, on the target as written', () => {
    const blocks = split('# %% Check replication on="ssh://db1"\npsql -c "select 1"\n# %% on=\'ssh://deploy@db2:2222\'\nuptime\n# %% Here on="local"\nls\n');
    expect(blocks.map((b) => [b.markerLine, b.title, b.on, b.onError])).toEqual([
      [1, 'Check replication', 'ssh://db1', undefined],
      [3, undefined, 'ssh://deploy@db2:2222', undefined],
      [5, 'Here', 'local', undefined],
    ]);
    expect(blocks[0]).not.toHaveProperty('onError');
    expect(blocks[0].code).toBe('psql -c "select 1"');
  });

  test('a block without on= has no on; the text before the first marker neither', () => {
    const blocks = split('set -e\n# %% a\necho a\n# %%\necho b\n');
    expect(blocks.map((b) => 'on' in b || 'onError' in b)).toEqual([false, false, false]);
  });

  test('an invalid target still splits: on as written, onError the TargetError message', () => {
    const blocks = split('# %% Evil on="ssh://-oProxyCommand=x"\necho x\n# %% Next\necho y\n');
    expect(blocks.map((b) => [b.title, b.code])).toEqual([['Evil', 'echo x'], ['Next', 'echo y']]);
    expect(blocks[0].on).toBe('ssh://-oProxyCommand=x');
    expect(blocks[0].onError).toBe(
      'invalid target "ssh://-oProxyCommand=x": a host must not start with "-" (expected ssh://[user@]host[:port], docker://[user@]container, podman://[user@]container or local)',
    );
    expect(split('# %% T on=""\necho\n')[0]).toMatchObject({ title: 'T', on: '', onError: expect.stringContaining('not empty') });
    expect(split('# %% T on=db1\necho\n')[0]).toMatchObject({ on: 'db1', onError: expect.stringContaining('invalid target "db1"') });
  });

  test.each([
    ['# %% Check on="ssh://db1"', { title: 'Check', on: 'ssh://db1' }],
    ['# %% Check on=ssh://db1', { title: 'Check', on: 'ssh://db1' }],
    ["# %% Check on='ssh://db1'", { title: 'Check', on: 'ssh://db1' }],
    ['#%% on="local"', { title: '', on: 'local' }],
    ['# %% on="local"   ', { title: '', on: 'local' }],
    ['# %% Check tags="x" on="ssh://db1" active="sh"', { title: 'Check', on: 'ssh://db1' }],
    ['# %% Check on="ssh://a" on="ssh://b"', { title: 'Check', on: 'ssh://b' }],
    ['# %% Check tags=["a"] on="ssh://db1"', { title: 'Check tags=["a"]', on: 'ssh://db1' }],
    ['# %% Set x=1 on="ssh://db1"', { title: 'Set x=1', on: 'ssh://db1' }],
    ['# %% Check on="ssh:\/\/db1"', { title: 'Check', on: 'ssh://db1' }],
    ['# %% Say "hi" on="local"', { title: 'Say "hi"', on: 'local' }],
  ])('%s', (comment, info) => {
    expect(parseMarker(comment)).toEqual(info);
  });

  test.each([
    '# %% Set x=1',
    '# %% Set GREETING="hi"',
    '# %% Compare a==b',
    '# %% tags=["parameters"]',
    '# %% Turn on = off',
    '# %% Deploy on="ssh://db1" now',
    '# %% Deploy on="ssh://db1',
    '# %% Deploy on="bad \\q escape"',
    '# %% Deploy xon="ssh://db1"',
    '# %% Deploy on=ssh://db"1"',
    '# %% Deploy=on="ssh://db1"',
  ])('%s: no on, the whole text is the title', (comment) => {
    expect(parseMarker(comment)).toEqual({ title: comment.replace(/^# %% /, '') });
  });
});

test('block code joined with the lines of the source reproduces them exactly', () => {
  const src = 'a=1\nb="two words"\n\nprintf "%s\\n" "$a" \\\n  "$b"';
  const blocks = split(src);
  const lines = src.split('\n');
  for (const b of blocks) expect(b.code).toBe(lines.slice(b.lineStart - 1, b.lineEnd).join('\n'));
  expect(blocks.map((b) => b.index)).toEqual([0, 1]);
});
