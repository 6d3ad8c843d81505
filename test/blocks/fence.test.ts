import { describe, expect, test } from 'vitest';
import { fenceKind, isTrue, parseFenceAttributes, parseFenceInfo } from '../../src/blocks/fence.js';

describe('parseFenceInfo', () => {
  test('the language is the first word; attributes follow in braces', () => {
    expect(parseFenceInfo('sh')).toEqual({ language: 'sh', attributes: {} });
    expect(parseFenceInfo('  bash   ')).toEqual({ language: 'bash', attributes: {} });
    expect(parseFenceInfo('sh { name=setup }')).toEqual({ language: 'sh', attributes: { name: 'setup' } });
    expect(parseFenceInfo('sh{name=tight}')).toEqual({ language: 'sh', attributes: { name: 'tight' } });
    expect(parseFenceInfo('python title.py')).toEqual({ language: 'python', attributes: {} });
    expect(parseFenceInfo('')).toEqual({ language: '', attributes: {} });
    expect(parseFenceInfo('{name=x}')).toEqual({ language: '', attributes: { name: 'x' } });
  });
});

describe('parseFenceAttributes', () => {
  test('key=value pairs as Runme writes them', () => {
    expect(parseFenceAttributes('{ name=setup excludeFromRunAll=true }')).toEqual({ name: 'setup', excludeFromRunAll: 'true' });
    expect(parseFenceAttributes('{name=a,interactive=false}')).toEqual({ name: 'a', interactive: 'false' });
  });

  test('double-quoted values hold spaces and JSON escapes', () => {
    expect(parseFenceAttributes('{ name="set up" cwd="/tmp/a b" note="say \\"hi\\"" }')).toEqual({ name: 'set up', cwd: '/tmp/a b', note: 'say "hi"' });
  });

  test('values may hold = and :', () => {
    expect(parseFenceAttributes('{ on=ssh://db1 env=A=1 }')).toEqual({ on: 'ssh://db1', env: 'A=1' });
  });

  test('JSON objects; non-string values are kept as JSON text', () => {
    expect(parseFenceAttributes('{"name":"setup","excludeFromRunAll":true,"n":3}')).toEqual({ name: 'setup', excludeFromRunAll: 'true', n: '3' });
    expect(parseFenceAttributes('{ "name": "spaced" }')).toEqual({ name: 'spaced' });
  });

  test('a key alone is true; broken text never throws', () => {
    expect(parseFenceAttributes('{ excludeFromRunAll name=x }')).toEqual({ excludeFromRunAll: 'true', name: 'x' });
    expect(parseFenceAttributes('{ name="unclosed }')).toEqual({ name: 'unclosed ' });
    expect(parseFenceAttributes('{"name": broken}')).toEqual({ '"name":': 'true', broken: 'true' });
    expect(parseFenceAttributes('{ =x }')).toEqual({});
    expect(parseFenceAttributes('{')).toEqual({});
  });
});

describe('fenceKind', () => {
  test('shells, consoles, interpreters, and the rest', () => {
    expect(['sh', 'bash', 'shell', 'zsh', 'BASH'].map((l) => fenceKind(l).kind)).toEqual(['shell', 'shell', 'shell', 'shell', 'shell']);
    expect(['console', 'shell-session'].map((l) => fenceKind(l).kind)).toEqual(['console', 'console']);
    expect(fenceKind('Python')).toEqual({ kind: 'interpreter', interpreter: 'python3' });
    expect(fenceKind('javascript')).toEqual({ kind: 'interpreter', interpreter: 'node' });
    expect(['yaml', 'json', 'text', 'diff', '', 'constructor', 'toString'].map((l) => fenceKind(l).kind)).toEqual(['none', 'none', 'none', 'none', 'none', 'none', 'none']);
  });

  test('isTrue', () => {
    expect(['true', 'TRUE', 'yes', '1'].map(isTrue)).toEqual([true, true, true, true]);
    expect(['false', '', 'no', undefined].map(isTrue)).toEqual([false, false, false, false]);
  });
});
