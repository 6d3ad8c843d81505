// Builds dist/: the CLI (src/ -> dist/cli.js, dependencies left external) and the page
// (web/ -> dist/web/, bundled for the browser, with the two tree-sitter wasm files beside it).
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dist = join(root, 'dist');
const web = join(dist, 'web');

rmSync(dist, { recursive: true, force: true });
mkdirSync(web, { recursive: true });

// Split, so each command loads only its own code (src/cli/main.ts imports them when they run).
await esbuild.build({
  entryPoints: { cli: join(root, 'src/cli/main.ts') },
  outdir: dist,
  chunkNames: 'cli-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  define: { __CMDRUN_VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
});

// The page, split: xterm.js is a chunk loaded after the editor is up (web/output-view.ts).
await esbuild.build({
  // The event streams are read in a worker of their own (web/event-streams.ts).
  entryPoints: { app: join(root, 'web/main.ts'), 'event-worker': join(root, 'web/event-worker.ts') },
  outdir: web,
  chunkNames: 'chunk-[hash]',
  splitting: true,
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  // web-tree-sitter mentions Node modules on a code path the browser never takes.
  external: ['fs/promises', 'module'],
  logLevel: 'warning',
});

copyFileSync(join(root, 'web/index.html'), join(web, 'index.html'));
copyFileSync(join(root, 'web/style.css'), join(web, 'style.css'));
copyFileSync(join(root, 'web/favicon.svg'), join(web, 'favicon.svg'));
copyFileSync(require.resolve('web-tree-sitter/web-tree-sitter.wasm'), join(web, 'web-tree-sitter.wasm'));
copyFileSync(join(dirname(require.resolve('tree-sitter-bash/package.json')), 'tree-sitter-bash.wasm'), join(web, 'tree-sitter-bash.wasm'));
