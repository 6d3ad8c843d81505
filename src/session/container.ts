/**
 * The container transport: a session's shell inside a running container, through the engine's own
 * CLI (`docker` or `podman`, or what `--docker-command` / `--podman-command` name). The PTY runs
 * `ENGINE exec -it --detach-keys=... [-u USER] -- CONTAINER sh -c BOOTSTRAP` (remote.ts), with the
 * user's environment as it is, so DOCKER_HOST, DOCKER_CONTEXT and CONTAINER_HOST apply as in their
 * terminal. The container needs only `sh` and a POSIX userland (busybox is enough), and the shell.
 *
 * An exec'd process is not told when its client goes (the engine keeps its terminal open), so each
 * shell has a keeper: a small process on this machine, in a session of its own, that waits for
 * cmdrun to let go of the shell (or to die: its end of a pipe closes either way) and then ends the
 * session's processes in the container and removes its folder (SESSION_CLEANUP).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { containerArgs, type ContainerTarget } from './target.js';
import { bootstrap, dirPattern, SESSION_CLEANUP, type BootFiles, type RemoteOptions } from './remote.js';
import type { Launch, SessionLayout } from './shells.js';

/** Remote options whose target is a container. */
export type ContainerOptions = RemoteOptions & { target: ContainerTarget };

/**
 * The detach keys given to `exec`: none at all for podman (`--detach-keys=`); docker has no
 * "none", so a sequence no one types (four NULs). With the default (Ctrl-P Ctrl-Q) a block's input
 * holding them would detach the session.
 */
const DETACH_KEYS = { podman: '--detach-keys=', docker: '--detach-keys=ctrl-@,ctrl-@,ctrl-@,ctrl-@' } as const;

/** The engine's command as the user gave it (read by sh), default the engine's name. */
const engineCommand = (remote: ContainerOptions): string =>
  (remote.target.engine === 'docker' ? remote.dockerCommand : remote.podmanCommand)?.trim() || remote.target.engine;

/** `sh -c 'exec ENGINE_COMMAND "$@"' ENGINE ARGS...`: the engine's command read by a shell, as `--ssh-command` is. */
const viaShell = (remote: ContainerOptions, args: string[]): Launch => ({
  file: 'sh',
  args: ['-c', `exec ${engineCommand(remote)} "$@"`, remote.target.engine, ...args],
});

/**
 * The PTY's program for a shell in a container: `ENGINE exec -it` with the target's user, `--`,
 * the container, and `sh -c BOOTSTRAP`.
 * @param shellLaunch the profile's launch (leader and shell) with paths in the container.
 * @param env variables the shell needs (BASH_ENV, PAGER, ...), exported by the bootstrap.
 */
export function containerLaunch(remote: ContainerOptions, layout: SessionLayout, files: BootFiles, shellLaunch: Launch, env: Record<string, string>): Launch {
  const exec = ['exec', '-i', '-t', DETACH_KEYS[remote.target.engine], ...containerArgs(remote.target)];
  return viaShell(remote, [...exec, 'sh', '-c', bootstrap(layout, files, shellLaunch, env)]);
}

/**
 * A container shell's keeper (see the file's comment). Started with the shell; {@link release}
 * (or cmdrun's death) makes it end the session in the container, then it exits.
 */
export class Keeper {
  private constructor(private readonly child: ChildProcess) {}

  /**
   * Starts the keeper of the session whose folder in the container is `dir`.
   * @param env the environment the engine's CLI runs with (the session's: DOCKER_HOST...).
   */
  static start(remote: ContainerOptions, dir: string, env: Record<string, string>): Keeper {
    const cleanup = viaShell(remote, ['exec', ...containerArgs(remote.target), 'sh', '-c', SESSION_CLEANUP, 'sh', dirPattern(dir)]);
    // Reads its stdin to the end (cmdrun closed it, or died), then runs the clean-up; the engine
    // can fail to start an exec under load (a lock, the runtime), so a failure is tried again
    // (the clean-up itself exits 0), four tries a second apart.
    const script = 'while read -r _; do :; done; for t in 1 2 3 4; do "$@" >/dev/null 2>&1 && exit 0; sleep 1; done';
    const child = spawn('sh', ['-c', script, 'keeper', cleanup.file, ...cleanup.args], {
      detached: true, // a session of its own: a signal to cmdrun's terminal or group does not reach it
      stdio: ['pipe', 'ignore', 'ignore'],
      env,
    });
    child.on('error', () => {}); // no sh: nothing to keep
    child.stdin?.on('error', () => {});
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return new Keeper(child);
  }

  /** The shell is gone or let go of: the keeper ends its processes and folder in the container. Idempotent. */
  release(): void {
    this.child.stdin?.destroy();
  }
}

/**
 * The container's state as its engine reports it (`running`, `exited`, `paused`, ...), or undefined
 * when the engine knows no such container or cannot be asked (unreachable, not installed). At most
 * 10 s.
 */
export function containerState(remote: ContainerOptions, env: Record<string, string>): Promise<string | undefined> {
  const { file, args } = viaShell(remote, ['container', 'inspect', '--format', '{{.State.Status}}', '--', remote.target.container]);
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 10_000 }, (err, stdout) => resolve(err ? undefined : stdout.trim() || undefined));
  });
}
