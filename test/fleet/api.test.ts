// Fleet runs through the HTTP API (issue 19), against 21 real sshd "hosts" on 127.0.0.1 (test/helpers/fleet.ts):
// events, per-host state, failures, a refused key, a dropped connection, interrupt, re-run failed,
// --forks, input to one host, and @GROUP through Debian's ansible-inventory.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import { api, WEB_ROOT } from '../helpers/server.js';
import { EventStream, outputOf, readEvents, type SseEvent } from '../helpers/sse.js';
import { tempDir } from '../helpers/tmp.js';

let fleet: Fleet;
let server: RunningServer;
const REFUSED = 'web21';
beforeAll(async () => {
  fleet = await startFleet({ hosts: 21, refuseKey: [REFUSED] });
  const dir = tempDir('cmdrun-fleet-api-');
  writeFileSync(join(dir, 'script.sh'), 'echo hi\n');
  server = await startServer({ file: join(dir, 'script.sh'), port: 0, cwd: dir, webRoot: WEB_ROOT, version: 'test', sshCommand: fleet.sshCommand, inventory: { inventory: fleet.iniInventory('[pair]\nweb02\nweb01\n[pair2:children]\npair\n') } });
}, 120_000);
afterAll(async () => {
  await server?.close();
  await fleet?.stop();
});

const post = async (json: Record<string, unknown>) => readEvents(await api(server, '/api/runs', { method: 'POST', json }));
const postStream = async (json: Record<string, unknown>) => new EventStream(await api(server, '/api/runs', { method: 'POST', json }));
const hostOutput = (events: SseEvent[], target: string) => events.filter((e) => e.event === 'output' && e.data.target === target).map((e) => e.data.text as string).join('');
const hostEnd = (events: SseEvent[], target: string) => events.find((e) => e.event === 'end' && e.data.target === target)?.data;
const runEnd = (events: SseEvent[]) => events.filter((e) => e.event === 'end' && e.data.target === undefined).at(-1)?.data as { exitCode: number; interrupted: boolean; hosts: Array<Record<string, unknown>> };
const twenty = () => fleet.targets.slice(0, 20);

describe('a fleet run', () => {
  test('runs on 20 hosts at once, each in its own session: state is kept per host from block to block', async () => {
    const on = twenty().join(',');
    // Each host learns its own port (the server side of its connection) and keeps it in a variable.
    const first = await post({ code: 'port=$(echo "$SSH_CONNECTION" | cut -d" " -f4); cd /tmp; echo "port $port"', on });
    expect(first.map((e) => e.event).slice(0, 2)).toEqual(['fleet', 'start']);
    expect(first[0].data).toEqual({ runId: first[0].data.runId, on, label: '20 hosts', targets: twenty() });
    expect(first[1].data).toEqual({ runId: first[0].data.runId, startedAt: expect.any(Number) });
    for (const [i, target] of twenty().entries()) {
      const start = first.find((e) => e.event === 'start' && e.data.target === target)!.data;
      expect(start).toEqual({ runId: first[0].data.runId, target, startedAt: expect.any(Number), connecting: true });
      expect(hostOutput(first, target)).toBe(`port ${fleet.ports[fleet.names[i]]}\n`);
      expect(hostEnd(first, target)).toMatchObject({ target, exitCode: 0, interrupted: false, unreachable: false, cwd: '/tmp' });
    }
    const end = runEnd(first);
    expect(end.exitCode).toBe(0);
    expect(end.hosts.map((h) => h.target)).toEqual(twenty());
    expect(end.hosts[3]).toEqual({ target: twenty()[3], exitCode: 0, durationMs: expect.any(Number), interrupted: false, unreachable: false, lastLine: `port ${fleet.ports.web04}` });
    expect(first.at(-1)?.data).toBe(end);

    const second = await post({ code: 'echo "$port $(pwd)"', on });
    for (const [i, target] of twenty().entries()) {
      expect(hostOutput(second, target)).toBe(`${fleet.ports[fleet.names[i]]} /tmp\n`);
      expect(second.find((e) => e.event === 'start' && e.data.target === target)?.data.connecting).toBe(false);
    }
    const sessions = ((await (await api(server, '/api/sessions')).json()) as { sessions: Array<{ on: string; status: string }> }).sessions;
    expect(sessions.map((s) => s.on)).toEqual(expect.arrayContaining(['local', ...twenty()]));
  }, 180_000);

  test('exit status is the first failing host\'s; a host whose key is refused fails alone with ssh\'s message; re-run failed runs those only', async () => {
    const on = ['ssh://web03', 'ssh://web05', `ssh://${REFUSED}`, 'ssh://web07'].join(',');
    const events = await post({ code: 'p=$(echo "$SSH_CONNECTION" | cut -d" " -f4); echo on $p; [ "$p" = "' + fleet.ports.web05 + '" ] && exit 3; true', on });
    expect(hostEnd(events, 'ssh://web03')).toMatchObject({ exitCode: 0 });
    expect(hostEnd(events, 'ssh://web05')).toMatchObject({ exitCode: 3, unreachable: false });
    expect(hostEnd(events, `ssh://${REFUSED}`)).toMatchObject({ exitCode: 255, unreachable: true });
    expect(hostOutput(events, `ssh://${REFUSED}`)).toMatch(/Permission denied \(publickey/);
    expect(hostEnd(events, 'ssh://web07')).toMatchObject({ exitCode: 0 });
    const end = runEnd(events);
    expect(end.exitCode).toBe(3);
    expect(end.hosts.find((h) => h.target === 'ssh://web05')?.lastLine).toBe(`on ${fleet.ports.web05}`);

    const runId = events[0].data.runId as string;
    const again = await readEvents(await api(server, `/api/runs/${runId}/rerun-failed`, { method: 'POST', json: {} }));
    const fleetEvent = again.find((e) => e.event === 'fleet')!.data;
    expect(fleetEvent.targets).toEqual(['ssh://web05', `ssh://${REFUSED}`]);
    expect(again.filter((e) => e.event === 'start' && e.data.target).map((e) => e.data.target).sort()).toEqual(['ssh://web05', `ssh://${REFUSED}`]);
    expect(runEnd(again).exitCode).toBe(3);
    // A run where no host failed has nothing to re-run.
    const ok = await post({ code: 'true', on: 'ssh://web03,ssh://web07' });
    const refused = await api(server, `/api/runs/${ok[0].data.runId}/rerun-failed`, { method: 'POST', json: {} });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: 'no host of the run failed' });
  }, 120_000);

  test('a host whose connection is killed mid-block fails alone; interrupt without a target stops every host', async () => {
    const on = 'ssh://web08,ssh://web09,ssh://web10';
    const stream = await postStream({ code: 'echo started; sleep 60; echo never', on });
    await stream.until(() => ['ssh://web08', 'ssh://web09', 'ssh://web10'].every((t) => hostOutput(stream.events, t).includes('started')));
    expect(fleet.dropHost('web09')).toBeGreaterThan(0);
    const lost = (await stream.until((e) => e.event === 'end' && e.data.target === 'ssh://web09')).data;
    expect(lost).toMatchObject({ exitCode: 255, interrupted: false });
    expect(hostOutput(stream.events, 'ssh://web09')).toMatch(/connection to ssh:\/\/web09 was lost/);
    const runId = stream.events[0].data.runId as string;
    const answer = await api(server, `/api/runs/${runId}/interrupt`, { method: 'POST', json: {} });
    expect(await answer.json()).toEqual({ runId, interrupted: true });
    const events = await stream.done;
    for (const t of ['ssh://web08', 'ssh://web10']) {
      expect(hostEnd(events, t)).toMatchObject({ interrupted: true });
      expect(hostOutput(events, t)).not.toContain('never');
    }
    const end = runEnd(events);
    expect(end.interrupted).toBe(true);
    expect(end.exitCode).toBe(130); // web08's: the first failing host in fleet order
  }, 120_000);

  test('--forks 3: never more than three hosts connecting or running at once', async () => {
    const on = fleet.targets.slice(10, 19).join(',');
    const events = await post({ code: 'sleep 0.3; echo done', on, forks: 3 });
    let now = 0;
    let most = 0;
    for (const e of events.filter((x) => x.data.target !== undefined && (x.event === 'start' || x.event === 'end'))) {
      now += e.event === 'start' ? 1 : -1;
      most = Math.max(most, now);
    }
    expect(most).toBe(3);
    expect(events.filter((e) => e.event === 'end' && e.data.target).map((e) => e.data.exitCode)).toEqual(Array(9).fill(0));
  }, 120_000);

  test('input goes to the host it names; a fleet run needs the target', async () => {
    const on = 'ssh://web11,ssh://web12';
    const stream = await postStream({ code: 'read -r line; echo "got $line"', on });
    await stream.until((e) => e.event === 'waiting' && e.data.target === 'ssh://web12');
    const runId = stream.events[0].data.runId as string;
    const without = await api(server, `/api/runs/${runId}/input`, { method: 'POST', json: { data: 'x\r' } });
    expect(without.status).toBe(400);
    expect(((await without.json()) as { error: string }).error).toMatch(/^target: /);
    const unknown = await api(server, `/api/runs/${runId}/input`, { method: 'POST', json: { data: 'x\r', target: 'ssh://web99' } });
    expect(unknown.status).toBe(400);
    for (const target of ['ssh://web12', 'ssh://web11']) {
      await stream.until((e) => e.event === 'waiting' && e.data.target === target);
      const sent = await api(server, `/api/runs/${runId}/input`, { method: 'POST', json: { data: `for ${target}\r`, target } });
      expect(await sent.json()).toEqual({ runId, delivered: true });
    }
    const events = await stream.done;
    expect(hostOutput(events, 'ssh://web11')).toContain('got for ssh://web11');
    expect(hostOutput(events, 'ssh://web12')).toContain('got for ssh://web12');
  }, 120_000);
});

describe('one host at a time', () => {
  test('?output=TARGET leaves the other hosts\' output out but one empty output after each of their other events; each host\'s output and the groups are on the server', async () => {
    const targets = ['ssh://web13', 'ssh://web14', 'ssh://web15'];
    // web15 prints something else and fails; the others print the same, in at least two output events.
    const code = `echo same; [ "$(echo "$SSH_CONNECTION" | cut -d" " -f4)" = ${fleet.ports.web15} ] && { echo other; exit 3; }; sleep 0.2; seq 1 2000 | sed 's/^/line /'`;
    const accepted = await api(server, '/api/runs', { method: 'POST', json: { code, on: targets.join(',') }, headers: { Accept: 'application/json' } });
    const { runId } = (await accepted.json()) as { runId: string };
    const all = await readEvents(await api(server, `/api/runs/${runId}/events`));
    const shown = await readEvents(await api(server, `/api/runs/${runId}/events?output=${encodeURIComponent('ssh://web13')}`));
    const lines = `same\n${Array.from({ length: 2000 }, (_, i) => `line ${i + 1}`).join('\n')}\n`;
    expect(hostOutput(all, 'ssh://web14')).toBe(lines);
    expect(all.filter((e) => e.event === 'output' && e.data.target === 'ssh://web14').length).toBeGreaterThan(1);

    // The shown host's output whole; each other host: one empty output after its start, none after its end.
    expect(hostOutput(shown, 'ssh://web13')).toBe(lines);
    for (const target of ['ssh://web14', 'ssh://web15']) {
      const own = shown.filter((e) => e.data.target === target);
      expect(own.map((e) => e.event)).toEqual(['start', 'output', 'end']);
      expect(own[1].data).toEqual({ runId, target, text: '' });
    }
    // Every other event as the whole stream has it, in order.
    const others = (events: SseEvent[]) => events.filter((e) => e.event !== 'output').map((e) => `${e.id} ${e.event}`);
    expect(others(shown)).toEqual(others(all));

    // Each host's output so far, through the newest event.
    for (const target of targets) {
      const res = await api(server, `/api/runs/${runId}/output?target=${encodeURIComponent(target)}`);
      expect(await res.json()).toEqual({ runId, target, text: hostOutput(all, target), lastId: Number(all.at(-1)!.id), omittedBytes: 0 });
    }
    const groups = (await (await api(server, `/api/runs/${runId}/groups`)).json()) as { groups: Array<Record<string, unknown>> };
    expect(groups.groups).toEqual([
      expect.objectContaining({ hosts: ['web15'], targets: ['ssh://web15'], output: 'same\nother', outcome: 'failed 3', failed: true }),
      expect.objectContaining({ hosts: ['web13', 'web14'], targets: ['ssh://web13', 'ssh://web14'], label: 'web[13-14] (2 hosts)', output: lines.trimEnd(), outcome: 'ok', failed: false }),
    ]);
    expect(groups.groups.some((g) => 'omittedLines' in g)).toBe(false);
    // ?lines=N: each group's last N lines and the count of the lines before them.
    const cut = (await (await api(server, `/api/runs/${runId}/groups?lines=2`)).json()) as { groups: Array<Record<string, unknown>> };
    expect(cut.groups.map((g) => [g.label, g.output, g.omittedLines])).toEqual([
      ['web15 (1 host)', 'same\nother', 0],
      ['web[13-14] (2 hosts)', 'line 1999\nline 2000', 1999],
    ]);
    for (const bad of ['0', 'x', '2.5']) {
      const res = await api(server, `/api/runs/${runId}/groups?lines=${bad}`);
      expect(res.status, bad).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/^invalid query: lines: /);
    }

    // A host not in the run, a fleet run's output without a target, the groups of a single-target run: 400s.
    expect((await api(server, `/api/runs/${runId}/events?output=ssh%3A%2F%2Fweb99`)).status).toBe(400);
    const untargeted = await api(server, `/api/runs/${runId}/output`);
    expect(untargeted.status).toBe(400);
    expect(((await untargeted.json()) as { error: string }).error).toMatch(/^target: /);
    const single = await post({ code: 'echo one' });
    const singleId = single[0].data.runId as string;
    expect((await api(server, `/api/runs/${singleId}/groups`)).status).toBe(400);
    expect(await (await api(server, `/api/runs/${singleId}/output`)).json()).toEqual({ runId: singleId, text: outputOf(single), lastId: Number(single.at(-1)!.id), omittedBytes: 0 });
  }, 120_000);
});

describe('@GROUP', () => {
  test('from an INI inventory with a range (through ansible-inventory): inventory order, hosts named twice run once', async () => {
    const events = await post({ code: 'echo "$SSH_CONNECTION" | cut -d" " -f4', on: '@pair,@web' });
    const targets = events[0].data.targets as string[];
    expect(events[0].data.label).toBe('21 hosts');
    expect(targets.slice(0, 3)).toEqual(['ssh://web02', 'ssh://web01', 'ssh://web03']);
    expect(targets).toHaveLength(21);
    expect(hostOutput(events, 'ssh://web02')).toBe(`${fleet.ports.web02}\n`);
    expect(runEnd(events).exitCode).toBe(255); // web21 refuses the key
    const pair = await post({ code: 'true', on: '@pair2' });
    expect(pair[0].data).toMatchObject({ label: '@pair2: 2 hosts', targets: ['ssh://web02', 'ssh://web01'] });
  }, 120_000);

  test('an unknown group is a 400 that lists the groups; a malformed fleet too', async () => {
    const res = await api(server, '/api/runs', { method: 'POST', json: { code: 'true', on: '@nope' } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'no group "nope" in the inventory (its groups: all, pair, pair2, web)' });
    const bad = await api(server, '/api/runs', { method: 'POST', json: { code: 'true', on: 'ssh://a,,ssh://b' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('a fleet has no empty item');
  });

  test('from a YAML inventory with ansible_host, ansible_port and ansible_user, on a server of its own', async () => {
    const yaml = fleet.yamlInventory(
      ['all:', '  children:', '    db:', '      hosts:', ...['alpha', 'beta'].flatMap((name, i) => [`        ${name}:`, '          ansible_host: 127.0.0.1', `          ansible_port: ${fleet.ports[fleet.names[i + 4]]}`, `          ansible_user: ${fleet.user}`]), ''].join('\n'),
    );
    const dir = tempDir('cmdrun-fleet-yaml-');
    writeFileSync(join(dir, 'script.sh'), 'echo hi\n');
    const other = await startServer({ file: join(dir, 'script.sh'), port: 0, cwd: dir, webRoot: WEB_ROOT, version: 'test', sshCommand: fleet.sshCommand, inventory: { inventory: yaml } });
    try {
      const events = await readEvents(await api(other, '/api/runs', { method: 'POST', json: { code: 'echo "$(whoami) $(echo "$SSH_CONNECTION" | cut -d" " -f4)"', on: '@db' } }));
      expect(events[0].data).toMatchObject({ label: '@db: 2 hosts', targets: ['ssh://alpha', 'ssh://beta'] });
      expect(hostOutput(events, 'ssh://alpha')).toBe(`${fleet.user} ${fleet.ports.web05}\n`);
      expect(hostOutput(events, 'ssh://beta')).toBe(`${fleet.user} ${fleet.ports.web06}\n`);
    } finally {
      await other.close();
    }
  }, 120_000);

  test('a confirm= block and its parameters are asked once for all hosts; every host gets the values', async () => {
    const stream = await postStream({ code: 'export WHO=Who are you\necho "hi $WHO from $(echo "$SSH_CONNECTION" | cut -d" " -f4)"', on: 'ssh://web13,ssh://web14', promptEnv: 'auto', confirm: 'Greet them?' });
    const runId = (await stream.until((e) => e.event === 'confirm')).data.runId as string;
    expect(stream.events.map((e) => e.event)).toEqual(['fleet', 'confirm']);
    await api(server, `/api/runs/${runId}/confirm`, { method: 'POST', json: { yes: true } });
    const params = await stream.until((e) => e.event === 'params');
    expect(params.data.params).toEqual([{ name: 'WHO', message: 'Who are you', secret: false }]);
    await api(server, `/api/runs/${runId}/params`, { method: 'POST', json: { values: { WHO: 'Ada' } } });
    const events = await stream.done;
    expect(events.filter((e) => e.event === 'params' || e.event === 'confirm')).toHaveLength(2);
    expect(hostOutput(events, 'ssh://web13')).toBe(`hi Ada from ${fleet.ports.web13}\n`);
    expect(hostOutput(events, 'ssh://web14')).toBe(`hi Ada from ${fleet.ports.web14}\n`);
  }, 120_000);
});
