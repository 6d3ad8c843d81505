#!/usr/bin/env node
// Thin launcher: the CLI is built into dist/ by `npm install` (the prepare script).
import { setFlagsFromString } from 'node:v8';

// The block splitter's WebAssembly (tree-sitter-bash) runs in V8's baseline compiler only: the
// optimizing tier compiled its large parse functions in the background for ~400 ms per start,
// with the main thread waiting on it, while parsing a script takes a few ms either way.
setFlagsFromString('--liftoff-only');
await import('../dist/cli.js');
