import { Text } from '@codemirror/state';
import { beforeAll, describe, expect, test } from 'vitest';
import type { BlockSplitter } from '../../src/blocks/parser.js';
import { selectionRun } from '../../web/markdown.js';
import { nodeSplitters } from '../helpers/grammar.js';

let split: BlockSplitter;
beforeAll(async () => {
  split = (await nodeSplitters()).forFile('x.md');
});

/** What selecting from the first `from` text to the end of the first `to` text of `source` runs. */
function select(source: string, from: string, to: string) {
  const doc = Text.of(source.split('\n'));
  const start = source.indexOf(from);
  const end = source.indexOf(to) + to.length;
  const block = split(source).find((b) => b.fence && doc.lineAt(start).number >= b.fence.openLine && doc.lineAt(start).number <= b.fence.closeLine);
  return selectionRun(doc, start, end, block);
}

describe('a selection inside a fence runs the fence\'s own code', () => {
  test('in a console fence: without the prompt; output lines run nothing', () => {
    const md = '```console\n$ echo one\none\n$ echo two\ntwo\n```\n';
    expect(select(md, '$ echo one', '$ echo one')).toEqual({ code: 'echo one' });
    expect(select(md, '$ echo one', 'two\n```').code).toBe('echo one\n\necho two\n\n'); // the fence lines run nothing either
    expect(select(md, 'one\n$', 'echo two').code).toBe('\necho two'); // from output into the next command
  });

  test('in a block quote or list item: without the container markup', () => {
    expect(select('> ```sh\n> echo quoted\n> echo b\n> ```\n', 'echo quoted', 'echo b')).toEqual({ code: 'echo quoted\necho b' });
    expect(select('1. step\n\n   ```sh\n   ls -l\n   ```\n', 'ls', '-l')).toEqual({ code: 'ls -l' });
  });

  test('part of a line: just that part', () => {
    expect(select('> ```sh\n> echo a; echo b\n> ```\n', 'echo b', 'echo b')).toEqual({ code: 'echo b' });
  });

  test('in an interpreter fence: with its program', () => {
    expect(select('```python\nx = 1\nprint(x)\n```\n', 'x = 1', 'print(x)')).toEqual({ code: 'x = 1\nprint(x)', interpreter: 'python3' });
  });

  test('outside a fence: the text as it is', () => {
    expect(select('prose `ls`\n', 'prose', 'ls`')).toEqual({ code: 'prose `ls`' });
  });
});
