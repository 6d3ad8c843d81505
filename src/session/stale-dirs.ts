/**
 * Session folders left behind by a cmdrun that could not clean up (killed with SIGKILL, or a
 * machine that lost power): each local session folder names its owner, and the next local session
 * to start removes the folders whose owner is gone.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStat } from './processes.js';

/** The file in a session folder that names the cmdrun process owning it: `PID STARTTIME`. */
const OWNER = 'owner';
/** A local session folder's name: `cmdrun-` and mkdtemp(3)'s six characters. */
const SESSION_DIR = /^cmdrun-[A-Za-z0-9]{6}$/;

/** This process, as an owner line: its pid and start time (clock ticks since boot, proc(5)). */
const me = (): string => `${process.pid} ${readStat(process.pid)?.starttime ?? 0}`;

/** Marks `dir` (a fresh session folder) as owned by this process. */
export function claimSessionDir(dir: string): void {
  writeFileSync(join(dir, OWNER), `${me()}\n`, { mode: 0o600 });
}

/**
 * Removes the session folders in the temp folder (`$TMPDIR`, else /tmp) that belong to this user and
 * name an owner that no longer runs (no such pid, or a pid reused by a later process). Folders
 * without an owner file (a session still being made, or one of an older cmdrun) are left alone.
 * Never throws: a folder that cannot be read or removed stays.
 */
export function removeStaleSessionDirs(): void {
  const base = tmpdir();
  const uid = process.getuid?.();
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    if (!SESSION_DIR.test(name)) continue;
    const dir = join(base, name);
    try {
      if (uid !== undefined && statSync(dir).uid !== uid) continue;
      const [pid, start] = readFileSync(join(dir, OWNER), 'utf8').trim().split(' ').map(Number);
      const stat = readStat(pid);
      if (stat && stat.starttime === start) continue; // its cmdrun still runs
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // no owner file, or not ours to remove
    }
  }
}
