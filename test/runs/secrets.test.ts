// The streaming masker: a secret split across chunks at every possible place, overlapping
// secrets, multi-line values line by line, and values too short to mask.
import { describe, expect, test } from 'vitest';
import { MASK, Secrets } from '../../src/runs/secrets.js';

/** Feeds `chunks` through one masker and returns what it let out, the end included. */
const stream = (secrets: Secrets, chunks: string[]) => {
  const masker = secrets.masker();
  return chunks.map((c) => masker.push(c)).join('') + masker.end();
};

describe('Masker', () => {
  const secrets = new Secrets();
  secrets.add('s3cr3t-value');
  const text = 'before s3cr3t-value middle s3cr3t-valu after s3cr3t-value';
  const masked = `before ${MASK} middle s3cr3t-valu after ${MASK}`;

  test('every split into two or three chunks masks the same', () => {
    for (let i = 0; i <= text.length; i++) {
      expect(stream(secrets, [text.slice(0, i), text.slice(i)])).toBe(masked);
      for (let j = i; j <= text.length; j += 7) expect(stream(secrets, [text.slice(0, i), text.slice(i, j), text.slice(j)])).toBe(masked);
    }
  });

  test('a byte at a time: nothing of the secret is let out before it is known', () => {
    const masker = secrets.masker();
    let out = '';
    for (const ch of 'xs3cr3t-value!') {
      out += masker.push(ch);
      expect(out).not.toMatch(/s3/);
    }
    expect(out + masker.end()).toBe(`x${MASK}!`);
  });

  test('a prefix held back is let out when the stream ends or goes on otherwise', () => {
    const masker = secrets.masker();
    expect(masker.push('abc s3cr')).toBe('abc ');
    expect(masker.push('eam')).toBe('s3cream');
    expect(masker.push('s3')).toBe('');
    expect(masker.end()).toBe('s3');
  });

  test('overlapping secrets, a secret inside another, multi-line values line by line, short values never', () => {
    const s = new Secrets();
    s.add('abcdef');
    s.add('defghi');
    s.add('xxabcdefxx');
    s.add('line one\nline two');
    s.add('abc');
    expect(stream(s, ['..abcd', 'efghi..'])).toBe(`..${MASK}ghi..`);
    expect(stream(s, ['xxabc', 'defxx'])).toBe(MASK);
    expect(stream(s, ['line one\r\n', 'line two\r\n'])).toBe(`${MASK}\r\n${MASK}\r\n`);
    expect(stream(s, ['abc ab'])).toBe('abc ab');
  });

  test('no secrets: text passes unchanged and nothing is held', () => {
    const masker = new Secrets().masker();
    expect(masker.push('s3cr')).toBe('s3cr');
  });
});
