// Grouping a fleet's outputs as `dshbak -c` does: host ranges with zero padding kept, and
// failing groups first. Every folded list is expanded back and compared with the names given.
import { describe, expect, test } from 'vitest';
import { foldHosts, groupOutputs, hostCount, hostFailed, hostOutcome, lastLines, type HostResult } from '../../src/runs/group-outputs.js';

/** Expands a folded list back into names (the inverse pdsh applies), to check nothing is lost. */
function expand(folded: string): string[] {
  const names: string[] = [];
  for (const term of folded.match(/[^,[]*(\[[^\]]*\])?[^,]*/g)!.filter(Boolean)) {
    const m = /^(.*)\[([^\]]*)\](.*)$/.exec(term);
    if (!m) {
      names.push(term);
      continue;
    }
    for (const part of m[2].split(',')) {
      const [a, b = a] = part.split('-');
      for (let v = Number(a); v <= Number(b); v++) names.push(`${m[1]}${String(v).padStart(a.length, '0')}${m[3]}`);
    }
  }
  return names;
}

describe('foldHosts', () => {
  const cases: [string[], string][] = [
    [['web01', 'web02', 'web03', 'web07'], 'web[01-03,07]'],
    [['web07', 'web03', 'web01', 'web02'], 'web[01-03,07]'],
    [['web9', 'web10', 'web11'], 'web[9-11]'],
    [['web09', 'web10', 'web11'], 'web[09-11]'],
    [['web1', 'web01'], 'web1,web01'],
    [['web001', 'web002', 'web1000'], 'web[001-002,1000]'],
    [['web01'], 'web01'],
    [['db', 'web01', 'web02', 'cache'], 'cache,db,web[01-02]'],
    [['web01.example.com', 'web02.example.com', 'web01.example.org'], 'web[01-02].example.com,web01.example.org'],
    // The last number is the one folded, as pdsh does.
    [['web01.dc1', 'web02.dc1', 'web01.dc2'], 'web01.dc[1-2],web02.dc1'],
    [['rack1-node1', 'rack1-node2', 'rack2-node1'], 'rack1-node[1-2],rack2-node1'],
    [['ssh://a', 'local'], 'local,ssh://a'],
    [['web01', 'web01', 'web02'], 'web[01-02]'],
    [['h0', 'h00', 'h1'], 'h[0-1],h00'],
  ];
  test.each(cases)('%j -> %s', (names, folded) => {
    expect(foldHosts(names)).toBe(folded);
    expect(expand(folded).sort()).toEqual([...new Set(names)].sort());
  });

  test('a fleet of 500 numbered hosts with gaps folds into one term that expands back', () => {
    const names = Array.from({ length: 500 }, (_, i) => `node${String(i + 1).padStart(3, '0')}`).filter((_, i) => i % 37 !== 5);
    const folded = foldHosts(names);
    expect(folded).toMatch(/^node\[001-005,007-042,/);
    expect(expand(folded)).toEqual(names);
  });

  test('numbers too long to count exactly stay as written', () => {
    const names = ['x1234567890123456789', 'x1234567890123456790'];
    expect(expand(foldHosts(names)).sort()).toEqual(names);
  });
});

describe('groupOutputs', () => {
  const host = (h: string, output: string, exitCode: number | null, extra: Partial<HostResult> = {}): HostResult => ({ host: h, output, exitCode, ...extra });

  test('identical outputs share a group under their folded hosts; failing groups come first', () => {
    const groups = groupOutputs([
      host('web01', 'up 3 days\r\n', 0),
      host('web02', 'up 3 days\r\n', 0),
      host('web03', 'disk full\r\n', 1),
      host('web04', 'up 5 days\r\n', 0),
      host('web05', 'up 3 days\r\n', 0),
      host('web06', 'ssh: connect to host web06 port 22: Connection refused\r\n', 255, { unreachable: true }),
      host('web07', 'up 3 days\r\n', 0),
    ]);
    expect(groups.map((g) => [g.label, g.outcome, g.failed])).toEqual([
      ['web03 (1 host)', 'failed 1', true],
      ['web06 (1 host)', 'unreachable', true],
      ['web[01-02,05,07] (4 hosts)', 'ok', false],
      ['web04 (1 host)', 'ok', false],
    ]);
    expect(groups[2].hosts).toEqual(['web01', 'web02', 'web05', 'web07']);
    expect(groups[2].output).toBe('up 3 days\r\n');
  });

  test('the same output with different outcomes is two groups', () => {
    const groups = groupOutputs([host('a1', 'x\n', 0), host('a2', 'x\n', 2), host('a3', 'x\n', null), host('a4', 'x\n', 130, { interrupted: true })]);
    expect(groups.map((g) => `${g.hostList}:${g.outcome}`)).toEqual(['a2:failed 2', 'a4:interrupted', 'a1:ok', 'a3:running']);
  });

  test('outputs differing only in a byte stay apart', () => {
    expect(groupOutputs([host('a', 'x\n', 0), host('b', 'x \n', 0), host('c', 'x\n', 0)]).map((g) => g.hostList)).toEqual(['a,c', 'b']);
  });

  test('no hosts, no groups', () => {
    expect(groupOutputs([])).toEqual([]);
  });
});

describe('outcomes', () => {
  test('words and failure', () => {
    expect(hostOutcome({ exitCode: 0 })).toBe('ok');
    expect(hostOutcome({ exitCode: 3 })).toBe('failed 3');
    expect(hostOutcome({ exitCode: null })).toBe('running');
    expect(hostOutcome({ exitCode: 255, unreachable: true })).toBe('unreachable');
    expect(hostOutcome({ exitCode: 0, interrupted: true })).toBe('interrupted');
    expect(hostFailed({ exitCode: 0 })).toBe(false);
    expect(hostFailed({ exitCode: null })).toBe(false);
    expect(hostFailed({ exitCode: 1 })).toBe(true);
    expect(hostFailed({ exitCode: 0, interrupted: true })).toBe(true);
    expect(hostCount(1)).toBe('1 host');
    expect(hostCount(12)).toBe('12 hosts');
  });
});

test('lastLines: the last n lines (a final newline ends a line, it starts none) and how many come before', () => {
  expect(lastLines('a\nb\nc', 2)).toEqual({ text: 'b\nc', omitted: 1 });
  expect(lastLines('a\nb\nc\n', 2)).toEqual({ text: 'b\nc\n', omitted: 1 });
  expect(lastLines('a\nb\nc\nd', 1)).toEqual({ text: 'd', omitted: 3 });
  expect(lastLines('a\n\nc', 1)).toEqual({ text: 'c', omitted: 2 });
  expect(lastLines('\n\n\n', 1)).toEqual({ text: '\n', omitted: 2 });
  for (const [text, n] of [['a\nb\nc', 3], ['a\nb\nc\n', 5], ['', 1], ['\n', 1], ['x', 1]] as const) expect(lastLines(text, n)).toEqual({ text, omitted: 0 });
});
