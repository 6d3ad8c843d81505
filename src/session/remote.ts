/**
 * A session's shell on another machine, through the system's OpenSSH client (ssh(1)): the PTY
 * runs `ssh -tt -e none ... -- HOST BOOTSTRAP`, so the user's `~/.ssh/config` aliases, agent, keys,
 * ProxyJump and ControlMaster apply as in their terminal. The remote side needs only the shell and
 * a POSIX userland (`sh`, `mkdir`, `ln`, `rm`, `sleep`).
 *
 * What goes over the connection:
 * - the bootstrap, as ssh's remote command (no terminal involved): it makes the session's folder
 *   (mode 700, a fresh random name under /tmp), writes the startup file into it, links the tty
 *   and starts the session leader and the shell, as the local session does (shells.ts);
 * - for every block, typed on the terminal: `__cmdrun_get N`, then N lines that encode the block
 *   ({@link encodeBlockLines}), then the block line. A block is never typed raw: the remote
 *   terminal's line discipline would act on ^C, ^D, ^U... and cut lines past 4 KB.
 */
import { randomBytes } from 'node:crypto';
import { sshDestinationArgs, type SshTarget } from './target.js';
import { layoutPaths, quote, type Launch, type SessionLayout } from './shells.js';

/** How to reach another machine. */
export interface RemoteOptions {
  target: SshTarget;
  /**
   * The command that runs ssh, as a shell reads it (`ssh -F ./ssh_config`): `--ssh-command` or
   * CMDRUN_SSH_COMMAND, as GIT_SSH_COMMAND is for git. Default `ssh`.
   */
  sshCommand?: string;
  /**
   * No terminal can answer (`cmdrun run` without a TTY): ssh runs with `BatchMode=yes` and fails
   * with its message instead of waiting at its own prompts (host key, password, passphrase), and
   * blocks read end of input (/dev/null) instead of the remote terminal.
   */
  batch?: boolean;
}

/**
 * ssh(1) options cmdrun adds: `-tt` (a remote terminal although ssh's stdin is cmdrun's PTY), `-e
 * none` (no escape character: a line starting `~.` is the block's), and keep-alives that notice a
 * lost connection within ~30 s (ServerAliveInterval 10 s, 2 missed answers).
 */
const SSH_OPTIONS = ['-tt', '-e', 'none', '-o', 'ServerAliveInterval=10', '-o', 'ServerAliveCountMax=2', '-o', 'ConnectTimeout=20'];

/** A new folder name for a remote session: /tmp/cmdrun-remote-<16 random base64url characters>. */
export const remoteDir = (): string => `/tmp/cmdrun-remote-${randomBytes(12).toString('base64url')}`;

/**
 * The PTY's program for a remote shell: `sh -c 'exec SSH_COMMAND "$@"'` with ssh's arguments, so
 * `--ssh-command` is read by a shell as git reads GIT_SSH_COMMAND; the destination comes after
 * `--` (target.ts), the bootstrap last.
 * @param shellLaunch the profile's launch (leader and shell) with paths on the remote machine.
 * @param env variables the remote shell needs (BASH_ENV, PAGER, ...), exported by the bootstrap.
 */
export function sshLaunch(remote: RemoteOptions, layout: SessionLayout, files: BootFiles, shellLaunch: Launch, env: Record<string, string>): Launch {
  const args = [...SSH_OPTIONS, ...(remote.batch ? ['-o', 'BatchMode=yes'] : []), ...sshDestinationArgs(remote.target)];
  return {
    file: 'sh',
    args: ['-c', `exec ${remote.sshCommand?.trim() || 'ssh'} "$@"`, 'ssh', ...args, bootstrap(layout, files, shellLaunch, env)],
  };
}

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
 * The remote command: one `sh -c` word, so the remote login shell only has to read a quoted word.
 * `mkdir` of a fresh name is atomic and fails on an existing one (no link can be planted there).
 */
function bootstrap(layout: SessionLayout, { bootId, leaderId, rcName, rc }: BootFiles, launch: Launch, env: Record<string, string>): string {
  const { dir } = layout;
  const paths = layoutPaths(layout);
  const parent = (path: string) => path.slice(0, path.lastIndexOf('/'));
  const cwd = launch.cwd ?? layout.cwd;
  const script = [
    `printf '\\033]6973;r;%s;0\\007' ${quote(bootId)}`,
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
 * by the bootstrap, in the terminal's session (so the hang-up ends it) and ignoring Ctrl-C. Every
 * 200 ms it walks the shell's process tree (/proc/PID/task/PID/children) and looks for a process of
 * the terminal's foreground process group blocked in read(2) on the terminal (/proc/PID/syscall, its
 * fd's link), as waitsForTerminalInput does here, and writes a `w` marker, `w;ID;1|0;BLOCK` (the
 * running block's id, from the file `block` that `__cmdrun_pre` writes): while a block waits, every
 * time (typed input makes cmdrun forget the last one until the next), else when it changes. With no
 * /proc, no children files or an unknown architecture it ends at once: then no block is reported
 * waiting, and the page offers input to every running remote block.
 */
const WATCHER = `trap '' INT
case $(uname -m) in x86_64|amd64) nr=0;; aarch64|arm64) nr=63;; *) exit 0;; esac
sid=$1 dir=$2 id=$3 tty=$4 me=$$ last=
[ -r /proc/$sid/task/$sid/children ] || exit 0
while :; do
  sleep 0.2 2>/dev/null || sleep 1
  read -r st </proc/$sid/stat 2>/dev/null || exit 0
  set -- \${st##*) }; fg=$6
  w=0 todo=$sid
  while [ $w = 0 ]; do
    set -- $todo
    [ $# -gt 0 ] || break
    p=$1; shift; todo=$*
    [ "$p" = "$me" ] && continue
    kids=; read -r kids </proc/$p/task/$p/children 2>/dev/null; todo="$todo $kids" # no newline: read fails, kids is set
    read -r st </proc/$p/stat 2>/dev/null || continue
    set -- \${st##*) }; [ "$3" = "$fg" ] || continue
    read -r n a rest </proc/$p/syscall 2>/dev/null || continue
    [ "$n" = "$nr" ] && [ "$(readlink /proc/$p/fd/$((a)))" = "$tty" ] && w=1
  done
  b=; read -r b <"$dir/block" 2>/dev/null
  [ "$w;$b" = "$last" ] && [ $w = 0 ] && continue
  last="$w;$b"
  printf '\\033]6973;w;%s;%s;%s\\007' "$id" "$w" "$b" >/dev/tty
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
