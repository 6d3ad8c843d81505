/**
 * How a shell is reached: the PTY's program for each transport (local.ts, ssh.ts, container.ts,
 * sharing remote.ts's bootstrap), and what a transport keeps running beside it (a container
 * shell's keeper).
 */
import { join } from 'node:path';
import { Keeper, containerLaunch, type ContainerOptions } from './container.js';
import { localLaunch } from './local.js';
import type { RemoteOptions } from './remote.js';
import { SESSION_ENV } from './session-types.js';
import type { SessionLayout, ShellProfile } from './shells.js';
import { sshLaunch } from './ssh.js';
import type { SshTarget } from './target.js';

/** What a transport needs to start a shell. */
export interface TransportSpec {
  profile: ShellProfile;
  shell: string;
  /** Where the session's files are (on the far side for a remote shell). */
  layout: SessionLayout;
  /** The local working directory of the PTY's program (a local shell's first directory). */
  cwd: string;
  /** The environment of the PTY's program (the user's, with SESSION_ENV). */
  env: Record<string, string>;
  /** Id of the ready marker (and of the leader's `q` and `w` markers). */
  readyId: string;
  remote?: RemoteOptions;
}

/** The PTY's program, directory and environment, and what runs beside the shell. */
export interface TransportLaunch {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** A container shell's keeper, to release once the PTY's program has ended. */
  keeper?: Keeper;
}

/**
 * Prepares a shell's start on its transport: the startup file (written here for a local shell, by
 * the bootstrap on the far side), the PTY's program and, for a container, the keeper.
 * @throws the fs error when a local startup file cannot be written; TargetError for a target that
 *   parseTarget would refuse.
 */
export function launchShell({ profile, shell, layout, cwd, env, readyId, remote }: TransportSpec): TransportLaunch {
  const rcPath = join(layout.dir, profile.rcName);
  const extra = profile.env(layout.dir, rcPath);
  // A remote shell's environment is the far side's: nothing of it to restore from here.
  const restore = Object.fromEntries(Object.keys(extra).map((key) => [key, remote ? undefined : env[key]]));
  const rc = profile.rc({ readyId, restore, ...layout });
  const shellLaunch = profile.launch(shell, rcPath, readyId, layout);
  if (!remote) return localLaunch(shellLaunch, rcPath, rc, cwd, env, extra);
  const files = { bootId: `${readyId}-boot`, leaderId: readyId, rcName: profile.rcName, rc };
  const farEnv = { ...extra, ...SESSION_ENV };
  if (remote.target.kind === 'ssh') {
    return { ...sshLaunch(remote as RemoteOptions & { target: SshTarget }, layout, files, shellLaunch, farEnv), cwd, env };
  }
  const options = remote as ContainerOptions;
  const launch = containerLaunch(options, layout, files, shellLaunch, farEnv);
  return { ...launch, cwd, env, keeper: Keeper.start(options, layout.dir, env) };
}
