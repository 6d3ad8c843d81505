/**
 * A fleet of N ssh hosts for the fleet tests (issue 19), never a mock: real sshd daemons on
 * 127.0.0.1, each listening on up to 15 ports (one sshd listens on at most 16 addresses,
 * MAX_LISTEN_SOCKS), each port one "host". An ssh_config gives every host an alias (`web01` ->
 * 127.0.0.1 port P), and Ansible inventories (INI, YAML) name the same hosts. Logins are as a plain
 * user with /bin/sh as its shell (as root: `cmdrun-fleet`, made once; root's ~/.bashrc would cost
 * ~0.6 s a login), with a throwaway key.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import getPort from 'get-port';
import { SSH_CLIENT_OPTIONS, startSshd, type Sshd } from './sshd.js';
import { waitFor } from './wait.js';

/** Ports (hosts) one sshd serves. */
const PORTS_PER_DAEMON = 15;
/** The plain user the hosts log in as when the tests run as root. */
const FLEET_USER = 'cmdrun-fleet';

/** Options of {@link startFleet}. */
export interface FleetOptions {
  /** How many hosts (default 3). */
  hosts?: number;
  /** Host names are this and a two-digit number: `web01` (default `web`). */
  prefix?: string;
  /** Hosts whose ssh_config offers a key the servers do not accept ("Permission denied (publickey)"). */
  refuseKey?: string[];
  /** The daemons' nice value (SshdOptions.nice). */
  nice?: number;
}

/** A running fleet of hosts. */
export interface Fleet {
  /** Host names in order (`web01`, `web02`, ...): ssh_config aliases. */
  names: string[];
  /** `ssh://web01`, ... in order. */
  targets: string[];
  /** Each host's port on 127.0.0.1. */
  ports: Record<string, number>;
  /** The ssh_config: aliases for every host, and for any other name the servers' key and user. */
  config: string;
  /**
   * `ssh -F '<config>' -o ConnectTimeout=120`, for --ssh-command: on a loaded 2-core machine twenty
   * logins at once can take longer than cmdrun's own 20 s (ssh takes the first value it is given).
   */
  sshCommand: string;
  /** The user the hosts log in as, and its home there. */
  user: string;
  home: string;
  /** A folder for the test's files (removed with the fleet). */
  dir: string;
  /**
   * Writes an INI inventory: group `web` holding every host as one range (`web[01:20]`, the
   * ssh_config aliases), and `extra` lines after it. Returns its path.
   */
  iniInventory(extra?: string): string;
  /** Writes a YAML inventory of `text` (the test's own, with ansible_host/ansible_port). Returns its path. */
  yamlInventory(text: string): string;
  /**
   * SIGKILLs the sshd processes serving host `name`'s connections (found by the SSH_CONNECTION of
   * the processes under them): its client sees the link drop, as on a lost network. Returns how
   * many processes were killed.
   */
  dropHost(name: string): number;
  /** Stops every daemon and removes the folders. */
  stop(): Promise<void>;
}

/** The login user: the current one, or as root the plain user FLEET_USER (made when missing). */
function loginUser(): { user: string; home: string } {
  if (process.getuid?.() !== 0) return { user: userInfo().username, home: userInfo().homedir };
  try {
    execFileSync('useradd', ['-m', '-s', '/bin/sh', FLEET_USER], { stdio: 'ignore' });
  } catch {
    // it exists (another test file made it)
  }
  // Not locked: with UsePAM no, sshd refuses a locked account even a key login (sshd.ts).
  execFileSync('usermod', ['-p', '*', FLEET_USER], { stdio: 'ignore' });
  const home = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${FLEET_USER}:`))!.split(':')[5];
  return { user: FLEET_USER, home };
}

/**
 * Starts ceil(hosts / 15) sshd daemons on 127.0.0.1 and resolves once every port listens.
 * @throws as startSshd does (sshd, ssh or ssh-keygen missing; a daemon that does not listen)
 */
export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  const count = options.hosts ?? 3;
  const prefix = options.prefix ?? 'web';
  const { user, home } = loginUser();
  const names = Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(2, '0')}`);
  const daemons: Sshd[] = [];
  const ports: Record<string, number> = {};
  try {
    const taken: number[] = [];
    for (let first = 0; first < count; first += PORTS_PER_DAEMON) {
      const group = names.slice(first, first + PORTS_PER_DAEMON);
      const extra: number[] = [];
      for (let i = 1; i < group.length; i++) {
        const port = await getPort({ host: '127.0.0.1', exclude: taken });
        taken.push(port);
        extra.push(port);
      }
      const sshd = await startSshd({ extraConfig: extra.map((p) => `ListenAddress 127.0.0.1:${p}`), nice: options.nice });
      taken.push(sshd.port);
      daemons.push(sshd);
      [sshd.port, ...extra].forEach((port, i) => (ports[group[i]] = port));
      await waitFor(() => extra.every((p) => sshd.log().includes(`port ${p}`)), `sshd listening on ${extra.length + 1} ports`);
      // The login user reads authorized_keys itself (sshd drops to it): let it in.
      chmodSync(sshd.dir, 0o711);
      chmodSync(join(sshd.dir, 'authorized_keys'), 0o644);
    }
  } catch (err) {
    await Promise.all(daemons.map((d) => d.stop()));
    throw err;
  }
  // Every daemon has its own host key (one known_hosts line per port) and takes the first one's client key.
  const dir = daemons[0].dir;
  for (const d of daemons) writeFileSync(join(d.dir, 'authorized_keys'), readFileSync(join(dir, 'client_ed25519.pub')), { mode: 0o644 });
  const knownHosts = join(dir, 'fleet_known_hosts');
  const hostKey = (d: Sshd) => readFileSync(join(d.dir, 'host_ed25519.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  writeFileSync(knownHosts, names.map((n) => `[127.0.0.1]:${ports[n]} ${hostKey(daemons[Math.floor(names.indexOf(n) / PORTS_PER_DAEMON)])}\n`).join(''), { mode: 0o600 });
  const wrongKey = join(dir, 'wrong_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cmdrun-refused', '-f', wrongKey], { stdio: 'ignore' });
  const refused = options.refuseKey ?? [];
  const config = join(dir, 'fleet_ssh_config');
  writeFileSync(
    config,
    [
      ...names.flatMap((n) => [`Host ${n}`, '  HostName 127.0.0.1', `  Port ${ports[n]}`, ...(refused.includes(n) ? [`  IdentityFile ${wrongKey}`] : []), '']),
      `Host *${refused.map((n) => ` !${n}`).join('')}`,
      `  IdentityFile ${join(dir, 'client_ed25519')}`,
      '',
      'Host *',
      `  User ${user}`,
      '  IdentitiesOnly yes',
      '  IdentityAgent none',
      `  UserKnownHostsFile ${knownHosts}`,
      ...SSH_CLIENT_OPTIONS,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return {
    names,
    targets: names.map((n) => `ssh://${n}`),
    ports,
    config,
    sshCommand: `ssh -F '${config}' -o ConnectTimeout=120`,
    user,
    home,
    dir,
    iniInventory(extra = '') {
      const path = join(dir, 'inventory.ini');
      const range = `${prefix}[01:${String(count).padStart(2, '0')}]`;
      writeFileSync(path, `[web]\n${range}\n${extra}\n`);
      return path;
    },
    yamlInventory(text) {
      const path = join(dir, 'inventory.yml');
      writeFileSync(path, text);
      return path;
    },
    dropHost(name) {
      const port = ports[name];
      const victims = new Set<number>();
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        let environ: string;
        try {
          environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
        } catch {
          continue;
        }
        const connection = environ.split('\0').find((v) => v.startsWith('SSH_CONNECTION='));
        if (!connection || connection.split(' ')[3] !== String(port)) continue;
        // The per-connection sshd processes above the login's processes (not the listener: the
        // topmost sshd, whose parent is this test process).
        for (let p = parentOf(Number(pid)); p > 1 && commOf(p) === 'sshd' && commOf(parentOf(p)) === 'sshd'; p = parentOf(p)) victims.add(p);
      }
      for (const pid of victims) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      return victims.size;
    },
    async stop() {
      await Promise.all(daemons.map((d) => d.stop()));
    },
  };
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}
