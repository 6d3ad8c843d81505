// Every test process (and every cmdrun it starts) keeps its run history in a temp folder: tests
// never write to the real user's ~/.local/state. Every temp folder a test file makes through
// tempDir() (test/helpers/tmp.ts), this one included, is removed after the file's last test.
import { afterAll } from 'vitest';
import { removeTempDirs, tempDir } from './tmp.js';

process.env.XDG_STATE_HOME = tempDir('cmdrun-state-');

// Registered first, so it runs after every other afterAll of the file (vitest runs after-hooks as a stack).
afterAll(() => removeTempDirs());
