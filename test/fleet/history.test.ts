// Fleet runs in the history through the HTTP API (issue 19, items 5 and 6), against 4 real sshd
// "hosts" on 127.0.0.1 (test/helpers/fleet.ts), web04 refusing the key: one row per host (the
// unreachable host's too, and a host interrupted before it started), GET /api/history/:runId
// answering the fleet once with every host in fleet order, a single target's answer as before,
// the `on` filter, a transcript of an earlier session, and rerun-failed with the client's runId.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { HistoryHost } from '../../src/history/fleet-history.js';
import { HistoryStore } from '../../src/history/store.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import { api, WEB_ROOT } from '../helpers/server.js';
import { EventStream, readEvents, type SseEvent } from '../helpers/sse.js';
import { tempDir } from '../helpers/tmp.js';

let fleet: Fleet;
let server: RunningServer;
let dir: string;
let db: string;
let script: string;
/** The fleet in an order that is not the hosts' names' (fleet order is the list's). */
let on: string;
/** web03 fails with 3, web04 refuses the key. */
let code: string;

const start = (history: HistoryStore) =>
  startServer({ file: script, port: 0, cwd: dir, webRoot: WEB_ROOT, version: 'test', sshCommand: fleet.sshCommand, history });

beforeAll(async () => {
  fleet = await startFleet({ hosts: 4, refuseKey: ['web04'] });
  dir = tempDir('cmdrun-fleet-history-');
  db = join(dir, 'history.db');
  on = ['ssh://web02', 'ssh://web01', 'ssh://web03', 'ssh://web04'].join(',');
  code = `p=$(echo "$SSH_CONNECTION" | cut -d" " -f4); echo "on $p"; [ "$p" = ${fleet.ports.web03} ] && exit 3; true`;
  script = join(dir, 'fleet.sh');
  writeFileSync(script, `# %% check\n${code}\n\n# %% here\necho local-run\n`);
  server = await start(HistoryStore.open(db));
}, 60_000);
afterAll(async () => {
  await server?.close();
  await fleet?.stop();
});

type Row = Record<string, unknown> & { runId: string; target?: string; fleet?: string; exitCode?: number; unreachable?: boolean };
type FleetAnswer = Row & { hosts: HistoryHost[]; output: string; thisSession: boolean };

const json = async <T>(s: RunningServer, path: string) => (await (await api(s, path)).json()) as T;
const post = async (body: Record<string, unknown>) => readEvents(await api(server, '/api/runs', { method: 'POST', json: body }));
const runIdOf = (events: SseEvent[]) => events[0].data.runId as string;

describe('a fleet run in the history', () => {
  let runId: string;
  let localId: string;
  beforeAll(async () => {
    runId = runIdOf(await post({ code, on, lineStart: 2, lineEnd: 2, title: 'check' }));
    localId = runIdOf(await post({ code: 'echo local-run', lineStart: 5, lineEnd: 5, title: 'here' }));
  }, 120_000);

  test('is one row per host, the unreachable host\'s with ssh\'s message and status 255', async () => {
    const rows = (await json<Row[]>(server, '/api/history')).filter((r) => r.runId === runId);
    expect(rows.map((r) => r.target).sort()).toEqual(['ssh://web01', 'ssh://web02', 'ssh://web03', 'ssh://web04']);
    expect(rows.every((r) => r.fleet === on)).toBe(true);
    expect(rows.find((r) => r.target === 'ssh://web04')).toMatchObject({ exitCode: 255, unreachable: true, finished: true });
    expect(rows.find((r) => r.target === 'ssh://web03')).toMatchObject({ exitCode: 3, unreachable: false });
  });

  test('GET /api/history/:runId answers the fleet once: its exit status, every host in fleet order with its output', async () => {
    const run = await json<FleetAnswer>(server, `/api/history/${runId}`);
    expect(run).toMatchObject({ runId, fleet: on, code, title: 'check', lineStart: 2, finished: true, exitCode: 3, interrupted: false, thisSession: true });
    expect(run.target).toBeUndefined();
    expect(run.hosts.map((h) => h.target)).toEqual(on.split(','));
    const [web02, web01, web03, web04] = run.hosts;
    expect(web02).toMatchObject({ finished: true, exitCode: 0, interrupted: false, unreachable: false, output: `on ${fleet.ports.web02}\n`, lastLine: `on ${fleet.ports.web02}` });
    expect(web01.output).toBe(`on ${fleet.ports.web01}\n`);
    expect(web03).toMatchObject({ exitCode: 3, unreachable: false, lastLine: `on ${fleet.ports.web03}` });
    expect(web04).toMatchObject({ exitCode: 255, unreachable: true, lastLine: expect.stringMatching(/^cmdrun: could not start \S+ on ssh:\/\/web04: ssh exited with status 255$/) });
    expect(web04.output).toMatch(/Permission denied \(publickey/);
    for (const h of run.hosts) expect(h.durationMs).toBeGreaterThanOrEqual(0);
    expect(run.durationMs).toBeGreaterThanOrEqual(Math.max(...run.hosts.map((h) => h.durationMs!)));
    // Its output: each distinct output once under its hosts, failing groups first.
    expect(run.output).toMatch(/^\x1b\[1mweb03 \(1 host\): failed 3\x1b\[0m\non \d+\n\x1b\[1mweb04 \(1 host\): unreachable\x1b\[0m\n[^]*Permission denied[^]*\x1b\[1mweb02 \(1 host\): ok\x1b\[0m\non \d+\n\x1b\[1mweb01 \(1 host\): ok\x1b\[0m\non \d+\n$/);
  });

  test('a single target\'s answer has the fields it had before fleets, in the same order', async () => {
    const run = await json<Row>(server, `/api/history/${localId}`);
    expect(Object.keys(run)).toEqual(['id', 'runId', 'script', 'code', 'user', 'host', 'shell', 'session', 'startedAt', 'finished', 'outputBytes', 'omittedBytes', 'title', 'lineStart', 'lineEnd', 'exitCode', 'durationMs', 'interrupted', 'sessionRestarted', 'cwd', 'target', 'output', 'thisSession']);
    expect(run).toMatchObject({ target: 'local', output: 'local-run\n', exitCode: 0 });
  });

  test('GET /api/history?on= filters by target or by fleet as written', async () => {
    const q = (value: string) => json<Row[]>(server, `/api/history?on=${encodeURIComponent(value)}`);
    expect((await q('ssh://web04')).map((r) => [r.runId, r.target])).toEqual([[runId, 'ssh://web04']]);
    expect((await q(on)).map((r) => r.target).sort()).toEqual(['ssh://web01', 'ssh://web02', 'ssh://web03', 'ssh://web04']);
    expect((await q('local')).map((r) => r.runId)).toEqual([localId]);
    expect(await q('ssh://nowhere')).toEqual([]);
    const empty = await api(server, '/api/history?on=');
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: string }).error).toMatch(/^invalid query: on: /);
  });

  test('a host interrupted before it had a fork slot is a row too, interrupted with 130', async () => {
    const stream = new EventStream(await api(server, '/api/runs', { method: 'POST', json: { code: 'echo started; sleep 60', on: 'ssh://web01,ssh://web02', forks: 1 } }));
    await stream.until((e) => e.event === 'output' && e.data.target === 'ssh://web01');
    const id = stream.events[0].data.runId as string;
    await api(server, `/api/runs/${id}/interrupt`, { method: 'POST', json: {} });
    await stream.done;
    const run = await json<FleetAnswer>(server, `/api/history/${id}`);
    expect(run).toMatchObject({ exitCode: 130, interrupted: true, finished: true });
    expect(run.hosts.map((h) => [h.target, h.exitCode, h.interrupted])).toEqual([
      ['ssh://web01', 130, true],
      ['ssh://web02', 130, true],
    ]);
    expect(run.hosts[0].output).toContain('started');
  }, 60_000);

  test('a new server on the same history shows the fleet run as an earlier session\'s, and its transcript lists every host', async () => {
    await server.close();
    server = await start(HistoryStore.open(db));
    const run = await json<FleetAnswer>(server, `/api/history/${runId}`);
    expect(run).toMatchObject({ runId, exitCode: 3, thisSession: false });
    expect(run.hosts.map((h) => h.unreachable)).toEqual([false, false, false, true]);
    const md = await (await api(server, '/api/transcript?format=md')).text();
    expect(md).toContain(`*exit 3 · `);
    expect(md).toContain(` · on ${on}: 4 hosts`);
    expect(md).toMatch(/\| web02 \| ok \| [\d.]+ m?s \|  \|\n\| web01 \| ok \| [\d.]+ m?s \|  \|\n\| web03 \| failed 3 \| [\d.]+ m?s \| on \d+ \|\n\| web04 \| unreachable \| [\d.]+ m?s \| cmdrun: could not start \S+ on ssh:\/\/web04: ssh exited with status 255 \|\n/);
    expect(md).toMatch(/```text\nweb03 \(1 host\): failed 3\non \d+\nweb04 \(1 host\): unreachable\n[^`]*Permission denied[^`]*web02 \(1 host\): ok\n/);
  }, 60_000);
});

describe('POST /api/runs/:runId/rerun-failed', () => {
  test('takes the client\'s runId: the re-run is that run, and posting it again never runs it twice', async () => {
    const first = runIdOf(await post({ code, on }));
    const ask = (runId: unknown) => api(server, `/api/runs/${first}/rerun-failed`, { method: 'POST', json: { runId }, headers: { accept: 'application/json' } });
    const answer = await ask('rerun-web');
    expect(answer.status).toBe(202);
    expect((await answer.json()) as Record<string, unknown>).toMatchObject({ runId: 'rerun-web' });
    const again = await ask('rerun-web');
    expect(again.status).toBe(202);
    expect((await again.json()) as Record<string, unknown>).toMatchObject({ runId: 'rerun-web' });
    const events = await readEvents(await api(server, '/api/runs/rerun-web/events'));
    expect(events.find((e) => e.event === 'fleet')?.data.targets).toEqual(['ssh://web03', 'ssh://web04']);
    expect(events.filter((e) => e.event === 'start' && e.data.target !== undefined).map((e) => e.data.target).sort()).toEqual(['ssh://web03', 'ssh://web04']);
    const runs = await json<Array<{ runId: string }>>(server, '/api/runs');
    expect(runs.filter((r) => r.runId === 'rerun-web')).toHaveLength(1);
    const bad = await ask('not an id!');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/runId: must be 1-64 letters/);
  }, 120_000);
});
