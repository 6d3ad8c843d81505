// Fleet runs through the HTTP API (issue 19), against 21 real sshd "hosts" on 127.0.0.1 (test/helpers/fleet.ts):
// events, per-host state, failures, a refused key, a dropped connection, interrupt, re-run failed,
// --forks, input to one host, and @GROUP through Debian's ansible-inventory.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import { api, WEB_ROOT } from '../helpers/server.js';
import { EventStream, readEvents, type SseEvent } from '../helpers/sse.js';
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
});
