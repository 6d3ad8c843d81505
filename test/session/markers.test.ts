import { describe, expect, test } from 'vitest';
import { MarkerScanner, type Piece } from '../../src/session/markers.js';

const ESC = '\x1b';
const end = (id: string, status: number, cwd: string) => `${ESC}]6973;e;${id};${status};${cwd}\x07`;

/** Feeds `chunks` and merges adjacent text pieces (how they are split is not the contract). */
function scan(chunks: string[]): Piece[] {
  const scanner = new MarkerScanner();
  const out: Piece[] = [];
  const add = (piece: Piece) => {
    const last = out.at(-1);
    if ('text' in piece && last && 'text' in last) last.text += piece.text;
    else out.push(piece);
  };
  for (const chunk of chunks) scanner.feed(chunk).forEach(add);
  const rest = scanner.flush();
  if (rest) add({ text: rest });
  return out;
}

describe('MarkerScanner', () => {
  test('separates markers from surrounding output', () => {
    expect(scan([`before${end('abc', 3, '/tmp')}after`])).toEqual([
      { text: 'before' },
      { marker: { kind: 'e', id: 'abc', rest: ['3', '/tmp'] } },
      { text: 'after' },
    ]);
  });

  test('a marker split at every possible position is still found', () => {
    const stream = `out1${end('id1', 0, '/a;b')}out2`;
    for (let i = 1; i < stream.length; i++) {
      expect(scan([stream.slice(0, i), stream.slice(i)])).toEqual([
        { text: 'out1' },
        { marker: { kind: 'e', id: 'id1', rest: ['0', '/a;b'] } },
        { text: 'out2' },
      ]);
    }
  });

  test('a marker split into single characters is found', () => {
    expect(scan([...`x${end('q', 1, '/')}`])).toEqual([{ text: 'x' }, { marker: { kind: 'e', id: 'q', rest: ['1', '/'] } }]);
  });

  test('malformed marker-like text passes through as output', () => {
    const odd = `${ESC}]6973;z;id\x07${ESC}]6973;e;bad id!;0;/\x07${ESC}]6973;e;onlyid\x07`;
    expect(scan([odd])).toEqual([{ text: odd }]);
  });

  test('other escape sequences and an unterminated prefix at the end are output', () => {
    expect(scan([`${ESC}[31mred${ESC}[0m ${ESC}]0;title\x07`, `${ESC}]69`])).toEqual([
      { text: `${ESC}[31mred${ESC}[0m ${ESC}]0;title\x07${ESC}]69` },
    ]);
  });

  test('a runaway marker without BEL is released as output after 4 KiB', () => {
    const scanner = new MarkerScanner();
    const pieces = scanner.feed(`${ESC}]6973;e;${'x'.repeat(5000)}`);
    expect(pieces.map((p) => ('text' in p ? p.text.length : -1))).toEqual([5000 + 9]);
  });
});
