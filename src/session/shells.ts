/**
 * What differs between shells: how to start one with cmdrun's hooks, how it checks a block's syntax
 * in place, and the line that runs a block (shared/notes/shell-session.md). Every profile keeps the
 * same protocol:
 * - a small session leader (`sh -c`, or `bash -c` to set `$0`) owns the terminal and starts the
 *   interactive shell as its child. When the shell ends for any reason (`exit`, `exec cmd`, a
 *   signal, `set -e`), the leader writes a `q` marker with its status and keeps the terminal open,
 *   so every byte printed before is read: the terminal is hung up only when cmdrun kills the leader;
 * - the startup file empties the prompts, turns off `onlcr` (the PTY then passes `\n` through,
 *   ~10x the throughput; renderers treat `\n` as a new line) and line editing, installs a hook that
 *   writes the end marker with `$?` and `$PWD` to /dev/tty, and writes the ready marker (with the
 *   shell's pid) last;
 * - the block line writes the start marker, checks the block's syntax inside the shell (so it sees
 *   the session's options and aliases: `extglob`, `globstar`, ...), then sources the block file at
 *   top level (so `cd`, variables, functions and aliases persist) and calls the end hook; the prompt
 *   hook calls it too, which covers a line aborted by Ctrl-C. The first call writes the marker;
 *   later ones are silent (bash, zsh) or carry a stale id that cmdrun ignores (dash).
 */
import { basename } from 'node:path';
import { MARKER_PREFIX } from './markers.js';

/** Values the startup file needs. */
export interface RcContext {
  /** Id of the ready marker. */
  readyId: string;
  /** Environment variables the profile set to load its startup file, to restore for the user. */
  restore: Record<string, string | undefined>;
  /** The session's private temp folder (the syntax check writes its messages there). */
  dir: string;
  /** The script's name as given, as messages name it (`deploy.sh: line 3: ...`). */
  scriptName: string;
  /** The block file's name in `dir` (the check's copy has it too). */
  fileName: string;
}

/** What one run line does. */
export interface RunStep {
  /** The file holding the block, padded with blank lines so line numbers are the script's. */
  file: string;
  /** The check's copy of the block ({@link checkText}), parsed in place before the block runs. */
  check?: string;
  /** Run this program on the file instead of sourcing it in the shell (no syntax check). */
  interpreter?: string;
}

/** How to start a shell: the program and arguments handed to the PTY. */
export interface Launch {
  file: string;
  args: string[];
}

/** How to drive one kind of shell. */
export interface ShellProfile {
  /** The shell's name as users write it (`bash`). */
  name: string;
  /** File name of the startup file in the session's temp folder. */
  rcName: string;
  /**
   * The session leader and the interactive shell under it. `leaderId` goes into the `q` marker the
   * leader writes when the shell has ended; `scriptName` becomes the shell's `$0` where the shell
   * allows it (bash, as `bash deploy.sh` sets it).
   */
  launch(shell: string, rcPath: string, leaderId: string, scriptName: string): Launch;
  /** Environment variables that make the shell read the startup file in `dir`. */
  env(dir: string, rcPath: string): Record<string, string>;
  /** The startup file. */
  rc(ctx: RcContext): string;
  /** The one line typed into the shell to run a block under marker id `id`. */
  runLine(id: string, step: RunStep): string;
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
 * The session leader's script (POSIX sh; `exec -a` where `argv0` is given, bash only). It runs the
 * shell in a subshell, reports how it ended, and then only holds the terminal until cmdrun kills
 * it (a hang-up would discard output not yet read).
 */
function leaderScript(leaderId: string, argv0: boolean): string {
  // The leader's own stderr is closed: it would report the shell killed by a signal ("Killed").
  return `exec 3>&2 2>/dev/null; (exec ${argv0 ? '-a "$0" ' : ''}"$@" 2>&3 3>&-); __s=$?; printf '${osc}q;%s;%s\\007' ${leaderId} "$__s" >/dev/tty; exec sleep 2147483647`;
}

/**
 * The end hook, shared by every startup file. `b` is the prefix that bypasses aliases and
 * functions (`\builtin ` in bash and zsh, empty in dash); `afterEnd` re-installs the prompt hook if
 * a block replaced it.
 */
function endHook(b: string, afterEnd: string): string {
  return `__cmdrun_id=
__cmdrun_end() {
  if [ -n "\${__cmdrun_id-}" ]; then
    ${b}printf '${osc}e;%s;%s;%s\\007' "$__cmdrun_id" "$1" "$PWD" >/dev/tty
    __cmdrun_id=
  fi
  ${afterEnd}
  return 0
}
__cmdrun_status() { return "$1"; }`;
}

/**
 * The in-shell syntax check. cmdrun writes the block a second time as the body of a function
 * defined inside `if false` (see {@link checkText}); sourcing that parses it with the session's
 * options and aliases and runs none of it. The shell's message names that file: `from` in it is
 * replaced by `to`, so it reads as `bash -n deploy.sh` (`zsh -n`) prints it.
 * Status 2 on a syntax error, as bash reports one.
 */
function checkFunction(b: string, source: string, dir: string, from: string, to: string): string {
  const err = quote(`${dir}/check.err`);
  return `__cmdrun_check() {
  ${source} "$1" 2>|${err} && ${b}return 0
  ${b}local __cmdrun_t= __cmdrun_f=${quote(from)} __cmdrun_r=${quote(to)}
  IFS= ${b}read -r -d '' __cmdrun_t <${err} || ${b}true
  ${b}printf '%s' "\${__cmdrun_t//"$__cmdrun_f"/"$__cmdrun_r"}" >&2
  ${b}return 2
}`;
}

/** Where the check's copy of the block goes, in the session's folder (named as the script). */
export const checkPath = (dir: string, fileName: string): string => `${dir}/check/${fileName}`;

/**
 * The check's copy of a block (already padded to the script's line numbers): the wrapper starts
 * on the block's first line and closes on lines of their own, after a blank line, so a block that
 * ends in `\` still closes.
 */
export const checkText = (padded: string): string => `if false; then __cmdrun_c() { ${padded}\n\n}\nfi\n`;

/**
 * The block line: start marker, then the check and `source` (or the interpreter on the file),
 * then the end hook with the status. An interpreter that is not installed is status 127 with a
 * message naming it (as a shell reports a missing command).
 */
function runLineOf(b: string, source: string) {
  return (id: string, { file, check, interpreter }: RunStep): string => {
    const start = `__cmdrun_id=${id}; ${b}printf '${osc}s;%s\\007' ${id} >/dev/tty;`;
    if (interpreter) {
      const prog = quote(interpreter);
      return (
        `${start} if ${b}command -v ${prog} >/dev/null 2>&1; then ${prog} ${quote(file)}; ` +
        `else ${b}printf 'cmdrun: %s: not installed (this block runs with it)\\n' ${prog} >&2; __cmdrun_status 127; fi; __cmdrun_end "$?"`
      );
    }
    const run = `${source} ${quote(file)}`;
    return `${start} ${check ? `__cmdrun_check ${quote(check)} && ${run}` : run}; __cmdrun_end "$?"`;
  };
}

/** bash (bash(1): INVOCATION, PROMPTING, `PROMPT_COMMAND`). */
export const bash: ShellProfile = {
  name: 'bash',
  rcName: 'bashrc',
  launch: (shell, rcPath, leaderId, scriptName) => ({
    file: shell,
    args: ['-c', leaderScript(leaderId, true), scriptName, shell, '--noprofile', '--rcfile', rcPath, '--noediting', '-i'],
  }),
  env: () => ({}),
  rc: ({ readyId, restore, dir, fileName }) => `# cmdrun: generated startup file
PS1=''; PS2=''; PS0=''
unset HISTFILE PROMPT_COMMAND BASH_ENV
set +o history
stty -onlcr 2>/dev/null
${restoreLines(restore)}
${endHook(
  '\\builtin ',
  `case "\${PROMPT_COMMAND-}" in *__cmdrun_prompt*) ;; *) PROMPT_COMMAND="__cmdrun_prompt\${PROMPT_COMMAND:+;$PROMPT_COMMAND}";; esac
  \\builtin set +o emacs +o vi`,
)}
${checkFunction('\\builtin ', '\\builtin source', dir, `${checkPath(dir, fileName)}: `, '')}
__cmdrun_prompt() { __cmdrun_end "$?"; }
PROMPT_COMMAND=__cmdrun_prompt
\\builtin printf '${osc}r;%s;%s\\007' '${readyId}' "$$" >/dev/tty
`,
  runLine: runLineOf('\\builtin ', '\\builtin source'),
};

/** zsh (zshall(1): STARTUP/SHUTDOWN FILES, `precmd_functions`). */
export const zsh: ShellProfile = {
  name: 'zsh',
  rcName: '.zshrc',
  launch: (shell, _rcPath, leaderId) => ({ file: 'sh', args: ['-c', leaderScript(leaderId, false), 'sh', shell, '-d', '-i'] }),
  env: (dir) => ({ ZDOTDIR: dir }),
  rc: ({ readyId, restore, dir, scriptName, fileName }) => `# cmdrun: generated startup file
PS1=''; PROMPT=''; RPROMPT=''; RPS1=''; PS2=''; RPS2=''
unsetopt zle prompt_cr prompt_sp beep
unset HISTFILE
stty -onlcr 2>/dev/null
${restoreLines(restore)}
${endHook(
  '\\builtin ',
  `(( \${precmd_functions[(Ie)__cmdrun_prompt]} )) || precmd_functions=(__cmdrun_prompt $precmd_functions)
  \\builtin unsetopt zle`,
)}
${checkFunction('\\builtin ', '\\builtin source', dir, `${checkPath(dir, fileName)}:`, `${scriptName}:`)}
__cmdrun_prompt() { __cmdrun_end "$?" }
precmd_functions=(__cmdrun_prompt)
\\builtin printf '${osc}r;%s;%s\\007' '${readyId}' "$$" >/dev/tty
`,
  runLine: runLineOf('\\builtin ', '\\builtin source'),
};

/**
 * dash, the Debian `sh` (dash(1): Invocation, ENV; PS1 undergoes command substitution). dash has
 * no prompt hook: PS1 runs the end hook in a subshell, so its `__cmdrun_id=` does not stick and
 * later prompts repeat a stale marker, which cmdrun ignores (its id is not the current block's).
 * A syntax error in a sourced file abandons the whole line in an interactive dash, so its check
 * only sources the wrapper: the prompt hook then reports status 2 with dash's own message.
 */
export const dash: ShellProfile = {
  name: 'dash',
  rcName: 'dashrc',
  launch: (shell, _rcPath, leaderId) => ({ file: 'sh', args: ['-c', leaderScript(leaderId, false), 'sh', shell, '-i'] }),
  env: (_dir, rcPath) => ({ ENV: rcPath }),
  rc: ({ readyId, restore }) => `# cmdrun: generated startup file
PS2=''
stty -onlcr 2>/dev/null
${restoreLines(restore)}
${endHook('', `PS1='$(__cmdrun_end "$?")'`)}
__cmdrun_check() { . "$1"; }
PS1='$(__cmdrun_end "$?")'
printf '${osc}r;%s;%s\\007' '${readyId}' "$$" >/dev/tty
`,
  runLine: runLineOf('', '.'),
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
