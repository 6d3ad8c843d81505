/**
 * The sessions of a notebook, one per target (target.ts): the default one (`--on`, else this
 * machine) and one for each other target a block names (`on="ssh://db1"`, `on="docker://web"`), started on first use.
 * Each keeps its own state; runs still execute one at a time (RunQueue).
 */
import { ShellSession, type SessionOptions } from './session.js';
import { formatTarget, parseTarget, type SshVia, type Target } from './target.js';

/** How to start the sessions of a pool. */
export interface PoolOptions {
  /** Options every session shares (shell, scriptName, env, size); `cwd` is the local session's. */
  session: SessionOptions;
  /** The first directory on the default target when it is remote ('' = the remote user's home, the default); other remote targets start in the home. */
  remoteCwd?: string;
  /** The command that runs ssh (`--ssh-command`, CMDRUN_SSH_COMMAND); default `ssh`. */
  sshCommand?: string;
  /** The command that runs docker (`--docker-command`, CMDRUN_DOCKER_COMMAND); default `docker`. */
  dockerCommand?: string;
  /** The command that runs podman (`--podman-command`, CMDRUN_PODMAN_COMMAND); default `podman`. */
  podmanCommand?: string;
  /** No terminal answers ssh's prompts: ssh runs with BatchMode=yes (remote.ts). */
  batch?: boolean;
}

/** The sessions of one notebook, by target. */
export class SessionPool {
  private readonly sessions = new Map<string, Promise<ShellSession>>();
  private readonly started: ShellSession[] = [];
  private background: (text: string, session: ShellSession, bytes: Buffer) => void = () => {};

  private constructor(
    /** The default session: blocks that name no target run here. */
    private readonly first: ShellSession,
    private readonly options: PoolOptions | undefined,
  ) {
    this.sessions.set(first.target, Promise.resolve(first));
    this.started.push(first);
    first.onBackground((text, bytes) => this.background(text, first, bytes));
  }

  /** The default session: blocks that name no target run here. */
  get default(): ShellSession {
    return this.first;
  }

  /**
   * Starts the default session on `target` (a remote one connects with its first block).
   * @throws Error when the shell is not supported or the local shell cannot start.
   */
  static async start(target: Target, options: PoolOptions): Promise<SessionPool> {
    return new SessionPool(await startSession(target, options, options.remoteCwd ?? ''), options);
  }

  /** A pool of one session (the default), for callers that start it themselves; other targets are refused. */
  static of(session: ShellSession): SessionPool {
    return new SessionPool(session, undefined);
  }

  /**
   * The session of `on` (a target as written; undefined: the default), started on first use. An
   * inventory host's `via` (its address, port, user) is part of what tells sessions apart.
   * @throws TargetError for a malformed target; Error when the pool has no options to start it or
   * the local shell cannot start.
   */
  get(on?: string, via?: SshVia): Promise<ShellSession> {
    if (on === undefined) return Promise.resolve(this.default);
    const parsed = parseTarget(on);
    const target: Target = parsed.kind === 'ssh' && via ? { ...parsed, via } : parsed;
    const key = formatTarget(target) + (parsed.kind === 'ssh' && via ? ` ${JSON.stringify(via)}` : '');
    let session = this.sessions.get(key);
    if (!session) {
      if (!this.options) return Promise.reject(new Error(`this session cannot run blocks on ${key}`));
      session = startSession(target, this.options, '').then((s) => {
        this.started.push(s);
        s.onBackground((text, bytes) => this.background(text, s, bytes));
        return s;
      });
      session.catch(() => this.sessions.delete(key)); // the next block tries again
      this.sessions.set(key, session);
    }
    return session;
  }

  /** The sessions started so far, the default first. */
  list(): ShellSession[] {
    return [...this.started];
  }

  /** Sets the receiver of output printed while no block runs, in any session (text and bytes: RunOptions.onOutput). */
  onBackground(receiver: (text: string, session: ShellSession, bytes: Buffer) => void): void {
    this.background = receiver;
  }

  /** Closes every session (see ShellSession.close). */
  async close(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.then((x) => x.close()).catch(() => {})));
  }

  /** SIGKILLs every session's processes at once (see ShellSession.killNow). */
  killNow(): void {
    for (const session of this.started) session.killNow();
  }
}

/** Starts a session on `target`: this machine in the local cwd, or over ssh or in a container in `remoteCwd`. */
function startSession(target: Target, options: PoolOptions, remoteCwd: string): Promise<ShellSession> {
  if (target.kind === 'local') return ShellSession.start(options.session);
  const { sshCommand, dockerCommand, podmanCommand, batch } = options;
  return ShellSession.start({
    ...options.session,
    cwd: remoteCwd,
    remote: { target, sshCommand, dockerCommand, podmanCommand, batch },
  });
}
