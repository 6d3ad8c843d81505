/** The types a {@link ShellProcess} takes and gives (shell-process.ts). */
import type { RemoteOptions } from './remote.js';
import type { ShellProcess } from './shell-process.js';
import type { SessionLayout, ShellProfile } from './shells.js';

/** What a remote shell's input watcher reports of the shell's commands in the foreground (`c` marker). */
export interface ChildrenReport {
  /** When the report arrived here (performance.now(), ms). */
  at: number;
  /** The time there as the watcher wrote the report (clock ticks since boot, USER_HZ = 100). */
  now: number;
  /** When each of the shell's children in the terminal's foreground process group started there (clock ticks since boot). */
  starts: number[];
}

/** How a block ended, as seen from this process. */
export interface BlockEnd {
  /** The block's exit status (`$?`), or 128 + signal number when the shell was killed. */
  exitCode: number;
  /** The shell's working directory after the block; undefined when the shell died. */
  cwd?: string;
  /** True when the shell exited during the block (`exit`, `exec`, a signal). */
  shellExited: boolean;
  /**
   * True when the terminal closed with no word from the session leader: the leader was killed,
   * or, for a remote shell, ssh ended (the connection was lost or closed); exitCode is then ssh's.
   */
  hungUp?: boolean;
}

/** A shell that could not start; `status` is its exit status (ssh's 255 for a remote one) when it exited. */
export class ShellStartError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ShellStartError';
  }
}

/** Options for {@link ShellProcess.spawn}. */
export interface SpawnOptions {
  profile: ShellProfile;
  /** The shell executable, a name looked up in PATH or a path. */
  shell: string;
  /** The session's private temp folder, where the startup file is written. */
  dir: string;
  cwd: string;
  env: Record<string, string>;
  cols: number;
  rows: number;
  /** Where the session's files are (on the remote machine for a remote shell). */
  layout: SessionLayout;
  /** How long to wait for the startup file's ready marker, in ms (default 10 s; remote 120 s). */
  readyTimeoutMs?: number;
  /** Run the shell on another machine over ssh or in a container (layout.remote is then true). */
  remote?: RemoteOptions;
  /** Receives what the terminal shows before the shell is ready (a remote: ssh's prompts and messages). */
  onEarly?: OutputReceiver;
  /** Called with the process as soon as it is spawned, before it is ready (to type into ssh's prompts). */
  onSpawned?: (proc: ShellProcess) => void;
}

/**
 * Receives terminal output: `bytes` as the terminal gave them, and `text`, their UTF-8 decoding
 * (invalid bytes as U+FFFD). Chunks end on character boundaries (utf8.ts), so each decodes alone.
 */
export type OutputReceiver = (text: string, bytes: Buffer) => void;
