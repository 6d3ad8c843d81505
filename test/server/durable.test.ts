// Runs outlive connections: resume, replay, many watchers, bounded history, shutdown.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readStat, sessionMembers } from '../../src/session/processes.js';
import { ShellSession } from '../../src/session/session.js';
import { serveCli, type Served } from '../helpers/cli.js';
import { api, startTestServer } from '../helpers/server.js';
import { EventStream, outputOf, readEvents, type SseEvent } from '../helpers/sse.js';
import { createParser } from 'eventsource-parser';
import { tempDir } from '../helpers/tmp.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

const postJson = async (body: Record<string, unknown>) => {
  const res = await api(server, '/api/runs', { method: 'POST', json: body, headers: { accept: 'application/json' } });
  expect(res.status).toBe(202);
  return (await res.json()) as { runId: string; status: string };
};
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}\n`).join('');
const waitDone = async (runId: string) => {
  for (;;) {
    const list = (await (await api(server, '/api/runs')).json()) as Array<{ runId: string; status: string }>;
    if (list.find((r) => r.runId === runId)?.status === 'done') return;
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** Reads a stream until `count` events arrived, then drops the connection. */
async function readSome(path: string, count: number, headers: Record<string, string> = {}): Promise<SseEvent[]> {
  const abort = new AbortController();
  const res = await api(server, path, { headers, signal: abort.signal });
  const events: SseEvent[] = [];
  const parser = createParser({ onEvent: (m) => events.push({ id: m.id, event: m.event, data: JSON.parse(m.data) }) });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  abort.abort();
  return events.slice(0, count);
}

describe('resume and replay', () => {
  test('POST with Accept: application/json queues the run and answers 202 with its id', async () => {
    const { runId, status } = await postJson({ code: 'echo queued-run' });
    expect(['queued', 'running']).toContain(status);
    expect(outputOf(await readEvents(await api(server, `/api/runs/${runId}/events`)))).toBe('queued-run\n');
  });

  test('a client that disconnects mid-run resumes with Last-Event-ID: every line exactly once, in order', async () => {
    const { runId } = await postJson({ code: 'for i in $(seq 1 60); do echo "line $i"; sleep 0.01; done' });
    const seen: SseEvent[] = [];
    let lastId = '0';
    // Three short-lived connections, then one to the end.
    for (let k = 0; k < 3; k++) {
      const part = await readSome(`/api/runs/${runId}/events`, 3, { 'last-event-id': lastId });
      seen.push(...part);
      lastId = part.at(-1)!.id!;
    }
    seen.push(...(await readEvents(await api(server, `/api/runs/${runId}/events`, { headers: { 'last-event-id': lastId } }))));
    expect(seen.map((e) => Number(e.id))).toEqual(seen.map((_, i) => i + 1));
    expect(outputOf(seen)).toBe(lines(1, 60));
    expect(seen.at(-1)!.event).toBe('end');
  });

  test('closing the stream never stops or pauses the run', async () => {
    const { runId } = await postJson({ code: 'sleep 0.3; echo finished-alone' });
    await readSome(`/api/runs/${runId}/events`, 1);
    await waitDone(runId);
    const replay = await readEvents(await api(server, `/api/runs/${runId}/events`));
    expect(outputOf(replay)).toBe('finished-alone\n');
    expect(replay.at(-1)!.data).toMatchObject({ exitCode: 0 });
  });

  test('a run that finished while no client was connected is replayed whole', async () => {
    const { runId } = await postJson({ code: 'seq 1 5000 | sed "s/^/line /"' });
    await waitDone(runId);
    const events = await readEvents(await api(server, `/api/runs/${runId}/events`));
    expect(outputOf(events)).toBe(lines(1, 5000));
  });

  test('20 clients watching one run all get identical streams', async () => {
    const { runId } = await postJson({ code: 'for i in $(seq 1 40); do echo "line $i"; sleep 0.005; done' });
    const all = await Promise.all(Array.from({ length: 20 }, async () => readEvents(await api(server, `/api/runs/${runId}/events`))));
    for (const events of all) expect(events).toEqual(all[0]);
    expect(outputOf(all[0])).toBe(lines(1, 40));
  });

  test('a failing run of a batch cancels the batch\'s runs queued after it, even ones posted after it failed; other runs go on', async () => {
    const first = await postJson({ code: 'echo one', batch: 'b1' });
    const failing = await postJson({ code: 'sleep 0.2; false', batch: 'b1' });
    const queued = await postJson({ code: 'echo never-queued', batch: 'b1' });
    const other = await postJson({ code: 'echo other-batch', batch: 'b2' });
    await waitDone(failing.runId);
    const late = await postJson({ code: 'echo never-late', batch: 'b1' });
    const ends: Record<string, unknown>[] = [];
    for (const { runId } of [first, failing, queued, other, late]) {
      const events = await readEvents(await api(server, `/api/runs/${runId}/events`));
      ends.push({ ...(events.find((e) => e.event === 'end')!.data as Record<string, unknown>), output: outputOf(events) });
    }
    expect(ends.map((e) => [e.exitCode, e.cancelled ?? false, e.output])).toEqual([
      [0, false, 'one\n'],
      [1, false, ''],
      [130, true, ''],
      [0, false, 'other-batch\n'],
      [130, true, ''],
    ]);
  });

  test('a client that stops reading for a while pauses the shell instead of losing output', async () => {
    // 30 MB, far past the 4 MiB tail a run keeps: only pausing the shell keeps every byte.
    const res = await api(server, '/api/runs', { method: 'POST', json: { code: 'yes 0123456789abcdef | head -c 30000000; echo; echo finished' } });
    const reader = res.body!.getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 2500)); // the client stalls; the socket's buffers fill
    const events: SseEvent[] = [];
    const parser = createParser({ onEvent: (m) => events.push({ id: m.id, event: m.event, data: JSON.parse(m.data) }) });
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    const text = events.filter((e) => e.event === 'output').map((e) => (e.data as { text: string }).text).join('');
    expect(text).not.toContain('bytes of output omitted');
    expect(text.endsWith('\nfinished\n')).toBe(true);
    // Everything but the first read's bytes arrived: at most one chunk (64 KiB) short.
    expect(text.length).toBeGreaterThan(30_000_000 - 70_000);
    expect(events.at(-1)?.event).toBe('end');
  }, 60_000);

  test('a client that resumes after more than 1 MiB of output is not taken for one that lags: the shell is not paused for it', async () => {
    // 3 MB, then the block waits for a line; the client leaves there and comes back after the answer.
    const { runId } = await postJson({ code: 'yes 0123456789abcdef | head -c 3000000; echo; read -r line; echo "got $line"; yes abc | head -c 2000000; echo; echo finished' });
    const leave = new AbortController();
    const first = new EventStream(await api(server, `/api/runs/${runId}/events`, { signal: leave.signal }));
    await first.until((e) => e.event === 'waiting');
    leave.abort();
    const lastId = first.events.at(-1)!.id!;
    await api(server, `/api/runs/${runId}/input`, { method: 'POST', json: { data: 'more\r' } });
    const rest = await readEvents(await api(server, `/api/runs/${runId}/events`, { headers: { 'last-event-id': lastId } }));
    expect(outputOf(rest)).toContain('got more\n');
    expect(outputOf(rest).endsWith('\nfinished\n')).toBe(true);
    expect(rest.at(-1)!.event).toBe('end');
  }, 60_000);

  test('GET /api/runs gives the page what it needs to restore: code, lines, status', async () => {
    const running = await postJson({ code: 'sleep 0.5', lineStart: 3, lineEnd: 3 });
    const queued = await postJson({ code: 'echo after', lineStart: 5, lineEnd: 6 });
    const list = (await (await api(server, '/api/runs')).json()) as Array<Record<string, unknown>>;
    expect(list.find((r) => r.runId === running.runId)).toMatchObject({ status: 'running', code: 'sleep 0.5', lineStart: 3, lineEnd: 3 });
    expect(list.find((r) => r.runId === queued.runId)).toMatchObject({ status: 'queued', code: 'echo after', lineStart: 5, lineEnd: 6 });
    await waitDone(queued.runId);
    const done = (await (await api(server, '/api/runs')).json()) as Array<Record<string, unknown>>;
    expect(done.find((r) => r.runId === queued.runId)).toMatchObject({ status: 'done', exitCode: 0 });
  });
});

describe('bounded history (a CLI with small limits)', () => {
  let served: Served;
  const dir = tempDir('cmdrun-bounded-');
  beforeAll(async () => {
    writeFileSync(join(dir, 's.sh'), '');
    served = await serveCli([join(dir, 's.sh'), '--max-runs', '3', '--max-run-output', '100K']);
  });
  afterAll(async () => {
    served.child.kill('SIGTERM');
    await served.exited;
  });
  const post = (code: string) =>
    fetch(`${served.origin}/api/runs`, { method: 'POST', headers: { authorization: `Bearer ${served.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ code }) });

  test('a run keeps its first and last output with a mark of the omitted bytes between', async () => {
    const live = await readEvents(await post('seq 1 200000 | sed "s/^/line /"'));
    const runId = live[0].data.runId as string;
    const replay = await readEvents(await fetch(`${served.origin}/api/runs/${runId}/events`, { headers: { authorization: `Bearer ${served.token}` } }));
    const text = outputOf(replay);
    expect(text.startsWith('line 1\nline 2\n')).toBe(true);
    expect(text.endsWith('line 199999\nline 200000\n')).toBe(true);
    const omitted = /\[… (\d+) bytes of output omitted …\]/.exec(text);
    expect(omitted).not.toBeNull();
    expect(text.length).toBeLessThan(100 * 1024 + 64 * 1024 + 200); // limit + at most one coalesced event + the mark
    // The omitted count and the kept text add up to everything the block printed.
    const total = lines(1, 200000).length;
    expect(Number(omitted![1]) + Buffer.byteLength(text.replace(omitted![0], '').replace(/\r\n\x1b\[2m|\x1b\[0m\r\n/g, ''))).toBe(total);
    // A client that read everything live got every byte.
    expect(outputOf(live)).toBe(lines(1, 200000));
  });

  test('only the last --max-runs finished runs are kept', async () => {
    for (let i = 0; i < 5; i++) await readEvents(await post(`echo ${i}`));
    const list = (await (await fetch(`${served.origin}/api/runs`, { headers: { authorization: `Bearer ${served.token}` } })).json()) as unknown[];
    expect(list.length).toBeLessThanOrEqual(3);
  });
});

describe('output kept by all runs together (--max-kept-output)', () => {
  let served: Served;
  const dir = tempDir('cmdrun-kept-');
  beforeAll(async () => {
    writeFileSync(join(dir, 's.sh'), '');
    served = await serveCli([join(dir, 's.sh'), '--max-kept-output', '1M', '--max-run-output', '2M', '--history', join(dir, 'history.db')]);
  });
  afterAll(async () => {
    served.child.kill('SIGTERM');
    await served.exited;
  });
  const auth = () => ({ authorization: `Bearer ${served.token}` });
  const run = async (code: string) => {
    const events = await readEvents(await fetch(`${served.origin}/api/runs`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ code }) }));
    expect(events.at(-1)!.event).toBe('end');
    return events[0].data.runId as string;
  };
  const kept = async (runId: string) => (await fetch(`${served.origin}/api/runs/${runId}/events`, { headers: auth() })).status;

  test('past the bound the oldest finished runs are forgotten, never the newest one, and the history keeps them', async () => {
    // 600,000 characters each: one run fits the 1 MiB bound, two do not.
    const big = 'yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijkl | head -c 600000';
    const first = await run(big);
    expect(await kept(first)).toBe(200);
    const second = await run(big);
    // 1.2 M characters kept: the first run goes, the newest finished one stays.
    expect(await kept(first)).toBe(404);
    expect(await kept(second)).toBe(200);
    // Small runs fit beside it; the big one stays while it is under the bound with them.
    const small = await run('echo small');
    expect(await kept(second)).toBe(200);
    expect(await kept(small)).toBe(200);
    const third = await run(big);
    expect(await kept(second)).toBe(404);
    expect(await kept(small)).toBe(200);
    expect(await kept(third)).toBe(200);
    // A forgotten run's output is still in the history, whole.
    const recorded = (await (await fetch(`${served.origin}/api/history/${first}`, { headers: auth() })).json()) as { output: string };
    expect(recorded.output.length).toBe(600_000);
  });

  test('a single run bigger than the bound is kept until a newer run ends', async () => {
    const huge = await run('yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijkl | head -c 1500000');
    expect(await kept(huge)).toBe(200);
    const after = await run('echo after');
    expect(await kept(huge)).toBe(404);
    expect(await kept(after)).toBe(200);
  });
});

describe('memory and shutdown (the built CLI)', () => {
  test('server memory stays flat while a run prints 200 MB to a reading client', async () => {
    const dir = tempDir('cmdrun-mem-');
    writeFileSync(join(dir, 's.sh'), '');
    const served = await serveCli([join(dir, 's.sh')]);
    try {
      const peak = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${served.child.pid}/status`, 'utf8'))![1]) / 1024;
      const res = await fetch(`${served.origin}/api/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${served.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ code: 'yes | head -c 200000000' }),
      });
      let bytes = 0;
      const parser = createParser({ onEvent: (m) => m.event === 'output' && (bytes += (JSON.parse(m.data) as { text: string }).text.length) });
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
      expect(bytes).toBe(200_000_000);
      // Holding the output (or queueing it per client) would take 200-400 MB; the run keeps 5 MiB.
      expect(peak()).toBeLessThan(250);
    } finally {
      served.child.kill('SIGTERM');
      await served.exited;
    }
  }, 180_000); // 200 MB through the server: minutes on a loaded machine

  test('SIGTERM with a block running and clients connected: a shutdown event, exit 0, nothing left running', async () => {
    const dir = tempDir('cmdrun-stop-');
    writeFileSync(join(dir, 's.sh'), '');
    const served = await serveCli([join(dir, 's.sh')]);
    const auth = { authorization: `Bearer ${served.token}` };
    const session = (await (await fetch(`${served.origin}/api/session`, { headers: auth })).json()) as { pid: number };
    const sid = readStat(session.pid)!.session;
    const stream = new EventStream(
      await fetch(`${served.origin}/api/runs`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ code: "trap '' TERM HUP; sleep 100 & echo started; sleep 100" }),
      }),
    );
    await stream.untilOutput('started');
    expect(sessionMembers(sid).length).toBeGreaterThanOrEqual(2);
    served.child.kill('SIGTERM');
    const events = await stream.done;
    expect(events.at(-1)!.event).toBe('shutdown');
    expect(await served.exited).toBe(0);
    expect(sessionMembers(sid)).toEqual([]);
  });

  test('a cmdrun killed with SIGKILL leaves its session folder; the next session to start removes it', async () => {
    const dir = tempDir('cmdrun-killed-');
    writeFileSync(join(dir, 's.sh'), '');
    const served = await serveCli([join(dir, 's.sh')]);
    const auth = { authorization: `Bearer ${served.token}` };
    const { pid } = (await (await fetch(`${served.origin}/api/session`, { headers: auth })).json()) as { pid: number };
    // The shell's startup file (BASH_ENV) lies in its session folder.
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const rc = env.find((v) => v.startsWith('BASH_ENV='))!.slice('BASH_ENV='.length);
    const sessionDir = rc.slice(0, rc.indexOf('/', tmpdir().length + 1));
    expect(sessionDir).toMatch(/\/cmdrun-[A-Za-z0-9]{6}$/);
    served.child.kill('SIGKILL');
    await served.exited;
    expect(existsSync(sessionDir)).toBe(true);
    const next = await ShellSession.start({ cwd: dir });
    try {
      expect(existsSync(sessionDir)).toBe(false);
    } finally {
      await next.close();
    }
  });
});
