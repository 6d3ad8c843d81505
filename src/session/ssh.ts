/**
 * The ssh transport: a session's shell on another machine, through the system's OpenSSH client
 * (ssh(1)). The PTY runs `ssh -tt -e none ... -- HOST BOOTSTRAP` (remote.ts), so the user's
 * `~/.ssh/config` aliases, agent, keys, ProxyJump and ControlMaster apply as in their terminal.
 * When the connection goes, sshd hangs up the remote terminal: the session leader removes the
 * session's folder, and the input watcher ends whatever is left (remote.ts).
 */
import { sshDestinationArgs, type SshTarget } from './target.js';
import { bootstrap, type BootFiles, type RemoteOptions } from './remote.js';
import type { Launch, SessionLayout } from './shells.js';

/**
 * ssh(1) options cmdrun adds: `-tt` (a remote terminal although ssh's stdin is cmdrun's PTY), `-e
 * none` (no escape character: a line starting `~.` is the block's), and keep-alives that notice a
 * lost connection within ~30 s (ServerAliveInterval 10 s, 2 missed answers).
 */
const SSH_OPTIONS = ['-tt', '-e', 'none', '-o', 'ServerAliveInterval=10', '-o', 'ServerAliveCountMax=2', '-o', 'ConnectTimeout=20'];

/**
 * The PTY's program for a shell over ssh: `sh -c 'exec SSH_COMMAND "$@"'` with ssh's arguments, so
 * `--ssh-command` is read by a shell as git reads GIT_SSH_COMMAND; the destination comes after
 * `--` (target.ts), the bootstrap last.
 * @param shellLaunch the profile's launch (leader and shell) with paths on the remote machine.
 * @param env variables the remote shell needs (BASH_ENV, PAGER, ...), exported by the bootstrap.
 */
export function sshLaunch(remote: RemoteOptions & { target: SshTarget }, layout: SessionLayout, files: BootFiles, shellLaunch: Launch, env: Record<string, string>): Launch {
  const args = [...SSH_OPTIONS, ...(remote.batch ? ['-o', 'BatchMode=yes'] : []), ...sshDestinationArgs(remote.target)];
  return {
    file: 'sh',
    args: ['-c', `exec ${remote.sshCommand?.trim() || 'ssh'} "$@"`, 'ssh', ...args, bootstrap(layout, files, shellLaunch, env)],
  };
}
