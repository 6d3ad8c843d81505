import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadBlockSplitter, loadSplitters, type BlockSplitter, type GrammarFiles, type Splitters } from '../../src/blocks/parser.js';

const require = createRequire(import.meta.url);

/** The wasm files from node_modules (as the build copies them). */
const FILES: GrammarFiles = {
  runtime: require.resolve('web-tree-sitter/web-tree-sitter.wasm'),
  bash: join(dirname(require.resolve('tree-sitter-bash/package.json')), 'tree-sitter-bash.wasm'),
};

/** The real shell splitter. */
export function nodeSplitter(): Promise<BlockSplitter> {
  return loadBlockSplitter(FILES);
}

/** The real splitters of every kind of document. */
export function nodeSplitters(): Promise<Splitters> {
  return loadSplitters(FILES);
}
