// Where the page puts runs after a reload (web/history.ts): by the block's text, then its position,
// else apart; each block's last earlier run; a fleet run's host rows folded into one entry.
import { expect, test } from 'vitest';
import type { Block } from '../../src/blocks/split.js';
import { foldFleets, historyEntry, pickEarlierRuns, placeRun, type ApiHistorySummary } from '../../web/history.js';

const blocks: Block[] = [
  { index: 0, markerLine: 1, lineStart: 2, lineEnd: 2, title: 'a', code: 'echo a' },
  { index: 1, markerLine: 4, lineStart: 5, lineEnd: 6, title: 'b', code: 'echo b\necho bb' },
  { index: 2, markerLine: 8, lineStart: 9, lineEnd: 9, title: 'again', code: 'echo a' },
];
let n = 0;
const run = (code: string, lineStart?: number, lineEnd = lineStart) => ({ runId: `r${++n}`, code, lineStart, lineEnd });

test('placeRun: the block with the run\'s text nearest to where it ran, else its lines, else apart', () => {
  expect(placeRun(blocks, 10, run('echo a', 9))).toEqual({ block: blocks[2] });
  expect(placeRun(blocks, 10, run('echo a', 2))).toEqual({ block: blocks[0] });
  expect(placeRun(blocks, 10, run('echo a'))).toEqual({ block: blocks[0] });
  // Edited since: at its lines (its output is then stale); lines past the end are clipped.
  expect(placeRun(blocks, 10, run('echo B', 5, 6))).toEqual({ lineStart: 5, lineEnd: 6 });
  expect(placeRun(blocks, 10, run('old', 9, 14))).toEqual({ lineStart: 9, lineEnd: 10 });
  // Posted through the API without lines, or below the end of the document: apart.
  expect(placeRun(blocks, 10, run('true'))).toBeUndefined();
  expect(placeRun(blocks, 10, run('gone', 11, 12))).toBeUndefined();
});

test('pickEarlierRuns: newest first, text before position, taken blocks skipped, apart deduplicated', () => {
  const newest = run('echo b', 5, 6); // ran at b's place with text b had before
  const byText = run('echo b\necho bb', 5, 6);
  const olderA = run('echo a', 2);
  const olderA2 = run('echo a', 2);
  const gone1 = run('rm -rf build', 20);
  const gone2 = run('rm -rf build', 20);
  const api = run('true');
  const history = [newest, byText, olderA, gone1, olderA2, gone2, api];
  const { byBlock, apart } = pickEarlierRuns(blocks, history, new Set([2]));
  // Block b: the run with its text wins over the newer run at its position.
  expect(byBlock.get(1)).toBe(byText);
  // The newest run of `echo a` for block a; block 2 (same text) is taken by a run of this session.
  expect(byBlock.get(0)).toBe(olderA);
  expect(byBlock.has(2)).toBe(false);
  // Runs that match no block: the newest of each code.
  expect(apart).toEqual([gone1, api]);
  expect(pickEarlierRuns(blocks, history, new Set(), 1).apart).toEqual([gone1]);
});

test('foldFleets: a fleet run\'s host rows are one entry, at its newest row; historyEntry counts its hosts', () => {
  const row = (runId: string, extra: Partial<ApiHistorySummary>): ApiHistorySummary => ({
    id: ++n, runId, script: '/s.sh', code: 'uptime', user: 'u', host: 'h', shell: 'bash', session: 's1', thisSession: false,
    startedAt: 1000, finished: true, exitCode: 0, durationMs: 100, interrupted: false, outputBytes: 3, omittedBytes: 0, ...extra,
  });
  const local = row('one', { target: 'local', startedAt: 5000, exitCode: 2, durationMs: 1500 });
  const web02 = row('f1', { target: 'ssh://web02', fleet: '@web', startedAt: 1200, durationMs: 300, exitCode: 3 });
  const web01 = row('f1', { target: 'ssh://web01', fleet: '@web', startedAt: 1000, durationMs: 100 });
  const web03 = row('f1', { target: 'ssh://web03', fleet: '@web', startedAt: 1100, durationMs: 50, exitCode: 255, unreachable: true });
  // The same run id in another session is another run.
  const other = row('f1', { target: 'ssh://web01', fleet: '@web', session: 's0', startedAt: 500, thisSession: false });
  const entries = foldFleets([local, web02, web03, web01, other]);
  expect(entries.map((e) => [e.runId, e.session, e.hostRows?.length])).toEqual([['one', 's1', undefined], ['f1', 's1', 3], ['f1', 's0', 1]]);
  expect(entries[1].target).toBe('ssh://web02');
  expect(historyEntry(entries[0]).detail).toBe('exit 2 · 1.5 s');
  expect(historyEntry(entries[1])).toEqual({ label: expect.stringMatching(/ \(earlier session\)$/), detail: '@web: 3 hosts · 1 ok, 2 failed · 500 ms' });
  expect(historyEntry(entries[2]).detail).toBe('@web: 1 host · 1 ok · 100 ms');
  const unfinished = foldFleets([row('f2', { fleet: 'ssh://a,ssh://b', target: 'ssh://a', finished: false, exitCode: undefined }), row('f2', { fleet: 'ssh://a,ssh://b', target: 'ssh://b' })]);
  expect(historyEntry(unfinished[0]).detail).toBe('2 hosts · unfinished');
});
