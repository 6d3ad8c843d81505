// Where the page puts runs after a reload (web/history.ts): by the block's text, then its position,
// else apart; each block's last earlier run.
import { expect, test } from 'vitest';
import type { Block } from '../../src/blocks/split.js';
import { pickEarlierRuns, placeRun } from '../../web/history.js';

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
