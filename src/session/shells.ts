/**
 * What differs between shells: how to start one with our hooks, and the line that runs a block.
 * Only bash is supported for now; zsh and dash fit the same shape (shared/notes/shell-session.md).
 */
import { basename } from 'node:path';
import { MARKER_PREFIX } from './markers.js';

/** How to drive one kind of shell. */
export interface ShellProfile {
  /** The shell's name as users write it (`bash`). */
  name: string;
  /** Arguments that start an interactive shell reading `rcPath` instead of the user's startup files. */
  args(rcPath: string): string[];
  /** The startup file: empty prompts, no echo, the end-of-block hook, then the ready marker. */
  rc(readyId: string): string;
  /** The one line typed into the shell to run the block stored in `file` under marker id `id`. */
  runLine(id: string, file: string): string;
  /** Arguments that make the shell only check `file`'s syntax (`-n`, POSIX `set -n`). */
  checkArgs(file: string): string[];
}

const osc = MARKER_PREFIX.replace('\x1b', '\\033');

/**
 * bash (bash(1): INVOCATION, PROMPTING, `PROMPT_COMMAND`). The block is sourced at top level so
 * `declare`, `cd`, functions and aliases persist; the end hook runs both after `source` returns and
 * from PROMPT_COMMAND, which still runs when Ctrl-C aborts the line. The first of the two to run
 * writes the marker; the other finds `__cmdrun_id` empty and stays silent. When a block makes the
 * shell exit, the EXIT trap writes an `x` marker and waits (2 s at most) for a newline from cmdrun,
 * so every byte printed before it has been read when the terminal hangs up.
 */
export const bash: ShellProfile = {
  name: 'bash',
  args: (rcPath) => ['--noprofile', '--rcfile', rcPath, '--noediting', '-i'],
  rc: (readyId) => `# cmdrun: generated startup file
PS1=''; PS2=''; PS0=''
unset HISTFILE PROMPT_COMMAND BASH_ENV
set +o history
stty -echo -onlcr 2>/dev/null
__cmdrun_id=
__cmdrun_end() {
  if [ -n "\${__cmdrun_id-}" ]; then
    \\builtin printf '${osc}e;%s;%s;%s\\007' "$__cmdrun_id" "$1" "$PWD" >/dev/tty
    __cmdrun_id=
  fi
  case "\${PROMPT_COMMAND-}" in *__cmdrun_prompt*) ;; *) PROMPT_COMMAND="__cmdrun_prompt\${PROMPT_COMMAND:+;$PROMPT_COMMAND}";; esac
  return "$1"
}
__cmdrun_prompt() { __cmdrun_end "$?"; }
PROMPT_COMMAND=__cmdrun_prompt
__cmdrun_exit() {
  if [ -n "\${__cmdrun_id-}" ]; then
    \\builtin printf '${osc}x;%s;%s\\007' "$__cmdrun_id" "$1" >/dev/tty
    \\builtin read -r -t 2 __cmdrun_ack </dev/tty
  fi
}
trap '__cmdrun_exit "$?"' EXIT
\\builtin printf '${osc}r;%s\\007' '${readyId}' >/dev/tty
`,
  runLine: (id, file) =>
    `__cmdrun_id=${id}; \\builtin printf '${osc}s;%s\\007' ${id} >/dev/tty; \\builtin source ${quote(file)}; __cmdrun_end "$?"`,
  checkArgs: (file) => ['-n', file],
};

const PROFILES: Record<string, ShellProfile> = { bash };

/**
 * Finds the profile for a shell given by name or path (`bash`, `/usr/bin/bash`).
 * @throws Error when the shell is not one cmdrun can drive.
 */
export function profileFor(shell: string): ShellProfile {
  const profile = PROFILES[basename(shell)];
  if (!profile) {
    throw new Error(`unsupported shell "${shell}": cmdrun supports ${Object.keys(PROFILES).join(', ')}`);
  }
  return profile;
}

/** Quotes a word for POSIX shells (single quotes, `'` written as `'\''`). */
export function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
