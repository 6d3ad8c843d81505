/**
 * Where a block runs: this machine (`local`), another one over SSH (`ssh://[user@]host[:port]`), or
 * a running container through its engine's CLI (`docker://[user@]container`,
 * `podman://[user@]container`).
 *
 * The syntax is ssh(1)'s destination URI, "ssh://[user@]hostname[:port]", read as an RFC 3986
 * authority (section 3.2: userinfo "@" host ":" port, an IPv6 literal in brackets) and narrowed
 * so that a target can never be read as something else: no percent-encoding (nothing is decoded,
 * so `%20` stays refused instead of becoming a space), no password, path, query or fragment, and
 * neither a user nor a host that starts with `-` (ssh would take it for an option). The arguments
 * made from a target end ssh's options with `--` as well (sshDestinationArgs), so a target is
 * never handed to ssh as an option. A container target is narrowed the same way: its name (or id)
 * is what the engines accept ("[a-zA-Z0-9][a-zA-Z0-9_.-]*"), its user letters, digits, `.`, `_`
 * and `-` not starting with `-`, and the engine's arguments end its options with `--` before the
 * container (containerArgs).
 *
 * No I/O and no imports: the page can use it as the server does.
 */

/**
 * How an inventory host is reached when its name is not what ssh should connect to (Ansible's
 * `ansible_host`, `ansible_port`, `ansible_user`): given to ssh as `-o HostName=`, `-p`, `-l`, so
 * the name stays the destination (and its ~/.ssh/config `Host` block applies) while these win.
 */
export interface SshVia {
  hostName?: string;
  port?: number;
  user?: string;
}

/**
 * Where a block runs: this machine, `host` over SSH (as `user`, on `port`, when given; `via`, not
 * part of the target's text, for an inventory host), or the running container `container` of the
 * engine `engine` (as `user`, when given: `exec -u USER`).
 */
export type Target =
  | { kind: 'local' }
  | { kind: 'ssh'; user?: string; host: string; port?: number; via?: SshVia }
  | { kind: 'container'; engine: ContainerEngine; user?: string; container: string };
/** A target on another machine. */
export type SshTarget = Extract<Target, { kind: 'ssh' }>;

/** A target in a running container. */
export type ContainerTarget = Extract<Target, { kind: 'container' }>;

/** The container engines whose CLI cmdrun drives (their URL scheme is the name). */
export const CONTAINER_ENGINES = ['docker', 'podman'] as const;
export type ContainerEngine = (typeof CONTAINER_ENGINES)[number];

/** The accepted forms, as error messages show them. */
export const EXPECTED_TARGETS = 'ssh://[user@]host[:port], docker://[user@]container, podman://[user@]container or local';
const EXPECTED = `expected ${EXPECTED_TARGETS}`;

/**
 * A target text that parseTarget refuses. Its message names the text, says what is wrong and
 * shows the accepted forms: `invalid target "ssh://-oProxyCommand=x": a host must not start with
 * "-" (expected ssh://[user@]host[:port] or local)`.
 */
export class TargetError extends Error {
  /** The refused text, as given. */
  readonly target: string;
  /** What is wrong with it, without the text and the accepted forms: `a host must not start with "-"`. */
  readonly reason: string;

  constructor(target: string, reason: string) {
    super(`invalid target ${quote(target)}: ${reason} (${EXPECTED})`);
    this.name = 'TargetError';
    this.target = target;
    this.reason = reason;
  }
}

/** The text in double quotes with control characters escaped (JSON), cut after 200 characters. */
function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

/** Letters, digits, `.`, `_`, `-`: what a user or a host name (or ~/.ssh/config alias) is made of. */
const NAME = /^[A-Za-z0-9._-]+$/;

/**
 * Reads a target.
 * - `local`: this machine;
 * - `ssh://[user@]host[:port]`, with at most one trailing `/`: host is a host name or a
 *   ~/.ssh/config alias of letters, digits, `.`, `_` and `-` (not starting with `-` or `.`), an
 *   IPv4 address (four decimal numbers 0..255, no leading zeros), or an IPv6 address in brackets
 *   (`ssh://[::1]`, no zone); user is letters, digits, `.`, `_` and `-`, not starting with `-`;
 *   port is a decimal number 1..65535;
 * - `docker://[user@]container`, `podman://[user@]container` (parseContainer).
 * Everything is case-sensitive (`local`, `ssh://`, `docker://`, `podman://` in lower case).
 * @param text the target as written (no white space around it: it is not trimmed)
 * @returns the target; `user` and `port` only when the text has them
 * @throws TargetError for anything else: white space or control characters, `%`, another scheme,
 *   an empty user, host or port, a user or host starting with `-`, two `@`, a password, a path,
 *   query or fragment, a port out of range.
 */
export function parseTarget(text: string): Target {
  const fail: (reason: string) => never = (reason) => {
    throw new TargetError(text, reason);
  };
  if (text === 'local') return { kind: 'local' };
  if (text === '') fail('a target is not empty');
  const bad = /[\s\p{Cc}\p{Cf}]/u.exec(text);
  if (bad) fail(`a target has no white space or control characters (found ${JSON.stringify(bad[0])})`);
  if (text.includes('%')) fail('a target has no "%" (percent-encoding is not decoded)');
  const engine = CONTAINER_ENGINES.find((e) => text.startsWith(`${e}://`));
  if (engine) return parseContainer(text.slice(engine.length + 3), engine, fail);
  if (!text.startsWith('ssh://')) {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text);
    fail(scheme ? `the scheme "${scheme[1]}" is not supported` : 'a target is "local" or starts with "ssh://", "docker://" or "podman://"');
  }
  let rest = text.slice('ssh://'.length);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  const extra = /[/?#]/.exec(rest);
  if (extra) fail(extra[0] === '/' ? 'a target has no path' : extra[0] === '?' ? 'a target has no query' : 'a target has no fragment');
  if (rest === '') fail('the host is empty');

  let user: string | undefined;
  [user, rest] = splitUser(rest, fail);

  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) fail('an IPv6 address has no closing "]"');
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) fail('only ":port" may follow "]"');
    if (after !== '') portText = after.slice(1);
    if (!isIPv6(host)) fail(`${JSON.stringify(host)} in brackets is not an IPv6 address`);
  } else {
    const colon = rest.indexOf(':');
    if (colon >= 0 && rest.indexOf(':', colon + 1) >= 0) fail('an IPv6 address is written in brackets: ssh://[::1]');
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    if (colon >= 0) portText = rest.slice(colon + 1);
    if (host === '') fail('the host is empty');
    if (host.startsWith('-')) fail('a host must not start with "-"');
    if (host.startsWith('.')) fail('a host must not start with "."');
    if (!NAME.test(host)) fail(`a host is made of letters, digits, ".", "_" and "-" (found ${JSON.stringify(host.replace(/[A-Za-z0-9._-]/g, '')[0])})`);
    if (/^[0-9.]+$/.test(host) && !isIPv4(host)) fail(`${JSON.stringify(host)} is not an IPv4 address (four numbers 0..255)`);
  }

  let port: number | undefined;
  if (portText !== undefined) {
    if (portText === '') fail('the port after ":" is empty');
    if (!/^[0-9]+$/.test(portText)) fail(`the port ${JSON.stringify(portText)} is not a decimal number`);
    if (portText.length > 1 && portText.startsWith('0')) fail(`the port ${portText} has a leading zero`);
    port = Number(portText);
    if (!(port >= 1 && port <= 65535)) fail(`the port ${portText} is out of range (1..65535)`);
  }
  return { kind: 'ssh', ...(user !== undefined ? { user } : {}), host, ...(port !== undefined ? { port } : {}) };
}

/**
 * Splits `[user@]rest` into the user (undefined without `@`) and the rest: a user is letters,
 * digits, `.`, `_` and `-`, not starting with `-`, and has no password (`user:password@`).
 */
function splitUser(text: string, fail: (reason: string) => never): [string | undefined, string] {
  const at = text.indexOf('@');
  if (at < 0) return [undefined, text];
  if (text.indexOf('@', at + 1) >= 0) fail('a target has at most one "@"');
  const user = text.slice(0, at);
  if (user === '') fail('the user before "@" is empty');
  if (user.includes(':')) fail('a target has no password (user:password@)');
  if (!NAME.test(user)) fail(`a user is made of letters, digits, ".", "_" and "-" (found ${JSON.stringify(user.replace(/[A-Za-z0-9._-]/g, '')[0])})`);
  if (user.startsWith('-')) fail('a user must not start with "-"');
  return [user, text.slice(at + 1)];
}

/**
 * The part of a container target after `docker://` or `podman://`: `[user@]container`, at most
 * one trailing `/`. A container is a name or id as the engines make them (a letter or digit, then
 * letters, digits, `_`, `.`, `-`); a user is letters, digits, `.`, `_`, `-`, not starting with `-`.
 */
function parseContainer(rest: string, engine: ContainerEngine, fail: (reason: string) => never): ContainerTarget {
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  const extra = /[/?#:]/.exec(rest);
  if (extra) fail(extra[0] === ':' ? 'a container target has no ":" (no port, no password)' : extra[0] === '/' ? 'a target has no path' : extra[0] === '?' ? 'a target has no query' : 'a target has no fragment');
  let user: string | undefined;
  [user, rest] = splitUser(rest, fail);
  if (rest === '') fail('the container is empty');
  if (rest.startsWith('-')) fail('a container must not start with "-"');
  if (!NAME.test(rest)) fail(`a container is made of letters, digits, ".", "_" and "-" (found ${JSON.stringify(rest.replace(/[A-Za-z0-9._-]/g, '')[0])})`);
  if (!/^[A-Za-z0-9]/.test(rest)) fail('a container starts with a letter or a digit');
  return { kind: 'container', engine, ...(user !== undefined ? { user } : {}), container: rest };
}

/** True for a dotted-quad IPv4 address: four decimal numbers 0..255 without leading zeros. */
function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/**
 * True for an IPv6 address as RFC 4291 section 2.2 writes it: eight groups of 1 to 4 hex digits,
 * one run of them shortened to `::`, the last two may be an IPv4 address. No zone (`%eth0`).
 */
function isIPv6(text: string): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = (half: string) => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const all = [...head, ...tail];
  let count = all.length;
  const last = all[all.length - 1];
  if (last !== undefined && last.includes('.')) {
    if (!isIPv4(last)) return false;
    all.pop();
    count++; // an IPv4 address takes two groups
  }
  if (!all.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}

/**
 * The canonical text of a target, which parseTarget reads back to the same target: `local`,
 * `ssh://host`, `ssh://user@host:2222`, `ssh://[::1]` (an IPv6 host in brackets; no trailing `/`),
 * `docker://web`, `podman://app@db`.
 */
export function formatTarget(t: Target): string {
  if (t.kind === 'local') return 'local';
  if (t.kind === 'container') return `${t.engine}://${t.user !== undefined ? `${t.user}@` : ''}${t.container}`;
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `ssh://${t.user !== undefined ? `${t.user}@` : ''}${host}${t.port !== undefined ? `:${t.port}` : ''}`;
}

/**
 * The ssh(1) arguments that name a target's destination, to put after any options of the
 * caller's own and before the remote command: `-p PORT` and `-l USER` when the target has them,
 * then `--` (which ends ssh's options) and the host (an IPv6 address without brackets, as ssh
 * wants it): `['-p', '2222', '-l', 'deploy', '--', 'db1']`, `['--', '::1']`.
 * @throws TargetError when `t` is not a target parseTarget gives (one made by other means, such
 *   as `{ kind: 'ssh', host: '-oProxyCommand=x' }` read from JSON): it is checked again here.
 */
export function sshDestinationArgs(t: SshTarget): string[] {
  const text = formatTarget(t);
  const checked = parseTarget(text);
  if (checked.kind !== 'ssh' || checked.host !== t.host || checked.user !== t.user || checked.port !== t.port) {
    throw new TargetError(text, 'it is not a target parseTarget reads');
  }
  const port = t.via?.port ?? t.port;
  const user = t.via?.user ?? t.user;
  const hostName = t.via?.hostName;
  if (hostName !== undefined) {
    const named = parseTarget(`ssh://${hostName.includes(':') ? `[${hostName}]` : hostName}`);
    if (named.kind !== 'ssh' || named.host !== hostName) throw new TargetError(hostName, 'it is not a host name or address');
  }
  if (user !== undefined && (!NAME.test(user) || user.startsWith('-'))) throw new TargetError(user, 'it is not a user name');
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new TargetError(String(port), 'it is not a port');
  return [
    ...(hostName !== undefined ? ['-o', `HostName=${hostName}`] : []),
    ...(port !== undefined ? ['-p', String(port)] : []),
    ...(user !== undefined ? ['-l', user] : []),
    '--',
    t.host,
  ];
}

/**
 * The arguments of `ENGINE exec` that name a container target, to put after the caller's own
 * options and before the command: `-u USER` when the target has one, then `--` (which ends the
 * engine's options) and the container: `['-u', 'app', '--', 'web']`, `['--', 'web']`.
 * @throws TargetError when `t` is not a target parseTarget gives (checked again, as sshDestinationArgs does).
 */
export function containerArgs(t: ContainerTarget): string[] {
  const text = formatTarget(t);
  const checked = parseTarget(text);
  if (checked.kind !== 'container' || checked.engine !== t.engine || checked.container !== t.container || checked.user !== t.user) {
    throw new TargetError(text, 'it is not a target parseTarget reads');
  }
  return [...(t.user !== undefined ? ['-u', t.user] : []), '--', t.container];
}
