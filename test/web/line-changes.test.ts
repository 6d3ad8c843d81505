import { ChangeSet, Text } from '@codemirror/state';
import { expect, test } from 'vitest';
import { lineChanges } from '../../web/file-sync.js';

/** Applies lineChanges(from, to) to `from` as CodeMirror would. */
function apply(from: string, to: string): string {
  const doc = Text.of(from.split('\n'));
  return ChangeSet.of(lineChanges(from, to), doc.length).apply(doc).toString();
}

test('line changes turn one text into the other, at the start, middle and end, with and without final newline', () => {
  const cases: [string, string][] = [
    ['a\nb\nc', 'a\nB\nc'],
    ['a\nb\nc', 'a\nb\nc\nd'],
    ['a\nb\nc\n', 'a\nb\nc\nd\n'],
    ['a\nb\nc', 'a\nb'],
    ['a\nb\nc', 'x\na\nb\nc'],
    ['a\nb\nc', 'b\nc'],
    ['a\nb\nc', ''],
    ['', 'a\nb'],
    ['a\nb\nc\nd\ne', 'a\nX\nc\nY\ne\nf'],
    ['one\ntwo', 'one\ntwo\n'],
    ['one\ntwo\n', 'one\ntwo'],
  ];
  for (const [from, to] of cases) expect(apply(from, to), JSON.stringify([from, to])).toBe(to);
});

test('random edits: every result equals the target text', () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const words = ['a', 'b', 'c', '', 'echo hi', 'ls'];
  const text = () => Array.from({ length: rand(8) }, () => words[rand(words.length)]).join('\n');
  for (let i = 0; i < 500; i++) {
    const from = text();
    const to = text();
    expect(apply(from, to), JSON.stringify([from, to])).toBe(to);
  }
});

test('only the differing lines change: a position in an unchanged line maps to the same line', () => {
  const from = 'one\ntwo\nthree\nfour';
  const to = 'ONE\ntwo\nthree\nFOUR';
  const doc = Text.of(from.split('\n'));
  const changes = ChangeSet.of(lineChanges(from, to), doc.length);
  const pos = from.indexOf('three') + 2;
  expect(changes.mapPos(pos)).toBe(to.indexOf('three') + 2);
});
