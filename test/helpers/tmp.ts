// Temp folders for tests: every folder made here is removed after the test file's last test
// (test/helpers/setup.ts registers the clean-up), so a run of the suite leaves nothing under /tmp.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

/**
 * Makes a fresh folder `$TMPDIR/<prefix>XXXXXX` (mkdtemp(3)) that is removed, with everything in it,
 * when the current test file ends.
 * @param prefix the folder name's start, e.g. `cmdrun-run-`
 * @returns the folder's absolute path
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Removes every folder {@link tempDir} made in this test file (called by the setup file's afterAll). */
export function removeTempDirs(): void {
  for (const dir of made) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a folder still in use by a process that is ending: nothing else to do
    }
  }
  made.clear();
}
