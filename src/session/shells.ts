/**
 * What differs between shells: how to start one with cmdrun's hooks, and the line that runs a
 * block (shared/notes/shell-session.md). Every profile keeps the same protocol:
 * - the startup file empties the prompts, turns off `onlcr` (the PTY then passes `\n` through,
 *   ~10x the throughput; renderers treat `\n` as a new line) and line editing, installs a hook that
 *   writes the end marker with `$?` and `$PWD` to /dev/tty, and writes the ready marker last;
 * - the block line writes the start marker, sources the block file at top level (so `cd`,
 *   variables, functions and aliases persist) and calls the end hook; the prompt hook calls it too,
 *   which covers a line aborted by Ctrl-C. The first call writes the marker; later ones are silent
 *   (bash, zsh) or carry a stale id that cmdrun ignores (dash);
 * - an EXIT hook writes an `x` marker and waits for cmdrun's newline, so all output printed before
 *   the shell exits is read before the terminal hangs up.
 */
import { basename } from 'node:path';
import { MARKER_PREFIX } from './markers.js';

/** Values the startup file needs. */
export interface RcContext {
  /** Id of the ready marker. */
  readyId: string;
  /** Environment variables the profile set to load its startup file, to restore for the user. */
  restore: Record<string, string | undefined>;
}

/** How to drive one kind of shell. */
export interface ShellProfile {
  /** The shell's name as users write it (`bash`). */
  name: string;
  /** File name of the startup file in the session's temp folder. */
  rcName: string;
  /** Arguments that start an interactive shell reading `rcPath` instead of the user's startup files. */
  args(rcPath: string): string[];
  /** Environment variables that make the shell read the startup file in `dir`. */
  env(dir: string, rcPath: string): Record<string, string>;
  /** The startup file. */
  rc(ctx: RcContext): string;
  /** The one line typed into the shell to run the block stored in `file` under marker id `id`. */
  runLine(id: string, file: string): string;
  /** Arguments that make the shell only check `file`'s syntax (`-n`, POSIX `set -n`). */
  checkArgs(file: string): string[];
}

const osc = MARKER_PREFIX.replace('\x1b', '\\033');

/** Quotes a word for POSIX shells (single quotes, `'` written as `'\''`). */
export function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Shell lines that give each variable of `restore` its original value (or unset it). */
function restoreLines(restore: RcContext['restore']): string {
  return Object.entries(restore)
    .map(([key, value]) => (value === undefined ? `unset ${key}` : `export ${key}=${quote(value)}`))
    .join('\n');
}

/**
 * The POSIX part shared by every startup file: the end and exit hooks. `b` is the prefix that
 * bypasses aliases and functions (`\builtin ` in bash and zsh, empty in dash); `afterEnd` re-installs
 * the prompt hook if a block replaced it; `ackRead` reads cmdrun's acknowledgement; `mainShell` is
 * true only in the session's shell itself, not in a subshell that runs the exit hook too (zsh).
 */
function hooks(b: string, afterEnd: string, ackRead: string, mainShell = 'true'): string {
  return `__cmdrun_id=
__cmdrun_pid=$$
__cmdrun_end() {
  if [ -n "\${__cmdrun_id-}" ]; then
    ${b}printf '${osc}e;%s;%s;%s\\007' "$__cmdrun_id" "$1" "$PWD" >/dev/tty
    __cmdrun_id=
  fi
  ${afterEnd}
  return 0
}
__cmdrun_exit() {
  ${mainShell} || return 0
  if [ -n "\${__cmdrun_id-}" ]; then
    stty -echo 2>/dev/null
    ${b}printf '${osc}x;%s;%s\\007' "$__cmdrun_id" "$1" >/dev/tty
    ${ackRead}
  fi
}`;
}

const runLine = (b: string, source: string) => (id: string, file: string) =>
  `__cmdrun_id=${id}; ${b}printf '${osc}s;%s\\007' ${id} >/dev/tty; ${source} ${quote(file)}; __cmdrun_end "$?"`;

/** bash (bash(1): INVOCATION, PROMPTING, `PROMPT_COMMAND`). */
export const bash: ShellProfile = {
  name: 'bash',
  rcName: 'bashrc',
  args: (rcPath) => ['--noprofile', '--rcfile', rcPath, '--noediting', '-i'],
  env: () => ({}),
  rc: ({ readyId, restore }) => `# cmdrun: generated startup file
PS1=''; PS2=''; PS0=''
unset HISTFILE PROMPT_COMMAND BASH_ENV
set +o history
stty -onlcr 2>/dev/null
${restoreLines(restore)}
${hooks(
  '\\builtin ',
  `case "\${PROMPT_COMMAND-}" in *__cmdrun_prompt*) ;; *) PROMPT_COMMAND="__cmdrun_prompt\${PROMPT_COMMAND:+;$PROMPT_COMMAND}";; esac
  \\builtin set +o emacs +o vi`,
  '\\builtin read -r -t 2 __cmdrun_ack </dev/tty',
  '[ "$BASHPID" = "$__cmdrun_pid" ]',
)}
__cmdrun_prompt() { __cmdrun_end "$?"; }
PROMPT_COMMAND=__cmdrun_prompt
trap '__cmdrun_exit "$?"' EXIT
\\builtin printf '${osc}r;%s\\007' '${readyId}' >/dev/tty
`,
  runLine: runLine('\\builtin ', '\\builtin source'),
  checkArgs: (file) => ['-n', file],
};

/** zsh (zshall(1): STARTUP/SHUTDOWN FILES, `precmd_functions`, `zshexit_functions`). */
export const zsh: ShellProfile = {
  name: 'zsh',
  rcName: '.zshrc',
  args: () => ['-d', '-i'],
  env: (dir) => ({ ZDOTDIR: dir }),
  rc: ({ readyId, restore }) => `# cmdrun: generated startup file
PS1=''; PROMPT=''; RPROMPT=''; RPS1=''; PS2=''; RPS2=''
unsetopt zle prompt_cr prompt_sp beep
unset HISTFILE
zmodload zsh/system
stty -onlcr 2>/dev/null
${restoreLines(restore)}
${hooks(
  '\\builtin ',
  `(( \${precmd_functions[(Ie)__cmdrun_prompt]} )) || precmd_functions=(__cmdrun_prompt $precmd_functions)
  \\builtin unsetopt zle`,
  '\\builtin read -r -t 2 __cmdrun_ack </dev/tty',
  '[[ $sysparams[pid] == $__cmdrun_pid ]]',
)}
__cmdrun_prompt() { __cmdrun_end "$?" }
precmd_functions=(__cmdrun_prompt)
zshexit_functions=(__cmdrun_zshexit)
__cmdrun_zshexit() { __cmdrun_exit "$?" }
\\builtin printf '${osc}r;%s\\007' '${readyId}' >/dev/tty
`,
  runLine: runLine('\\builtin ', '\\builtin source'),
  checkArgs: (file) => ['-n', file],
};

/**
 * dash, the Debian `sh` (dash(1): Invocation, ENV; PS1 undergoes command substitution). dash has
 * no prompt hook: PS1 runs the end hook in a subshell, so its `__cmdrun_id=` does not stick and
 * later prompts repeat a stale marker, which cmdrun ignores (its id is not the current block's).
 */
export const dash: ShellProfile = {
  name: 'dash',
  rcName: 'dashrc',
  args: () => ['-i'],
  env: (_dir, rcPath) => ({ ENV: rcPath }),
  rc: ({ readyId, restore }) => `# cmdrun: generated startup file
PS2=''
stty -onlcr 2>/dev/null
${restoreLines(restore)}
${hooks('', `PS1='$(__cmdrun_end "$?")'`, 'read -r __cmdrun_ack </dev/tty')}
PS1='$(__cmdrun_end "$?")'
trap '__cmdrun_exit "$?"' EXIT
printf '${osc}r;%s\\007' '${readyId}' >/dev/tty
`,
  runLine: runLine('', '.'),
  checkArgs: (file) => ['-n', file],
};

const PROFILES: Record<string, ShellProfile> = { bash, zsh, dash, sh: dash };

/** The shells cmdrun can drive, by name. */
export const SUPPORTED_SHELLS = Object.keys(PROFILES);

/**
 * Finds the profile for a shell given by name or path (`bash`, `/usr/bin/zsh`, `sh` = dash).
 * @throws Error when the shell is not one cmdrun can drive.
 */
export function profileFor(shell: string): ShellProfile {
  const profile = PROFILES[basename(shell)];
  if (!profile) {
    throw new Error(`unsupported shell "${shell}": cmdrun supports ${SUPPORTED_SHELLS.join(', ')}`);
  }
  return profile;
}
