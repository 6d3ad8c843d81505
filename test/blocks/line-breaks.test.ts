import { describe, expect, test } from 'vitest';
import { lineBreakOf, normalizeLineBreaks, withLineBreak } from '../../src/blocks/line-breaks.js';

describe('line breaks', () => {
  test('normalizeLineBreaks makes CRLF and lone CR one \\n each', () => {
    expect(normalizeLineBreaks('a\r\nb\rc\n\r\nd')).toBe('a\nb\nc\n\nd');
  });

  test("lineBreakOf is the file's first line break", () => {
    expect(['a\r\nb\n', 'a\nb\r\n', 'a\rb', 'one line', ''].map(lineBreakOf)).toEqual(['\r\n', '\n', '\r', '\n', '\n']);
  });

  test('withLineBreak writes a normalised text back byte for byte', () => {
    for (const file of ['# T\r\n\r\nprose  \r\n```sh\r\necho\r\n```\r\n', 'a\rb\r', 'a\nb\n', 'no break']) {
      expect(withLineBreak(normalizeLineBreaks(file), lineBreakOf(file))).toBe(file);
    }
  });
});
