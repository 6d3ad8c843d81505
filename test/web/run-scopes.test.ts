import { beforeAll, expect, test } from 'vitest';
import type { Block } from '../../src/blocks/split.js';
import { blocksFor, runAllBlocks } from '../../web/notebook.js';
import { nodeSplitters } from '../helpers/grammar.js';

let blocks: Block[];
beforeAll(async () => {
  const fence = (attrs: string, code: string) => `\`\`\`sh ${attrs}\n${code}\n\`\`\`\n`;
  const md = ['# T', fence('{name=a}', 'echo a'), fence('{name=skip excludeFromRunAll=true}', 'echo s'), fence('{name=b}', 'echo b'), fence('{name=c}', 'echo c')].join('\n');
  blocks = (await nodeSplitters()).forFile('t.md')(md);
});

const names = (list: Block[]) => list.map((b) => b.name);

test('Run all, above, below and from here leave excluded fences out; the block itself always runs', () => {
  expect(names(blocks)).toEqual(['a', 'skip', 'b', 'c']);
  expect(names(runAllBlocks(blocks))).toEqual(['a', 'b', 'c']);
  expect(names(blocksFor(blocks, blocks[3], 'above'))).toEqual(['a', 'b']);
  expect(names(blocksFor(blocks, blocks[0], 'below'))).toEqual(['b', 'c']);
  expect(names(blocksFor(blocks, blocks[1], 'from'))).toEqual(['b', 'c']);
  expect(names(blocksFor(blocks, blocks[1], 'block'))).toEqual(['skip']);
});
