/**
 * A real OpenSSH server on 127.0.0.1 for the remote-session tests (issue 15), never a mock: its own
 * throwaway host and client keys in a fresh temp folder, and an ssh_config naming it, so that
 * `ssh -F <config> <host>` logs in as the current user (root included) with no prompt and nothing
 * read from or written to the user's ~/.ssh. The ssh client reads ~/.ssh from the passwd home, not
 * $HOME, which is why every caller passes -F.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority, userInfo } from 'node:os';
import { join } from 'node:path';
import getPort from 'get-port';
import { tempDir } from './tmp.js';

/** The OpenSSH server binary (Debian's openssh-server, installed by .ci/run). */
export const SSHD = '/usr/sbin/sshd';

/** The ssh_config's Host aliases (see {@link Sshd}). */
const ALIASES = { host: 'cmdrun-test', hostUnknown: 'cmdrun-test-unknown', hostWrongPort: 'cmdrun-test-wrong-port' };

/** Options for {@link startSshd}. */
export interface SshdOptions {
  /** How long to wait for sshd to listen, in ms (default 10 000). */
  timeoutMs?: number;
  /** More sshd_config lines, appended after the fixture's own. */
  extraConfig?: string[];
  /**
   * The daemon's nice value (0-19), which the sessions it forks inherit: the bench runs its hosts
   * at 19, so that on one machine they take only the CPU the client side leaves, as hosts of
   * their own would.
   */
  nice?: number;
}

/** A running sshd and the ssh_config that reaches it. */
export interface Sshd {
  /** The port sshd listens on, on 127.0.0.1. */
  port: number;
  /**
   * The ssh_config Host alias (`cmdrun-test`) for this server: 127.0.0.1 and {@link port}, the
   * current user, the throwaway client key, a known_hosts holding the throwaway host key, strict
   * host key checking, batch mode (never a prompt) and LogLevel ERROR.
   */
  host: string;
  /** A Host alias for this same server with an empty known_hosts: ssh fails, "Host key verification failed", status 255. */
  hostUnknown: string;
  /** A Host alias for 127.0.0.1 on a free port nothing listens on: ssh fails, "Connection refused", status 255. */
  hostWrongPort: string;
  /** The unused port of {@link hostWrongPort}. */
  wrongPort: number;
  /** The ssh_config's path: callers run `ssh -F <config> <host> ...`. */
  config: string;
  /** `ssh -F '<config>'`, quoted so that a shell may split it. */
  sshCommand: string;
  /** The temp folder (mode 700) holding keys, configs, known_hosts and sshd's pid file. */
  dir: string;
  /** The current user, as the ssh_config logs in. */
  user: string;
  /** What sshd and its per-connection processes have printed on stderr so far (their log, with -e): why a login was refused. */
  log(): string;
  /** Kills sshd and its connections, waits for the listener to exit and removes {@link dir}. */
  stop(): Promise<void>;
  /**
   * SIGKILLs sshd and at once every process it forked: the per-connection sshd processes (each in a
   * session of its own, so not in the listener's process group) and the login shells and commands
   * under them. Clients see the connection drop (ssh exits 255), as on a lost network link. New
   * connections are refused afterwards; {@link stop} still cleans up.
   */
  kill(): void;
  /**
   * SIGKILLs every connection (the per-connection sshd processes and all under them) but not the
   * listener: clients see the link drop (ssh exits 255), and a new login is accepted.
   */
  dropConnections(): void;
  /**
   * Sends `signal` to the per-connection sshd processes only (the listener's children), as an
   * administrator ending the logins would: with SIGTERM sshd closes each session, with SIGKILL the
   * kernel does; either way the remote terminal is hung up and the processes under it are left to
   * that. The listener stays: a new login is accepted.
   */
  endConnections(signal: NodeJS.Signals): void;
}

/** Servers not stopped yet: killed, and their folders removed, if the test process exits first. */
const live = new Set<Sshd>();
process.once('exit', () => {
  for (const sshd of live) {
    sshd.kill();
    rmSync(sshd.dir, { recursive: true, force: true });
  }
});

/**
 * Starts `/usr/sbin/sshd -D -e` on 127.0.0.1 and a free port with fresh keys, and resolves once it
 * listens. Works as root (PermitRootLogin prohibit-password; /run/sshd is created for privilege
 * separation) and as any other user (who can then log in only as themselves). With UsePAM no, sshd
 * refuses even a key login to an account whose password is locked ("User X not allowed because
 * account is locked" in {@link Sshd.log}): `useradd` leaves `!` in /etc/shadow; `*` (no password,
 * not locked: `usermod -p '*' USER`) lets the key in.
 * @throws when sshd, ssh or ssh-keygen is missing (.ci/run installs openssh-server and
 *   openssh-client), or when sshd does not listen within `timeoutMs` (the error holds its stderr).
 */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const missing = [SSHD, 'ssh', 'ssh-keygen'].filter((tool) => !hasTool(tool));
  if (missing.length > 0) {
    throw new Error(`the sshd fixture needs ${missing.join(', ')}: .ci/run installs openssh-server and openssh-client from Debian`);
  }
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = tempDir('cmdrun-sshd-');
  chmodSync(dir, 0o700);
  try {
    return await startIn(dir, options);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function startIn(dir: string, options: SshdOptions): Promise<Sshd> {
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  keygen(hostKey);
  keygen(clientKey);
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const user = userInfo().username;
  const config = join(dir, 'ssh_config');
  // A port taken between get-port's check and sshd's bind fails the start: try another.
  for (let attempt = 1; ; attempt++) {
    const port = await getPort({ host: '127.0.0.1' });
    const wrongPort = await getPort({ host: '127.0.0.1', exclude: [port] });
    const sshdConfig = join(dir, 'sshd_config');
    writeFileSync(sshdConfig, sshdConfigText(dir, port, hostKey, authorizedKeys, options.extraConfig ?? []), { mode: 0o600 });
    writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPublicKey(hostKey)}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'known_hosts_empty'), '', { mode: 0o600 });
    writeFileSync(config, sshConfigText(dir, port, wrongPort, user, clientKey), { mode: 0o600 });
    // detached: a process group of its own, so a ^C to the test run does not reach it first.
    const child = spawn(SSHD, ['-D', '-e', '-f', sshdConfig], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    // Before it listens: every connection's processes are forked after this.
    if (options.nice) setPriority(child.pid!, options.nice);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Once Node has reaped sshd its pid may be reused: never signal it (or a tree under it) again.
    const killAll = () => child.exitCode === null && child.signalCode === null && killTree(child.pid!);
    const listening = await waitListening(child, port, () => stderr, options.timeoutMs ?? 10_000);
    if (!listening) {
      if (attempt < 3 && /Address already in use/.test(stderr)) continue;
      throw new Error(`sshd did not start (${SSHD} -D -e -f ${sshdConfig}); its stderr:\n${stderr}`);
    }
    const sshd: Sshd = {
      port,
      ...ALIASES,
      wrongPort,
      config,
      sshCommand: `ssh -F ${shellQuote(config)}`,
      dir,
      user,
      log: () => stderr,
      kill() {
        killAll();
      },
      dropConnections() {
        if (child.exitCode === null && child.signalCode === null) killTree(child.pid!, true);
      },
      endConnections(signal) {
        if (child.exitCode !== null || child.signalCode !== null) return;
        for (const pid of children(child.pid!)) {
          try {
            process.kill(pid, signal);
          } catch {
            // Already gone.
          }
        }
      },
      async stop() {
        killAll();
        await exited;
        live.delete(sshd);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    live.add(sshd);
    return sshd;
  }
}

function sshdConfigText(dir: string, port: number, hostKey: string, authorizedKeys: string, extra: string[]): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    // The temp folder's owner and modes are not checked (a non-root sshd reads what it can anyway).
    'StrictModes no',
    'UsePAM no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    // Key logins only, root's included (tests run as root on CI).
    'PermitRootLogin prohibit-password',
    // No AcceptEnv line: the client's environment (LANG, LC_*) is not passed on.
    'PermitUserEnvironment no',
    'PrintMotd no',
    'PrintLastLog no',
    'UseDNS no',
    'X11Forwarding no',
    // Many test connections may be starting at once.
    'MaxStartups 100',
    'LogLevel INFO',
    'Subsystem sftp internal-sftp',
    ...extra,
    '',
  ].join('\n');
}

/**
 * The ssh_config lines every test client uses: keys only, no prompts, the test's known_hosts only
 * (the caller adds UserKnownHostsFile), no connection sharing, quiet (ssh_config(5)).
 */
export const SSH_CLIENT_OPTIONS = [
  '  PasswordAuthentication no',
  '  KbdInteractiveAuthentication no',
  '  StrictHostKeyChecking yes',
  '  GlobalKnownHostsFile /dev/null',
  '  UpdateHostKeys no',
  '  CheckHostIP no',
  '  BatchMode yes',
  '  ControlMaster no',
  '  ControlPath none',
  '  ConnectTimeout 10',
  '  LogLevel ERROR',
];

function sshConfigText(dir: string, port: number, wrongPort: number, user: string, clientKey: string): string {
  const common = [
    '  HostName 127.0.0.1',
    `  User ${user}`,
    `  IdentityFile ${clientKey}`,
    '  IdentitiesOnly yes',
    '  IdentityAgent none',
    ...SSH_CLIENT_OPTIONS,
  ];
  const block = (comment: string, alias: string, hostPort: number, knownHosts: string) =>
    [`# ${comment}`, `Host ${alias}`, `  Port ${hostPort}`, `  UserKnownHostsFile ${join(dir, knownHosts)}`, ...common, ''];
  return [
    ...block('The cmdrun test sshd (test/helpers/sshd.ts).', ALIASES.host, port, 'known_hosts'),
    ...block('The same server, but its host key is known to nobody.', ALIASES.hostUnknown, port, 'known_hosts_empty'),
    ...block('A port nothing listens on.', ALIASES.hostWrongPort, wrongPort, 'known_hosts'),
  ].join('\n');
}

/** Resolves true once sshd logs that it listens on `port`, false when it exits first or `timeoutMs` passes. */
function waitListening(child: ChildProcess, port: number, stderr: () => string, timeoutMs: number): Promise<boolean> {
  const line = `Server listening on 127.0.0.1 port ${port}`;
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
      if (!ok && child.exitCode === null && child.signalCode === null) killTree(child.pid!);
      resolve(ok);
    };
    // The fixture's own 'data' listener was added first, so stderr() already holds this chunk.
    const onData = () => stderr().includes(line) && done(true);
    const onExit = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
}

function keygen(path: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cmdrun-test', '-f', path], { stdio: ['ignore', 'ignore', 'pipe'] });
  chmodSync(path, 0o600);
}

/** The host key's public half without its comment: `ssh-ed25519 AAAA...`. */
function hostPublicKey(hostKey: string): string {
  return readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
}

function hasTool(tool: string): boolean {
  if (tool.startsWith('/')) return existsSync(tool);
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** SIGKILLs `root` and all its descendants, found (before any is killed, so none is reparented away) through /proc. */
function killTree(root: number, keepRoot = false): void {
  for (const pid of [...(keepRoot ? [] : [root]), ...descendants(root)]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** The pids whose parent is `root` (Linux /proc/PID/stat, field 4). */
function children(root: number): number[] {
  return parentsOf().get(root) ?? [];
}

/** The pids below `root` in the process tree (Linux /proc/PID/stat, field 4: the parent's pid). */
function descendants(root: number): number[] {
  const children = parentsOf();
  const found: number[] = [];
  for (let i = -1; i < found.length; i++) found.push(...(children.get(i < 0 ? root : found[i]) ?? []));
  return found;
}

/** Every live pid by its parent's pid. */
function parentsOf(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  return children;
}
