/**
 * What every session on another machine shares, whatever carries it (ssh.ts: OpenSSH; container.ts:
 * `docker exec` / `podman exec`): the PTY runs a command that starts `sh -c BOOTSTRAP` on the far
 * side with a terminal there, and blocks are typed into that terminal. The far side needs only the
 * shell and a POSIX userland (`sh`, `mkdir`, `ln`, `rm`, `sleep`, `grep`; busybox is enough).
 *
 * What goes over the connection:
 * - the bootstrap, as the far side's command (no terminal involved): it removes session folders
 *   left by sessions that are gone, makes the session's folder (mode 700, a fresh random name
 *   under /tmp), writes the startup file into it, links the tty and starts the session leader
 *   and the shell, as the local session does (shells.ts);
 * - for every block, typed on the terminal: `__cmdrun_get N`, then N lines that encode the block
 *   ({@link encodeBlockLines}), then the block line. A block is never typed raw: the far
 *   terminal's line discipline would act on ^C, ^D, ^U... and cut lines past 4 KB.
 *
 * Nothing is left behind there: the session leader removes the folder when the shell ends; the
 * input watcher ({@link WATCHER}) ends the session's processes and removes the folder when the
 * leader is gone (a connection lost, an sshd killed); a container session's keeper (container.ts)
 * does the same from this machine when cmdrun lets go of it or dies; and the next bootstrap removes
 * folders whose processes are all gone (a container stopped mid-block, a machine rebooted).
 */
import { randomBytes } from 'node:crypto';
import type { ContainerTarget, SshTarget } from './target.js';
import { layoutPaths, quote, type Launch, type SessionLayout } from './shells.js';

/** How to reach another machine or a container. */
export interface RemoteOptions {
  target: SshTarget | ContainerTarget;
  /**
   * The command that runs ssh, as a shell reads it (`ssh -F ./ssh_config`): `--ssh-command` or
   * CMDRUN_SSH_COMMAND, as GIT_SSH_COMMAND is for git. Default `ssh`.
   */
  sshCommand?: string;
  /** The command that runs docker, read by a shell: `--docker-command` or CMDRUN_DOCKER_COMMAND. Default `docker`. */
  dockerCommand?: string;
  /** The command that runs podman, read by a shell: `--podman-command` or CMDRUN_PODMAN_COMMAND. Default `podman`. */
  podmanCommand?: string;
  /**
   * No terminal can answer (`cmdrun run` without a TTY): ssh runs with `BatchMode=yes` and fails
   * with its message instead of waiting at its own prompts (host key, password, passphrase), and
   * blocks read end of input (/dev/null) instead of the remote terminal.
   */
  batch?: boolean;
}

/** The program that carries a remote session, as messages name it: `ssh`, `docker` or `podman`. */
export const carrier = (remote: RemoteOptions): string => (remote.target.kind === 'ssh' ? 'ssh' : remote.target.engine);

/** Where the far side's session folders are: /tmp/cmdrun-remote-<16 random base64url characters>. */
const REMOTE_PREFIX = '/tmp/cmdrun-remote-';

/** A new folder name for a remote session: /tmp/cmdrun-remote-<16 random base64url characters>. */
export const remoteDir = (): string => `${REMOTE_PREFIX}${randomBytes(12).toString('base64url')}`;

/**
 * A grep(1) pattern that matches a session folder's name in a process's command line but not
 * itself (`cmdrun-remot[e]-ID`): a process that searches with it never finds itself.
 */
export const dirPattern = (dir: string): string => dir.replace('cmdrun-remote-', 'cmdrun-remot[e]-');

/**
 * Part of {@link SESSION_CLEANUP} and {@link WATCHER} (POSIX sh, Linux /proc, proc(5)): SIGKILLs
 * every process but `$me` whose session id (stat field 6) is one of `$sids` (space-separated,
 * each with a space on both sides). One walk of /proc can miss a process forked after its glob
 * was read (a shell between two commands, a sleep), so it walks again until a walk finds no live
 * process to kill (zombies are skipped: they only wait to be reaped), 50 walks at most.
 */
const KILL_SESSIONS = `k=0 n=1
while [ "$n" = 1 ] && [ "$k" -lt 50 ]; do
  k=$((k + 1)) n=0
  for f in /proc/[0-9]*; do
    p=\${f#/proc/}; [ "$p" = "$me" ] && continue
    read -r st <$f/stat 2>/dev/null || continue
    set -- \${st##*) }
    [ "$1" = Z ] && continue
    case $sids in *" $4 "*) kill -9 "$p" 2>/dev/null && n=1;; esac
  done
done`;

/**
 * Ends the far side's processes of a session and removes its folder (POSIX sh, Linux /proc):
 * `sh -c SESSION_CLEANUP sh PATTERN`, PATTERN being {@link dirPattern} of the folder. The
 * processes whose command line names the folder (the session leader, the watcher, a bootstrap)
 * give the sessions to end: every process of those is SIGKILLed ({@link KILL_SESSIONS}). Nothing
 * of it names the folder itself, so it never finds itself. Exits 0.
 */
export const SESSION_CLEANUP = `pat=$1 dir=\${1%%\[*}e\${1#*\]} sids= me=$$
for f in $(grep -l -e "$pat" /proc/[0-9]*/cmdline 2>/dev/null); do
  p=\${f#/proc/}; p=\${p%/cmdline}
  read -r st </proc/$p/stat 2>/dev/null || continue
  set -- \${st##*) }; sids="$sids $4 "
done
if [ -n "$sids" ]; then
${KILL_SESSIONS}
fi
case $dir in ${REMOTE_PREFIX}?*) rm -rf -- "$dir";; esac
exit 0`;

/**
 * Part of the bootstrap: removes the session folders of this user whose sessions are gone (no
 * process names the folder in its command line: a container stopped or a machine rebooted with
 * a session open). A session being made names its folder before making it, so it is never taken.
 */
const SWEEP = `for d in ${REMOTE_PREFIX}*; do
  [ -d "$d" ] && [ -O "$d" ] || continue
  grep -q -e "\${d%%-remote-*}-remot[e]-\${d#*-remote-}" /proc/[0-9]*/cmdline 2>/dev/null || rm -rf -- "$d"
done`;

/** What the bootstrap writes: the startup file, and the id of its first marker. */
export interface BootFiles {
  /** Id of the `r` marker the bootstrap writes first: ssh has connected, and its prompts are over. */
  bootId: string;
  /** Id of the input watcher's `w` markers (the session leader's). */
  leaderId: string;
  rcName: string;
  rc: string;
}

/**
 * The far side's command: one `sh -c` word, so a remote login shell only has to read a quoted word.
 * `mkdir` of a fresh name is atomic and fails on an existing one (no link can be planted there).
 * The first line writes the `r` marker: the carrier has connected, and its prompts are over.
 * @param launch the profile's launch (leader and shell) with paths on the far side.
 * @param env variables the far shell needs (BASH_ENV, PAGER, ...), exported by the bootstrap.
 */
export function bootstrap(layout: SessionLayout, { bootId, leaderId, rcName, rc }: BootFiles, launch: Launch, env: Record<string, string>): string {
  const { dir } = layout;
  const paths = layoutPaths(layout);
  const parent = (path: string) => path.slice(0, path.lastIndexOf('/'));
  const cwd = launch.cwd ?? layout.cwd;
  const script = [
    `printf '\\033]6973;r;%s;0\\007' ${quote(bootId)}`,
    SWEEP,
    'umask 077',
    `mkdir ${quote(dir)} || exit 125`,
    `mkdir -p ${quote(parent(paths.block))} ${quote(parent(paths.check))} ${quote(parent(paths.tty))} || exit 125`,
    `ln -s /dev/tty ${quote(paths.tty)} || exit 125`,
    `printf '%s' ${quote(rc)} >${quote(`${dir}/${rcName}`)} || exit 125`,
    `export ${Object.entries(env).map(([key, value]) => `${key}=${quote(value)}`).join(' ')}`,
    `cd -- ${cwd ? quote(cwd) : '"$HOME"'} || { rm -rf ${quote(dir)}; exit 125; }`,
    // This shell becomes the session leader (exec keeps $$), the watcher's session id.
    'tty=$(tty)', // a background list's stdin is /dev/null: the terminal's name is taken here
    `(sh -c ${quote(WATCHER)} sh "$$" ${quote(dir)} ${quote(leaderId)} "$tty" >/dev/null 2>&1 &)`,
    `exec ${[launch.file, ...launch.args].map(quote).join(' ')}`,
  ].join('\n');
  return `exec sh -c ${quote(script)}`;
}

/**
 * The input watcher of a remote session (POSIX sh, Linux /proc, proc(5)): started in the background
 * by the bootstrap, in the terminal's session, ignoring Ctrl-C and the hang-up. Every 200 ms while
 * a block runs (the file `block` holds its id), every second while none does (the file is empty:
 * then it forks nothing but its sleep(1), one process a second, and walks nothing):
 * - when the session leader is gone (something killed it) or the terminal is (a connection lost
 *   or closed, an sshd stopped or killed: /dev/tty no longer opens once it is hung up), it
 *   SIGKILLs every other process of the terminal's session (a block's program that ignores the
 *   hang-up, and the shell waiting for it, included), removes the session's folder and ends:
 *   nothing of the session stays on that machine;
 * - it walks the shell's process tree (/proc/PID/task/PID/children) and looks for a process of
 *   the terminal's foreground process group blocked in read(2) on the terminal (/proc/PID/syscall,
 *   its fd the terminal: `test -ef`, no readlink(1) to fork), as waitsForTerminalInput does here,
 *   or in poll(2) on one descriptor with its stdin the terminal (busybox ash's `read`), and writes
 *   a `w` marker, `w;ID;1|0;BLOCK` (the running block's id, from the file `block` that
 *   `__cmdrun_pre` writes and the end hook empties, shells.ts): while a block waits, every time
 *   (typed input makes cmdrun forget the last one until the next), else when it changes.
 *   With no children files or an unknown architecture it reports nothing: then no block is
 *   reported waiting, and the page offers input to every running remote block.
 * - while a block runs, it reports the start times of the shell's children in the terminal's
 *   foreground process group (field 22 of their stat, clock ticks since boot) whenever they
 *   change, with the time there (/proc/uptime): `c;ID;BLOCK;NOW;START START...`. Nothing there
 *   can see a Ctrl-C (this watcher, started in the background, ignores SIGINT for good: sh(1)),
 *   so cmdrun tells from these whether a command the shell started missed it (ctrl-c.ts);
 * - while a block runs, it looks at the shell itself (its pid is in the file `block` too): a
 *   single-threaded shell blocked in a private futex wait (/proc/PID/syscall: futex(2) with
 *   FUTEX_PRIVATE_FLAG and a wait or lock operation) on two checks in a row is hung for good, as
 *   no other thread can wake it: busybox ash does this on a few Ctrl-Cs in a hundred during a pure shell
 *   loop (its SIGINT handler longjmps out of libc with a lock taken; measured with Debian's
 *   busybox 1.35, also outside cmdrun). It writes an `h` marker (`h;ID;PID`) and SIGKILLs the
 *   shell: the block ends, and the next one starts a new shell, instead of the block hanging until
 *   a second interrupt closes the session.
 * With no /proc at all it ends at once.
 */
const WATCHER = `trap '' INT HUP
sid=$1 dir=$2 id=$3 tty=$4 me=$$ last=
case $(uname -m) in x86_64|amd64) nr=0 pn=7 fx=202;; aarch64|arm64) nr=63 pn=73 fx=98;; *) nr= pn= fx=;; esac
[ -r /proc/$sid/stat ] || exit 0
ck=1; [ -r /proc/$sid/task/$sid/children ] || nr= ck=
t=0.2 lastc=
while :; do
  sleep $t 2>/dev/null || sleep 1
  st=; read -r st </proc/$sid/stat 2>/dev/null
  set -- \${st##*) }
  if [ -z "$st" ] || [ "$1" = Z ] || ! { true >/dev/tty; } 2>/dev/null; then # not ":", a special built-in: its redirection error would end sh
    sids=" $sid "
${KILL_SESSIONS}
    rm -rf -- "$dir"
    exit 0
  fi
  b=; sh=; read -r b sh <"$dir/block" 2>/dev/null
  if [ -z "$b" ]; then t=1 last= hung= lastc=; continue; fi
  t=0.2
  fg=$6
  if [ -n "$ck" ] && [ -n "$sh" ]; then
    c= kids=; read -r kids </proc/$sh/task/$sh/children 2>/dev/null
    for p in $kids; do
      read -r st </proc/$p/stat 2>/dev/null || continue
      set -- \${st##*) }
      [ "$1" != Z ] && [ "$3" = "$fg" ] && c="$c \${20}"
    done
    if [ "$b;$c" != "$lastc" ]; then
      lastc="$b;$c" up=; read -r up x </proc/uptime
      printf '\\033]6973;c;%s;%s;%s;%s\\007' "$id" "$b" "\${up%.*}\${up#*.}" "\${c# }" >/dev/tty 2>/dev/null
    fi
  fi
  h=
  if [ -n "$fx" ] && [ -n "$sh" ] && read -r h </proc/$sh/syscall 2>/dev/null; then
    set -- $h
    [ "$1" = "$fx" ] && [ $(($3 & 128)) = 128 ] && case $(($3 & 127)) in 0|6|9|13) ;; *) false;; esac || h=
    if [ -n "$h" ] && read -r st </proc/$sh/stat 2>/dev/null; then set -- \${st##*) }; [ "\${18}" = 1 ] || h=; fi
  fi
  if [ -n "$h" ] && [ "$h" = "$hung" ]; then
    printf '\\033]6973;h;%s;%s\\007' "$id" "$sh" >/dev/tty 2>/dev/null
    kill -9 "$sh" 2>/dev/null
    hung=; continue
  fi
  hung=$h
  [ -n "$nr" ] || continue
  w=0 todo=$sid
  while [ $w = 0 ]; do
    set -- $todo
    [ $# -gt 0 ] || break
    p=$1; shift; todo=$*
    [ "$p" = "$me" ] && continue
    kids=; read -r kids </proc/$p/task/$p/children 2>/dev/null; todo="$todo $kids" # no newline: read fails, kids is set
    read -r st </proc/$p/stat 2>/dev/null || continue
    set -- \${st##*) }; [ "$3" = "$fg" ] || continue
    read -r n a c rest </proc/$p/syscall 2>/dev/null || continue
    if [ "$n" = "$nr" ]; then [ /proc/$p/fd/$((a)) -ef "$tty" ] && w=1
    elif [ "$n" = "$pn" ] && [ "$((c))" = 1 ]; then [ /proc/$p/fd/0 -ef "$tty" ] && w=1; fi
  done
  [ "$w;$b" = "$last" ] && [ $w = 0 ] && continue
  last="$w;$b"
  printf '\\033]6973;w;%s;%s;%s\\007' "$id" "$w" "$b" >/dev/tty 2>/dev/null
done`;

/** The longest encoded line (characters): well under the terminal's 4095-byte line. */
const LINE_CHARS = 1024;

/**
 * Encodes a block for `__cmdrun_get` (shells.ts): lines of printf(1) format text, each byte of
 * printable ASCII as itself but `%` (`%%`) and `\` (`\\`), every other byte, and a line's leading
 * `-` (printf would read an option), as `\ooo` (POSIX printf: "\ddd" octal escapes in the format).
 */
export function encodeBlockLines(data: Buffer): string[] {
  const lines: string[] = [];
  let line = '';
  for (const byte of data) {
    let piece: string;
    if (byte === 0x25) piece = '%%';
    else if (byte === 0x5c) piece = '\\\\';
    else if (byte > 0x20 && byte < 0x7f && !(byte === 0x2d && line === '')) piece = String.fromCharCode(byte);
    else if (byte === 0x20 && line !== '') piece = ' ';
    else piece = `\\${byte.toString(8).padStart(3, '0')}`;
    if (line.length + piece.length > LINE_CHARS) {
      lines.push(line);
      line = piece === '-' || piece === ' ' ? `\\${byte.toString(8).padStart(3, '0')}` : piece;
    } else line += piece;
  }
  if (line) lines.push(line);
  return lines;
}
