/**
 * The local transport: the shell on this machine, under its session leader in the PTY. The session's
 * folder (a fresh 0700 temp folder naming its owner, stale-dirs.ts) and the startup file are
 * written here; the leader and the shell are the profile's launch (shells.ts).
 */
import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { layoutPaths, type Launch } from './shells.js';
import { claimSessionDir, removeStaleSessionDirs } from './stale-dirs.js';

/**
 * Makes a local session's folder: `$TMPDIR/cmdrun-XXXXXX` (0700), owned by this process, with the
 * folders of `layout`'s paths and the tty link; folders left by a cmdrun that is gone are removed
 * first. `relName` is the layout's block name (SessionLayout.relName). `fill` gets the folder, and
 * on any error the folder is removed again.
 * @throws the fs error when the folder cannot be made, or `fill`'s.
 */
export async function makeSessionDir<T>(relName: string, fill: (dir: string) => Promise<T>): Promise<T> {
  removeStaleSessionDirs();
  const dir = await mkdtemp(join(tmpdir(), 'cmdrun-'));
  try {
    claimSessionDir(dir);
    const paths = layoutPaths({ dir, relName, scriptName: relName, cwd: '' });
    for (const path of Object.values(paths)) await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await symlink('/dev/tty', paths.tty);
    return await fill(dir);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The PTY's program for a local shell: writes the startup file `rc` at `rcPath` (0600) and gives
 * the profile's launch, run in `cwd` (unless the launch names its own) with `env` plus the
 * variables that make the shell read the startup file.
 * @throws the fs error when the startup file cannot be written.
 */
export function localLaunch(shellLaunch: Launch, rcPath: string, rc: string, cwd: string, env: Record<string, string>, extra: Record<string, string>): Launch & { cwd: string; env: Record<string, string> } {
  writeFileSync(rcPath, rc, { mode: 0o600 });
  return { ...shellLaunch, cwd: shellLaunch.cwd ?? cwd, env: { ...env, ...extra } };
}
