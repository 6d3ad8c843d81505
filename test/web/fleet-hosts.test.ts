// What the page knows of a fleet run's hosts from its events (web/fleet-hosts.ts): states, the
// count line, per-host output buffers, and which hosts Re-run failed runs again.
import { expect, test } from 'vitest';
import { FleetHosts, hostName } from '../../web/fleet-hosts.js';
import { RawOutput } from '../../web/raw-output.js';

const targets = ['ssh://web01', 'ssh://web02', 'ssh://web03', 'ssh://deploy@db1:2222'];

test('states follow the events; the count line names only the states some host is in', () => {
  const fleet = new FleetHosts(targets);
  expect(fleet.hosts.map((h) => h.name)).toEqual(['web01', 'web02', 'web03', 'deploy@db1:2222']);
  expect(fleet.countLine()).toBe('4 hosts: 4 queued');
  fleet.started('ssh://web01', 1000, true);
  fleet.started('ssh://web02', 1000, false);
  expect(fleet.countLine()).toBe('4 hosts: 1 running, 1 connecting, 2 queued');
  // A connecting host runs once it prints.
  expect(fleet.output('ssh://web01', 'up\r\n')).toBe(true);
  expect(fleet.output('ssh://web01', 'more\r\n')).toBe(false);
  fleet.waiting('ssh://web02');
  expect(fleet.countLine()).toBe('4 hosts: 2 running, 2 queued, 1 waiting for input');
  fleet.ended('ssh://web01', { exitCode: 0, durationMs: 120 });
  fleet.ended('ssh://web02', { exitCode: 3, durationMs: 80 });
  fleet.started('ssh://web03', 1100, true);
  fleet.ended('ssh://web03', { exitCode: 255, durationMs: 30, unreachable: true });
  expect(fleet.done).toBe(false);
  fleet.runEnded([{ target: 'ssh://deploy@db1:2222', exitCode: 130, durationMs: 10, interrupted: true }]);
  expect(fleet.done).toBe(true);
  expect(fleet.countLine()).toBe('4 hosts: 1 ok, 1 failed, 1 unreachable, 1 interrupted');
  expect(fleet.hosts.map(FleetHosts.stateText)).toEqual(['ok', 'failed 3', 'unreachable', 'interrupted']);
  expect(fleet.failedTargets()).toEqual(['ssh://web02', 'ssh://web03', 'ssh://deploy@db1:2222']);
});

test('a host the run never started counts as interrupted at the run\'s end, and is not re-run', () => {
  const fleet = new FleetHosts(['ssh://a', 'ssh://b']);
  fleet.started('ssh://a', 0, false);
  fleet.ended('ssh://a', { exitCode: 1, durationMs: 5 });
  fleet.runEnded();
  expect(fleet.hosts.map((h) => h.state)).toEqual(['failed', 'interrupted']);
  expect(fleet.failedTargets()).toEqual(['ssh://a']);
});

test('each host keeps its own output; results give it as plain text for grouping', () => {
  const fleet = new FleetHosts(['ssh://a', 'ssh://b']);
  fleet.output('ssh://a', '\x1b[31mred\x1b[0m\r\n');
  fleet.output('ssh://b', 'half');
  fleet.output('ssh://a', 'second\r\n');
  fleet.output('ssh://b', ' line\r\n');
  expect(fleet.get('ssh://a').output.raw()).toBe('\x1b[31mred\x1b[0m\r\nsecond\r\n');
  expect(fleet.results().map((r) => [r.host, r.output, r.exitCode])).toEqual([
    ['a', 'red\nsecond', null],
    ['b', 'half line', null],
  ]);
});

test('a host buffer keeps its last characters, cut after a line end', () => {
  const out = new RawOutput(20);
  for (let i = 0; i < 10; i++) out.push(`line ${i}\n`);
  expect(out.raw()).toBe('line 8\nline 9\n');
  expect(out.dropped).toBe(56);
  expect(out.plain()).toBe('[… the first 56 characters of output were not kept …]\nline 8\nline 9');
  const long = new RawOutput(5);
  long.push('abcdefghij');
  expect(long.raw()).toBe('fghij');
});

test('hostName drops ssh:// and keeps what tells hosts apart', () => {
  expect(['ssh://web01', 'ssh://u@h:22/', 'local'].map(hostName)).toEqual(['web01', 'u@h:22', 'local']);
});
