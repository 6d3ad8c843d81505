/**
 * What a session is asked and answers (ShellSession, session.ts): its options, a block's options and
 * outcome, and the environment and file name its shell gets.
 */
import type { RemoteOptions } from './remote.js';

/** `starting`: a shell is being spawned; `idle`: ready; `busy`: a block runs; `dead`: closed. */
export type SessionStatus = 'starting' | 'idle' | 'busy' | 'dead';

/** Options for {@link ShellSession.start}. */
export interface SessionOptions {
  /** Shell name or path; default `bash`. */
  shell?: string;
  /** Working directory of the first shell (and of every restarted one). */
  cwd: string;
  /** Base environment; default `process.env`. TERM and PAGER are always set (see {@link shellEnv}). */
  env?: NodeJS.ProcessEnv;
  /** Terminal size in character cells; default 120 x 30. */
  cols?: number;
  rows?: number;
  /**
   * The script's name as the user gave it (`deploy.sh`, `./ops/deploy.sh`): bash's `$0` and the
   * name its messages start with, as `bash ./ops/deploy.sh` prints them. Default `block.sh`.
   */
  scriptName?: string;
  /**
   * Run the shell on another machine over ssh or in a container (remote.ts). `cwd` is then a
   * directory there ('' = the user's home there), and the shell starts with the first block, so
   * that ssh's (or the engine's) prompts and messages are that block's output (and its input
   * answers them).
   */
  remote?: RemoteOptions;
}

/** The outcome of one block. */
export interface BlockResult {
  /** `$?` after the block; 128 + N when a signal N ended the shell; 2 for a syntax error. */
  exitCode: number;
  /** The session's working directory after the block. */
  cwd: string;
  /** True when the block was interrupted through {@link ShellSession.interrupt}. */
  interrupted: boolean;
  /** True when the shell died during (or before) this block and a fresh one took its place. */
  sessionRestarted: boolean;
  /** A remote shell that could not be started (ssh failed to connect or log in): ssh's status and message. */
  unreachable?: boolean;
}

/** Options for one {@link ShellSession.run}. */
export interface RunOptions {
  /** 1-based line of the block's first line in the script: messages and $LINENO match the file. */
  lineStart?: number;
  /**
   * Receives the block's terminal output as it arrives: `bytes` exactly as the terminal gave them
   * (for a consumer that passes output on byte for byte: `cmdrun run`), and `text`, their UTF-8
   * decoding with invalid bytes as U+FFFD (for events, the page, the history). Chunks end on
   * character boundaries, so each chunk's text is the decoding of its bytes (utf8.ts); `\n` line
   * ends (the terminal's `onlcr` is off).
   */
  onOutput: (text: string, bytes: Buffer) => void;
  /** Called when the block starts waiting for terminal input (once per wait; see waitsForTerminalInput). */
  onWaiting?: () => void;
  /** Terminal width in character cells for this block (COLUMNS); default: unchanged. */
  cols?: number;
  /**
   * Run this program on the block's text instead of the shell (a Markdown fence's language), in the
   * session's cwd and environment. Not installed: exit status 127 and a message naming it.
   */
  interpreter?: Interpreter;
  /**
   * The offsets (UTF-16 code units) in `code` of its `return` commands outside any function, found
   * by the caller's parser (Splitters.topLevelReturns): bash reports them as `bash script.sh` does
   * and goes on (ShellProfile.topLevelReturn), where a sourced block would end.
   */
  topLevelReturns?: number[];
  /**
   * Typed into the terminal once the block has started (the shell has taken its line), for the
   * block to read: how parameter values reach the shell without a file or a command line.
   */
  input?: string;
}

/** Programs a block can name to run its text (`python3 FILE` in the session's shell). */
export const INTERPRETERS = ['python3', 'node', 'ruby', 'perl'] as const;
export type Interpreter = (typeof INTERPRETERS)[number];

/** What cmdrun sets in every session's environment, on this machine or another (remote.ts). */
export const SESSION_ENV = { TERM: 'xterm-256color', PAGER: 'cat', CMDRUN: '1' } as const;

/** The environment a session's shell gets: the user's own, plus {@link SESSION_ENV}. */
export function shellEnv(base: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value;
  delete env.COLUMNS; // the PTY's size is the truth; bash sets these from it (checkwinsize)
  delete env.LINES;
  return Object.assign(env, SESSION_ENV);
}

/**
 * The name a session's files get for the script `name` as given: the name itself when it is a
 * plain relative path (`deploy.sh`, `./ops/deploy.sh`: no `..`, no empty part), else its base name.
 */
export function relativeName(name: string): string {
  const parts = name.split('/');
  if (!name.startsWith('/') && parts.every((part) => part !== '' && part !== '..')) return name;
  return parts.filter((part) => part !== '' && part !== '..' && part !== '.').at(-1) ?? 'block.sh';
}
