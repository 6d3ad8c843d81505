/**
 * What differs between shells: how to start one with cmdrun's hooks, how it checks a block's syntax
 * in place, and the line that runs a block (shared/notes/shell-session.md). Every profile keeps the
 * same protocol:
 * - a small session leader (`sh -c`, or `bash -c` to set `$0`) owns the terminal and starts the
 *   interactive shell as its child. When the shell ends for any reason (`exit`, `exec cmd`, a
 *   signal, `set -e`), the leader writes a `q` marker with its status and keeps the terminal open,
 *   so every byte printed before is read: the terminal is hung up only when cmdrun kills the leader;
 * - the startup file empties the prompts, turns off `onlcr` (the PTY then passes `\n` through,
 *   ~10x the throughput; renderers treat `\n` as a new line) and line editing, turns on `noflsh`
 *   (Ctrl-C would otherwise discard what the shell wrote and cmdrun had not read yet, an end
 *   marker included: termios(3), NOFLSH) and `iutf8` (erase removes a whole UTF-8 character, as
 *   node-pty sets it when it decodes; it reads bytes here, see ShellProcess), installs a hook that
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
import { layoutPaths, type Launch, type RcContext, type RunStep, type SessionLayout, type ShellProfile } from './shell-profile.js';

export * from './shell-profile.js';

const osc = MARKER_PREFIX.replace('\x1b', '\\033');

/** Quotes a word for POSIX shells (single quotes, `'` written as `'\''`). */
export function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * `printf ARGS >/dev/tty` (ARGS as the shell reads them), tried up to three times. A Ctrl-C that
 * lands while the write waits for the terminal fails it with EINTR (the shells install their INT
 * handlers without SA_RESTART): printf writes nothing and says "write error: Interrupted system
 * call". A marker lost so left its block running for good (an interrupt as a quick block ended).
 * `b` bypasses aliases and functions (`\builtin ` in bash and zsh, empty in POSIX sh).
 */
const toTty = (b: string, args: string): string => `{ ${b}printf ${args} >/dev/tty 2>/dev/null || ${b}printf ${args} >/dev/tty 2>/dev/null || ${b}printf ${args} >/dev/tty; }`;

/** Shell lines that give each variable of `restore` its original value (or unset it). */
function restoreLines(restore: RcContext['restore']): string {
  return Object.entries(restore)
    .map(([key, value]) => (value === undefined ? `unset ${key}` : `export ${key}=${quote(value)}`))
    .join('\n');
}

/**
 * The session leader's script (POSIX sh). It runs the shell in a subshell, reports how it ended,
 * and then only holds the terminal until cmdrun kills it (a hang-up would discard output not yet
 * read). Its stderr is closed (it would report a shell killed by a signal: "Killed"), and Ctrl-C
 * only runs a no-op trap in it (a trap, unlike an ignored signal, is not inherited).
 */
export function leaderScript(leaderId: string, remoteDir?: string): string {
  const q = toTty('', `'${osc}q;%s;%s\\007' ${leaderId} "$__s"`);
  if (!remoteDir) return `trap : INT; exec 3>&2 2>/dev/null; ("$@" 2>&3 3>&-); __s=$?; ${q}; exec sleep 2147483647`;
  // On another machine the leader also removes the session's folder, even when the connection's
  // hang-up ended the shell (a trapped HUP lets the leader go on; the shell gets HUP's default),
  // and waits only on a terminal that is still there.
  return `trap : INT HUP; exec 3>&2 2>/dev/null; ("$@" 2>&3 3>&-); __s=$?; rm -rf ${quote(remoteDir)}; trap - HUP; ${q} && exec sleep 2147483647`;
}

/** The PTY's program for a shell started as `args` under the leader. */
const underLeader = (leaderId: string, layout: SessionLayout, args: string[], cwd?: string): Launch => ({
  file: 'sh',
  args: ['-c', leaderScript(leaderId, layout.remote ? layout.dir : undefined), 'sh', ...args],
  cwd,
});

/** `cd` to a session's first directory: `cwd`, or the user's home when it is empty (a remote default). */
export const cdTo = (b: string, cwd: string): string => `${b}cd -- ${cwd ? quote(cwd) : '"$HOME"'}`;

/**
 * `__cmdrun_get N [run] [COLS ROWS]`, for a shell on another machine: reads the N lines that
 * follow it on the terminal, each a printf(1) format that writes a piece of the block
 * (encodeBlockLines in remote.ts: printable ASCII as itself, every other byte as `\ooo`, so no
 * line is near the terminal's 4 KB limit and none holds a byte the line discipline acts on), and
 * writes the block file (after `prefix`) and the check's copy ({@link checkText}); with `run` (an
 * interpreter block), the block file alone. With COLS and ROWS it first sets the terminal's size
 * there and turns `onlcr` off again (stty(1)): the engine's client sends a resize on a channel of
 * its own (`docker exec` through the Docker API), which may come after the block started; and
 * conmon (podman's) turns `onlcr` on when it takes the exec's terminal from runc, which on a
 * loaded machine can be after the startup file turned it off. '' when the shell is local.
 */
function getFunction(b: string, ctx: RcContext, prefix: string): string {
  if (!ctx.remote) return '';
  const paths = layoutPaths(ctx);
  return `__cmdrun_get() {
  __cmdrun_n=$1 __cmdrun_r=
  ${b}shift
  if [ "\${1-}" = run ]; then __cmdrun_r=1; ${b}shift; fi
  [ "$#" -lt 2 ] || command stty -onlcr cols "$1" rows "$2" 2>/dev/null
  if [ -n "$__cmdrun_r" ]; then __cmdrun_cf=/dev/null; __cmdrun_p=; else __cmdrun_cf=${quote(paths.check)}; __cmdrun_p=${quote(prefix)}; fi
  {
    ${b}printf '%s' "$__cmdrun_p" >&3
    [ -n "$__cmdrun_r" ] || ${b}printf 'if false; then __cmdrun_c() { '
    while [ "$__cmdrun_n" -gt 0 ]; do
      IFS= ${b}read -r __cmdrun_l
      ${b}printf "$__cmdrun_l" >&3
      ${b}printf "$__cmdrun_l"
      __cmdrun_n=$((__cmdrun_n - 1))
    done
    [ -n "$__cmdrun_r" ] || ${b}printf '\\n\\n}\\nfi\\n'
  } 3>${quote(paths.block)} >"$__cmdrun_cf"
}`;
}

/**
 * The end hook, shared by every startup file. `b` is the prefix that bypasses aliases and
 * functions (`\builtin ` in bash and zsh, empty in dash); `afterEnd` re-installs the prompt hook if
 * a block replaced it.
 */
function endHook(b: string, ctx: SessionLayout, afterEnd: string): string {
  return `__cmdrun_id=
__cmdrun_end() {
  if [ -n "\${__cmdrun_id-}" ]; then
    ${toTty(b, `'${osc}e;%s;%s;%s\\007' "$__cmdrun_id" "$1" "$PWD"`)}${unwatched(b, ctx)}
    __cmdrun_id=
  fi
  ${afterEnd}
  return 0
}
`;
}

/**
 * The in-shell syntax check. cmdrun writes the block a second time as the body of a function
 * defined inside `if false` (see {@link checkText}); sourcing that parses it with the session's
 * options and aliases and runs none of it. The shell's message names that file: `from` in it is
 * replaced by `to`, so it reads as `bash -n deploy.sh` (`zsh -n`) prints it. Status 2 on a syntax
 * error, as bash reports one; `first` runs before (bash: a pending interrupt stops here).
 */
function checkFunction(b: string, source: string, dir: string, from: string, to: string, first = ''): string {
  const err = quote(`${dir}/check.err`);
  return `__cmdrun_check() {${first}
  ${source} "$1" 2>|${err} && ${b}return 0
  ${b}local __cmdrun_t= __cmdrun_f=${quote(from)} __cmdrun_r=${quote(to)}
  IFS= ${b}read -r -d '' __cmdrun_t <${err} || ${b}true
  ${b}printf '%s' "\${__cmdrun_t//"$__cmdrun_f"/"$__cmdrun_r"}" >&2
  ${b}return 2
}`;
}

/**
 * The check's copy of a block (already padded to the script's line numbers): the wrapper starts
 * on the block's first line and closes on lines of their own, after a blank line, so a block that
 * ends in `\` still closes.
 */
export const checkText = (padded: string): string => `if false; then __cmdrun_c() { ${padded}\n\n}\nfi\n`;

/**
 * On another machine the input watcher (remote.ts) reads the running block's id and the shell's
 * pid from the file `block`: `__cmdrun_pre` writes them (`ID PID`), and the end hook empties it
 * (an empty file: no block runs, the watcher then only checks that the session lives, once a
 * second). '' for a local session.
 */
const watchedBlock = (b: string, ctx: SessionLayout, text: string, indent = '  '): string => (ctx.remote ? `\n${indent}${b}printf '%s' ${text} >${quote(`${ctx.dir}/block`)}` : '');
const unwatched = (b: string, ctx: SessionLayout): string => watchedBlock(b, ctx, "''", '    ');

/**
 * `__cmdrun_pre ID [run]`, the first step of every block line: sets the block's id and writes its
 * start marker; for a shell block (no second word) it then checks the block's syntax and runs
 * `enter` (bash: goes to the folder the block is sourced from). `__cmdrun_with PROG FILE` runs an
 * interpreter block; one that is not installed is status 127 with a message naming it (as a shell
 * reports a missing command). Both live in the startup file, so the line typed for each block is
 * short: bash reads a script that is a terminal one byte per read(2) (a 330-byte line cost ~50 µs).
 */
function blockFunctions(b: string, ctx: SessionLayout, enter = ''): string {
  const check = layoutPaths(ctx).check;
  const watched = watchedBlock(b, ctx, '"$1 $$"');
  return `__cmdrun_pre() {
  __cmdrun_id=$1
  ${toTty(b, `'${osc}s;%s\\007' "$1"`)}${watched}
  [ "$#" -gt 1 ] && return 0
  __cmdrun_check ${quote(check)} || return${enter}
}
__cmdrun_with() {
  if ${b}command -v "$1" >/dev/null 2>&1; then "$@"; else ${b}printf 'cmdrun: %s: not installed (this block runs with it)\\n' "$1" >&2; return 127; fi
}`;
}

/** The block line: `__cmdrun_pre`, then `source` of the block file (or its interpreter), then the end hook. */
function blockLine(source: string, id: string, { file, interpreter, noInput }: RunStep, sourced = file): string {
  const stdin = noInput ? ' </dev/null' : '';
  if (interpreter) return `__cmdrun_pre ${id} run && __cmdrun_with ${quote(interpreter)} ${quote(file)}${stdin}; __cmdrun_end "$?"`;
  return `__cmdrun_pre ${id} && ${source} ${quote(sourced)}${stdin}; __cmdrun_end "$?"`;
}

/** A bash block file's first words: back to the session's directory (see bash). */
const BASH_PREFIX = '__cmdrun_back; ';

/**
 * bash, run as `bash script.sh` runs (bash(1): INVOCATION, `BASH_ENV`): a non-interactive bash
 * whose script is a link to the terminal named as the user named the script, so `$0`, messages
 * (`deploy.sh: line 7: ...`, with line numbers: bash prints them only when not interactive) and
 * the stop at an unbound variable (`set -u`) or a failed `${x:?}` are those of `bash deploy.sh`.
 * - Each block is sourced under its relative name from the session's `run` folder, so
 *   `${BASH_SOURCE[0]}` and messages read `deploy.sh`; its first line goes back to the session's
 *   directory (`__cmdrun_back`, the profile's block prefix) before any of the block runs.
 * - No job control, as in a script: Ctrl-C reaches the shell and its foreground command. The
 *   shell's INT trap then unwinds the block: with `extdebug`, a DEBUG trap that returns 2 makes
 *   every function and sourced file return at its next command (bash(1): `shopt` extdebug), back
 *   to the block line, whose end hook reports 130; the user's DEBUG trap is put back then.
 * - Aliases expand (`expand_aliases`), as a notebook user expects across blocks; job stop signals
 *   are ignored (no job control to resume a stopped shell).
 * - The syntax check parses with `extglob` on (`__cmdrun_parse`, as `bash -O extglob` parses: it
 *   accepts every extglob pattern and rejects nothing bash without it accepts). bash reads a
 *   script command by command, so a `shopt -s extglob` line holds for the lines after it; the
 *   check reads the block at once, and with the session's own setting it refused a block that
 *   turns extglob on and then uses it. A pattern used with extglob off is then bash's own syntax
 *   error when the block reaches that line, after the lines before it ran, as in `bash script.sh`.
 */
export const bash: ShellProfile = {
  name: 'bash',
  rcName: 'bashrc',
  jobControl: false,
  blockPrefix: BASH_PREFIX,
  launch: (shell, _rcPath, leaderId, layout) => underLeader(leaderId, layout, [shell, '--noprofile', '--norc', layout.relName], `${layout.dir}/tty`),
  env: (_dir, rcPath) => ({ BASH_ENV: rcPath }),
  rc: (ctx) => {
    const { readyId, restore, dir, scriptName, cwd } = ctx;
    // Where the interrupt handler keeps the block's DEBUG trap while it unwinds (a file: no $(...) in a handler).
    const debugTrap = quote(`${dir}/debug-trap`);
    return `# cmdrun: generated startup file (BASH_ENV)
${restoreLines(restore)}
stty -onlcr noflsh iutf8 2>/dev/null || stty -onlcr noflsh 2>/dev/null
\\builtin shopt -s expand_aliases
\\builtin trap '' TSTP TTIN TTOU
__cmdrun_id=
__cmdrun_int=
__cmdrun_in=
__cmdrun_end() {
  [ -z "$__cmdrun_in" ] || __cmdrun_back # stopped before the block's first line went back
  if [ -n "\${__cmdrun_id-}" ]; then
    \\builtin local __cmdrun_s=$1
    if [ -n "$__cmdrun_int" ]; then
      __cmdrun_s=130
      \\builtin trap - DEBUG
      \\builtin . ${debugTrap} 2>/dev/null # the block's own DEBUG trap, as trap -p printed it
      [ -n "$__cmdrun_xd" ] || \\builtin shopt -u extdebug
    fi
    ${toTty('\\builtin ', `'${osc}e;%s;%s;%s\\007' "$__cmdrun_id" "$__cmdrun_s" "$PWD"`)}${unwatched('\\builtin ', ctx)}
    __cmdrun_id=
    __cmdrun_int=
  fi
  return 0
}
__cmdrun_back() {
  __cmdrun_in=
  \\builtin cd -- "$__cmdrun_pwd"
  if [ -n "$__cmdrun_oset" ]; then OLDPWD=$__cmdrun_o; else \\builtin unset OLDPWD; fi
}
__cmdrun_interrupt() {
  [ -n "\${__cmdrun_id-}" ] && [ -z "$__cmdrun_int" ] || return 0
  case " \${FUNCNAME[*]} " in *" __cmdrun_end "*) return 0;; esac # the block has ended
  __cmdrun_int=1
  \\builtin trap -p DEBUG 2>/dev/null >|${debugTrap} # no $(...): a fork in this handler, as a second Ctrl-C comes, can leave bash 5.2 spinning for good
  if \\builtin shopt -q extdebug; then __cmdrun_xd=1; else __cmdrun_xd=; fi
  \\builtin shopt -s extdebug
  \\builtin trap __cmdrun_unwind DEBUG
}
__cmdrun_unwind() {
  case " \${FUNCNAME[*]} " in *" __cmdrun_end "*) return 0;; esac
  [ "\${#BASH_SOURCE[@]}" -le 2 ] || return 2
  case $BASH_COMMAND in __cmdrun_end*) return 0;; esac
  return 1
}
\\builtin trap __cmdrun_interrupt INT
__cmdrun_init() {
  __cmdrun_o=\${OLDPWD-}; __cmdrun_oset=\${OLDPWD+x}
  ${cdTo('\\builtin ', cwd)} || \\builtin exit 1
  if [ -n "$__cmdrun_oset" ]; then OLDPWD=$__cmdrun_o; else \\builtin unset OLDPWD; fi
  \\builtin unset -f __cmdrun_init
  \\builtin printf '${osc}r;%s;%s\\007' '${readyId}' "$$" >/dev/tty
}
__cmdrun_parse() {
  if \\builtin shopt -q extglob; then \\builtin source "$1"; \\builtin return; fi
  \\builtin shopt -s extglob
  \\builtin source "$1"
  \\builtin local __cmdrun_s=$?
  \\builtin shopt -u extglob
  \\builtin return "$__cmdrun_s"
}
${checkFunction('\\builtin ', '__cmdrun_parse', dir, `${layoutPaths(ctx).check}: `, `${scriptName}: `, `\n  [ -z "$__cmdrun_int" ] || \\builtin return 130`)}
${blockFunctions('\\builtin ', ctx, `\n  __cmdrun_pwd=$PWD; __cmdrun_o=\${OLDPWD-}; __cmdrun_oset=\${OLDPWD+x}; __cmdrun_in=1\n  \\builtin cd -- ${quote(`${dir}/run`)}`)}
${getFunction('\\builtin ', ctx, BASH_PREFIX)}
__cmdrun_return() {
  \\builtin printf '%s: line %s: return: can only \`return'"'"' from a function or sourced script\\n' "$0" "\${BASH_LINENO[0]}" >&2
  \\builtin return 2
}
`;
  },
  // Read from the terminal once bash has opened it as its script (after BASH_ENV, before which a
  // relative script name must still resolve in the tty folder): the session's cwd, then ready.
  initLine: '__cmdrun_init',
  runLine: (id, step, layout) => blockLine('\\builtin source', id, step, layout.relName),
  topLevelReturn: '__cmdrun_return',
};

/**
 * zsh (zshall(1): STARTUP/SHUTDOWN FILES, `precmd_functions`). Its TRAPINT (zshmisc(1): Trap
 * Functions) makes a Ctrl-C between blocks do nothing (status 0: as if none came): one that lands
 * as a quick block ends reached zsh as it read the next block line, which zsh then dropped, as an
 * interrupt at a prompt discards the line, and the next block never started. During a block it
 * returns 128 + the signal, so the shell is interrupted as before; a block's own INT trap
 * replaces it.
 */
export const zsh: ShellProfile = {
  name: 'zsh',
  rcName: '.zshrc',
  jobControl: true,
  emptyLineAfterCtrlC: true,
  blockPrefix: '',
  initLine: '',
  launch: (shell, _rcPath, leaderId, layout) => underLeader(leaderId, layout, [shell, '-d', '-i']),
  env: (dir) => ({ ZDOTDIR: dir }),
  rc: (ctx) => `# cmdrun: generated startup file
PS1=''; PROMPT=''; RPROMPT=''; RPS1=''; PS2=''; RPS2=''
unsetopt zle prompt_cr prompt_sp beep
unset HISTFILE
stty -onlcr noflsh iutf8 2>/dev/null || stty -onlcr noflsh 2>/dev/null
${restoreLines(ctx.restore)}
${endHook(
  '\\builtin ',
  ctx,
  `(( \${precmd_functions[(Ie)__cmdrun_prompt]} )) || precmd_functions=(__cmdrun_prompt $precmd_functions)
  \\builtin unsetopt zle`,
)}
${checkFunction('\\builtin ', '\\builtin source', ctx.dir, `${layoutPaths(ctx).check}:`, `${ctx.scriptName}:`)}
${blockFunctions('\\builtin ', ctx)}
${getFunction('\\builtin ', ctx, '')}
__cmdrun_prompt() { __cmdrun_end "$?" }
precmd_functions=(__cmdrun_prompt)
TRAPINT() { [[ -n \${__cmdrun_id-} ]] && return $(( 128 + $1 )); return 0 }
\\builtin printf '${osc}r;%s;%s\\007' '${ctx.readyId}' "$$" >/dev/tty
`,
  runLine: (id, step) => blockLine('\\builtin source', id, step),
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
  jobControl: true,
  emptyLineAfterCtrlC: true,
  blockPrefix: '',
  initLine: '',
  launch: (shell, _rcPath, leaderId, layout) => underLeader(leaderId, layout, [shell, '-i']),
  env: (_dir, rcPath) => ({ ENV: rcPath }),
  rc: (ctx) => `# cmdrun: generated startup file
PS2=''
stty -onlcr noflsh iutf8 2>/dev/null || stty -onlcr noflsh 2>/dev/null
${restoreLines(ctx.restore)}
${endHook('', ctx, `PS1='$(__cmdrun_end "$?")'`)}
__cmdrun_check() { . "$1"; }
${blockFunctions('', ctx)}
${getFunction('', ctx, '')}
PS1='$(__cmdrun_end "$?")'
printf '${osc}r;%s;%s\\007' '${ctx.readyId}' "$$" >/dev/tty
`,
  runLine: (id, step) => blockLine('.', id, step),
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
