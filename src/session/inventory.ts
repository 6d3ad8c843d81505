/**
 * Fleets resolved to hosts (README "Fleets"): a list's targets as written, and each `@GROUP`
 * through the user's own Ansible, `ansible-inventory --list` (so every inventory format and feature
 * Ansible reads works: INI, YAML, ranges such as `web[01:20]`, children groups, plugins and
 * scripts), with the inventory of `--inventory FILE`, else whatever Ansible itself reads
 * (`ANSIBLE_INVENTORY`, ansible.cfg, /etc/ansible/hosts). Each inventory host is an ssh target under
 * its inventory name, reached at its `ansible_host`, `ansible_port` and `ansible_user` (SshVia).
 */
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { fleetLabel, parseFleet } from './fleet-spec.js';
import { formatTarget, parseTarget, sshDestinationArgs, TargetError, type SshVia, type Target } from './target.js';

/** One host of a fleet: its target as events name it (`ssh://web01`, `local`) and how to reach it. */
export interface FleetHost {
  /** Canonical target text (target.ts formatTarget): the host's name in every event. */
  target: string;
  /** For an inventory host: its address, port and user from the inventory. */
  via?: SshVia;
}

/** A fleet resolved to its hosts, duplicates removed, in fleet order. */
export interface ResolvedFleet {
  /** The fleet as written (`@web`, `ssh://a,ssh://b`). */
  on: string;
  /** What the page shows: `@web: 12 hosts`, `3 hosts`. */
  label: string;
  hosts: FleetHost[];
}

/** A fleet that cannot be resolved: no Ansible, an inventory that does not load, an unknown group. */
export class FleetError extends Error {}

/** Where groups are looked up. */
export interface InventoryOptions {
  /** `--inventory FILE` (ansible-inventory's `-i`); none: what Ansible reads by itself. */
  inventory?: string;
}

/** `ansible-inventory --list` JSON: groups (hosts, children) and `_meta.hostvars`. */
type InventoryJson = Record<string, { hosts?: string[]; children?: string[] }> & { _meta?: { hostvars?: Record<string, Record<string, unknown>> } };

/** The longest ansible-inventory may take (ms): a dynamic inventory script may be slow, never stuck. */
const INVENTORY_TIMEOUT_MS = 120_000;

/** Inventories read, by their `-i` (or ANSIBLE_INVENTORY), while their files are unchanged. */
const cache = new Map<string, { stamp: string; json: Promise<InventoryJson> }>();

/**
 * The modification times of the inventory's files, or undefined when one is not a plain file (a
 * folder, a script, a plugin config that reads elsewhere): then it is read every time.
 */
function stampOf(sources: string[]): string | undefined {
  try {
    const stamps = sources.map((path) => {
      const info = statSync(path);
      if (!info.isFile() || info.mode & 0o111) return undefined;
      return `${path}:${info.mtimeMs}:${info.size}`;
    });
    return stamps.includes(undefined) ? undefined : stamps.join('|');
  } catch {
    return undefined;
  }
}

/**
 * Runs `ansible-inventory --list`.
 * @throws FleetError when Ansible is not installed or the inventory does not load (its message).
 */
function readInventory(options: InventoryOptions): Promise<InventoryJson> {
  const sources = options.inventory !== undefined ? [options.inventory] : (process.env.ANSIBLE_INVENTORY?.split(',').filter(Boolean) ?? []);
  const key = sources.join(',');
  const stamp = sources.length ? stampOf(sources) : undefined;
  const known = cache.get(key);
  if (known && stamp !== undefined && known.stamp === stamp) return known.json;
  const json = new Promise<InventoryJson>((resolve, reject) => {
    // A source that does not parse is an error, not a warning and an empty inventory.
    const env = { ...process.env, ANSIBLE_INVENTORY_UNPARSED_FAILED: 'True', ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED: 'True', ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' };
    const args = ['--list', ...(options.inventory !== undefined ? ['-i', options.inventory] : [])];
    execFile('ansible-inventory', args, { env, maxBuffer: 256 * 1024 * 1024, timeout: INVENTORY_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new FleetError('Ansible is not installed (no ansible-inventory command): an @group needs it to read the inventory (install ansible-core)'));
      }
      const where = options.inventory !== undefined ? options.inventory : sources.length ? `ANSIBLE_INVENTORY=${key}` : "Ansible's default inventory";
      if (err) return reject(new FleetError(`the inventory ${where} does not load: ${ansibleMessage(stderr) || err.message}`));
      try {
        resolve(JSON.parse(stdout) as InventoryJson);
      } catch {
        reject(new FleetError(`the inventory ${where} does not load: ansible-inventory printed no JSON`));
      }
    });
  });
  json.catch(() => cache.delete(key));
  if (stamp !== undefined) cache.set(key, { stamp, json });
  return json;
}

/** Ansible's error lines, on one line: its `ERROR!` and the warnings that say why (without `[WARNING]:`). */
function ansibleMessage(stderr: string): string {
  const text = stderr.replace(/\s*\n\s*(?!\[WARNING\]|ERROR!)/g, ' ').split('\n').map((l) => l.replace(/^\[WARNING\]:\s*/, '').trim()).filter(Boolean);
  const errors = text.filter((l) => l.startsWith('ERROR!')).map((l) => l.replace(/^ERROR!\s*/, ''));
  const why = text.filter((l) => /Failed to parse|Unable to parse|not found|No such file/i.test(l));
  return [...errors, ...why].slice(0, 6).join('; ');
}

/** The hosts of `group`, its own first, then its children's, depth first, each once. */
function groupHosts(json: InventoryJson, group: string, seen = new Set<string>()): string[] {
  if (seen.has(group)) return [];
  seen.add(group);
  const entry = json[group];
  return [...(entry?.hosts ?? []), ...(entry?.children ?? []).flatMap((child) => groupHosts(json, child, seen))];
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/**
 * An inventory host as a fleet host: `ssh://NAME` reached at its ansible_host (ansible_ssh_host),
 * ansible_port (ansible_ssh_port) and ansible_user (ansible_ssh_user); `local` for a host with
 * `ansible_connection: local`.
 * @throws FleetError for a name or variable that cannot be an ssh target.
 */
function inventoryHost(name: string, vars: Record<string, unknown> = {}): FleetHost {
  if (vars.ansible_connection === 'local') return { target: 'local' };
  let target: Target;
  try {
    target = parseTarget(`ssh://${name}`);
  } catch (err) {
    throw new FleetError(`the inventory host ${JSON.stringify(name)} is not an ssh host name: ${(err as TargetError).reason ?? (err as Error).message}`);
  }
  const hostName = text(vars.ansible_host ?? vars.ansible_ssh_host);
  const portText = text(vars.ansible_port ?? vars.ansible_ssh_port);
  const user = text(vars.ansible_user ?? vars.ansible_ssh_user);
  const via: SshVia = {};
  if (hostName !== undefined && hostName !== name) via.hostName = hostName;
  if (portText !== undefined) via.port = Number(portText);
  if (user !== undefined) via.user = user;
  const host: FleetHost = { target: formatTarget(target), ...(Object.keys(via).length ? { via } : {}) };
  try {
    if (host.via && target.kind === 'ssh') sshDestinationArgs({ ...target, via: host.via }); // checks them as ssh gets them
  } catch (err) {
    throw new FleetError(`the inventory host ${name}: ${(err as Error).message}`);
  }
  return host;
}

/**
 * Resolves a fleet as written to its hosts: the targets of a list as written, each `@GROUP`'s
 * hosts in inventory order; a host named twice runs once (its first place).
 * @throws TargetError for a malformed fleet; FleetError when Ansible is missing, the inventory does
 *   not load, or a group is not in it (the message lists the inventory's groups).
 */
export async function resolveFleet(on: string, options: InventoryOptions = {}): Promise<ResolvedFleet> {
  const items = parseFleet(on);
  const json = items.some((i) => i.kind === 'group') ? await readInventory(options) : undefined;
  const hosts = new Map<string, FleetHost>();
  for (const item of items) {
    if (item.kind === 'target') {
      if (!hosts.has(item.target)) hosts.set(item.target, { target: item.target });
      continue;
    }
    const groups = Object.keys(json!).filter((g) => g !== '_meta');
    if (!groups.includes(item.group)) {
      throw new FleetError(`no group ${JSON.stringify(item.group)} in the inventory (its groups: ${[...groups].sort().join(', ') || 'none'})`);
    }
    const vars = json!._meta?.hostvars ?? {};
    for (const name of groupHosts(json!, item.group)) {
      const host = inventoryHost(name, vars[name]);
      if (!hosts.has(host.target)) hosts.set(host.target, host);
    }
  }
  if (hosts.size === 0) throw new FleetError(`the fleet ${on} has no hosts`);
  return { on, label: fleetLabel(on, hosts.size), hosts: [...hosts.values()] };
}
