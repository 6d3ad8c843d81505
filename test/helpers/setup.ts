// Every test process (and every cmdrun it starts) keeps its run history in a temp folder: tests
// never write to the real user's ~/.local/state.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.XDG_STATE_HOME = mkdtempSync(join(tmpdir(), 'cmdrun-state-'));
