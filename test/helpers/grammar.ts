import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadBlockSplitter, type BlockSplitter } from '../../src/blocks/parser.js';

const require = createRequire(import.meta.url);

/** The real splitter, with the wasm files from node_modules (as the build copies them). */
export function nodeSplitter(): Promise<BlockSplitter> {
  return loadBlockSplitter({
    runtime: require.resolve('web-tree-sitter/web-tree-sitter.wasm'),
    bash: join(dirname(require.resolve('tree-sitter-bash/package.json')), 'tree-sitter-bash.wasm'),
  });
}
