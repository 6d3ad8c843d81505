import { isIPv6 } from 'node:net';
import { describe, expect, test } from 'vitest';
import { containerArgs, formatTarget, parseTarget, sshDestinationArgs, TargetError, type ContainerTarget, type SshTarget } from '../../src/session/target.js';

describe('parseTarget: accepted forms', () => {
  test.each([
    ['local', { kind: 'local' }],
    ['ssh://db1', { kind: 'ssh', host: 'db1' }],
    ['ssh://db1/', { kind: 'ssh', host: 'db1' }],
    ['ssh://deploy@db1.example.com', { kind: 'ssh', user: 'deploy', host: 'db1.example.com' }],
    ['ssh://deploy@db1:2222', { kind: 'ssh', user: 'deploy', host: 'db1', port: 2222 }],
    ['ssh://db1:65535/', { kind: 'ssh', host: 'db1', port: 65535 }],
    ['ssh://my_alias-2', { kind: 'ssh', host: 'my_alias-2' }],
    ['ssh://a.b-c_d@host.', { kind: 'ssh', user: 'a.b-c_d', host: 'host.' }],
    ['ssh://_svc@10.0.0.255:22', { kind: 'ssh', user: '_svc', host: '10.0.0.255', port: 22 }],
    ['ssh://[::1]', { kind: 'ssh', host: '::1' }],
    ['ssh://root@[2001:db8::7]:2200', { kind: 'ssh', user: 'root', host: '2001:db8::7', port: 2200 }],
    ['ssh://[::ffff:192.0.2.1]/', { kind: 'ssh', host: '::ffff:192.0.2.1' }],
    ['ssh://[1:2:3:4:5:6:7:8]', { kind: 'ssh', host: '1:2:3:4:5:6:7:8' }],
    ['docker://web', { kind: 'container', engine: 'docker', container: 'web' }],
    ['docker://web/', { kind: 'container', engine: 'docker', container: 'web' }],
    ['podman://app@db-1.blue_2', { kind: 'container', engine: 'podman', user: 'app', container: 'db-1.blue_2' }],
    ['docker://0123abcdef', { kind: 'container', engine: 'docker', container: '0123abcdef' }],
    ['podman://1000@web', { kind: 'container', engine: 'podman', user: '1000', container: 'web' }],
  ])('%s', (text, target) => {
    expect(parseTarget(text)).toEqual(target);
  });
});

describe('formatTarget', () => {
  test.each([
    ['local', 'local'],
    ['ssh://db1/', 'ssh://db1'],
    ['ssh://user@host:2222', 'ssh://user@host:2222'],
    ['ssh://[::1]', 'ssh://[::1]'],
    ['ssh://me@[2001:db8::7]:22/', 'ssh://me@[2001:db8::7]:22'],
    ['docker://web/', 'docker://web'],
    ['podman://app@db', 'podman://app@db'],
  ])('%s is written %s, which reads back the same', (text, canonical) => {
    const target = parseTarget(text);
    expect(formatTarget(target)).toBe(canonical);
    expect(parseTarget(formatTarget(target))).toEqual(target);
  });
});

describe('sshDestinationArgs', () => {
  test.each<[string, string[]]>([
    ['ssh://db1', ['--', 'db1']],
    ['ssh://user@host:2222', ['-p', '2222', '-l', 'user', '--', 'host']],
    ['ssh://u@db1', ['-l', 'u', '--', 'db1']],
    ['ssh://[::1]:2022', ['-p', '2022', '--', '::1']],
  ])('%s', (text, args) => {
    expect(sshDestinationArgs(parseTarget(text) as SshTarget)).toEqual(args);
  });

  test.each<SshTarget>([
    { kind: 'ssh', host: '-oProxyCommand=x' },
    { kind: 'ssh', host: 'db1', user: '-oProxyCommand=x' },
    { kind: 'ssh', host: 'db1', port: 0 },
    { kind: 'ssh', host: 'db1', port: 22.5 },
    { kind: 'ssh', host: 'a:b' },
    { kind: 'ssh', host: 'db1/x' },
    { kind: 'ssh', host: 'db1', user: 'a@b' },
  ])('a target parseTarget would refuse is refused here too: %j', (target) => {
    expect(() => sshDestinationArgs(target)).toThrow(TargetError);
  });

  test('the host is the last argument, right after "--"', () => {
    const args = sshDestinationArgs(parseTarget('ssh://a@b:1') as SshTarget);
    expect(args.indexOf('--')).toBe(args.length - 2);
  });
});

describe('containerArgs', () => {
  test.each<[string, string[]]>([
    ['docker://web', ['--', 'web']],
    ['podman://app@db', ['-u', 'app', '--', 'db']],
  ])('%s', (text, args) => {
    expect(containerArgs(parseTarget(text) as ContainerTarget)).toEqual(args);
  });

  test.each<ContainerTarget>([
    { kind: 'container', engine: 'docker', container: '-it' },
    { kind: 'container', engine: 'docker', container: 'web', user: '--privileged' },
    { kind: 'container', engine: 'podman', container: 'a b' },
    { kind: 'container', engine: 'docker', container: 'web;id' },
    { kind: 'container', engine: 'nerdctl' as 'docker', container: 'web' },
  ])('a target parseTarget would refuse is refused here too: %j', (target) => {
    expect(() => containerArgs(target)).toThrow(TargetError);
  });
});

describe('parseTarget: refused targets', () => {
  test.each([
    ['ssh://-oProxyCommand=touch%20/tmp/x', '"%"'],
    ['ssh://-oProxyCommand=x', 'a host must not start with "-"'],
    ['ssh://-oProxyCommand=x/', 'a host must not start with "-"'],
    ['ssh://user@-host', 'a host must not start with "-"'],
    ['ssh://-l@host', 'a user must not start with "-"'],
    ['ssh://-oProxyCommand@host', 'a user must not start with "-"'],
    ['ssh://.host', 'must not start with "."'],
    ['ssh://host:0', 'out of range'],
    ['ssh://host:70000', 'out of range'],
    ['ssh://host:99999999999999999999', 'out of range'],
    ['ssh://host:022', 'leading zero'],
    ['ssh://host:', 'port after ":" is empty'],
    ['ssh://host:ssh', 'not a decimal number'],
    ['ssh://host:-1', 'not a decimal number'],
    ['ssh://host/path', 'no path'],
    ['ssh://host//', 'no path'],
    ['ssh://host?x=1', 'no query'],
    ['ssh://host#frag', 'no fragment'],
    ['ssh://ho st', 'white space'],
    [' ssh://host', 'white space'],
    ['ssh://host\n', 'white space'],
    ['ssh://host\x00', 'control characters'],
    ['ssh://ho\u200bst', 'control characters'],
    ['http://host', 'scheme "http"'],
    ['SSH://host', 'scheme "SSH"'],
    ['ssh:host', 'scheme "ssh"'],
    ['db1', 'starts with "ssh://"'],
    ['Local', 'starts with "ssh://"'],
    ['docker://-it', 'a container must not start with "-"'],
    ['podman://--privileged', 'a container must not start with "-"'],
    ['docker://-u@web', 'a user must not start with "-"'],
    ['docker://.web', 'starts with a letter or a digit'],
    ['docker://_web', 'starts with a letter or a digit'],
    ['docker://', 'container is empty'],
    ['podman://app@', 'container is empty'],
    ['docker://@web', 'user before "@" is empty'],
    ['docker://a@b@web', 'at most one "@"'],
    ['docker://web:8080', 'no ":"'],
    ['docker://root:pw@web', 'no ":"'],
    ['docker://web/sh', 'no path'],
    ['docker://web?x', 'no query'],
    ['docker://w$b', 'a container is made of'],
    ['docker://w;b', 'a container is made of'],
    ['podman://u$r@web', 'a user is made of'],
    ['docker://web x', 'white space'],
    ['Docker://web', 'scheme "Docker"'],
    ['containerd://web', 'scheme "containerd"'],
    ['', 'not empty'],
    ['ssh://', 'host is empty'],
    ['ssh:///', 'host is empty'],
    ['ssh://user@', 'host is empty'],
    ['ssh://user@:22', 'host is empty'],
    ['ssh://@host', 'user before "@" is empty'],
    ['ssh://a@b@c', 'at most one "@"'],
    ['ssh://user:secret@host', 'no password'],
    ['ssh://us$er@host', 'a user is made of'],
    ['ssh://ho$t', 'a host is made of'],
    ['ssh://h;st', 'a host is made of'],
    ['ssh://hôst', 'a host is made of'],
    ['ssh://"host"', 'a host is made of'],
    ['ssh://999.1.1.1', 'not an IPv4 address'],
    ['ssh://1.2.3', 'not an IPv4 address'],
    ['ssh://010.0.0.1', 'not an IPv4 address'],
    ['ssh://::1', 'in brackets'],
    ['ssh://[::1', 'no closing "]"'],
    ['ssh://[::1]x', 'only ":port" may follow "]"'],
    ['ssh://[-oProxyCommand=x]', 'not an IPv6 address'],
    ['ssh://[host]', 'not an IPv6 address'],
    ['ssh://[]', 'not an IPv6 address'],
    ['ssh://[1:2:3:4:5:6:7:8:9]', 'not an IPv6 address'],
    ['ssh://[1::2::3]', 'not an IPv6 address'],
    ['ssh://[fe80::1%eth0]', '"%"'],
  ])('%j: %s', (text, reason) => {
    let error: unknown;
    try {
      parseTarget(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TargetError);
    const { message, target } = error as TargetError;
    expect(target).toBe(text);
    expect(message).toContain(reason);
    expect(message).toMatch(/^invalid target ".*": .+ \(expected ssh:\/\/\[user@\]host\[:port\], docker:\/\/\[user@\]container, podman:\/\/\[user@\]container or local\)$/s);
  });

  test('the message of the brief', () => {
    expect(() => parseTarget('ssh://-oProxyCommand=x')).toThrow(
      'invalid target "ssh://-oProxyCommand=x": a host must not start with "-" (expected ssh://[user@]host[:port], docker://[user@]container, podman://[user@]container or local)',
    );
  });

  test('control characters in the refused text are escaped in the message, and a long text is cut', () => {
    expect(() => parseTarget('ssh://a\x1b[2Jb')).toThrow(/^invalid target "ssh:\/\/a\\u001b\[2Jb"/);
    const long = `ssh://${'a'.repeat(1000)}/x`;
    expect(() => parseTarget(long)).toThrow(TargetError);
    try {
      parseTarget(long);
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(400);
    }
  });
});

test('the IPv6 check agrees with node:net on bracketed hosts', () => {
  const samples = ['::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7', '1:2:3:4:5:6::7:8',
    '::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3', '12345::', 'g::', ':1::', '1:::2', 'abcd:EF01::'];
  for (const host of samples) {
    let ours: boolean;
    try {
      parseTarget(`ssh://[${host}]`);
      ours = true;
    } catch {
      ours = false;
    }
    expect([host, ours]).toEqual([host, isIPv6(host)]);
  }
});
