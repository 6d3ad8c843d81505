import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { api, startTestServer } from '../helpers/server.js';
import { outputOf, readEvents } from '../helpers/sse.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

describe('SSE framing of a run', () => {
  test('events are start, output..., end with ids 1, 2, 3, ... and JSON data', async () => {
    const res = await api(server, '/api/runs', { method: 'POST', json: { code: 'echo one; echo two' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readEvents(res);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => String(i + 1)));
    expect(events[0].event).toBe('start');
    expect(events.at(-1)!.event).toBe('end');
    expect(events.slice(1, -1).every((e) => e.event === 'output')).toBe(true);
    expect(outputOf(events)).toBe('one\ntwo\n');
    const runId = events[0].data.runId;
    expect(events.every((e) => e.data.runId === runId)).toBe(true);
    expect((events as unknown as { retry: number }).retry).toBe(1000);
  });

  test('text with \\r, \\n, blank lines, escapes, quotes and unicode survives framing byte for byte', async () => {
    const code = String.raw`printf 'a\r\nb\n\n\nc\rd\033[31m"q"\033[0m\\ ü 😀 \x7f\n'; printf 'data: x\n\nid: 9\nevent: end\n'`;
    const events = await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code } }));
    expect(outputOf(events)).toBe('a\r\nb\n\n\nc\rd\x1b[31m"q"\x1b[0m\\ ü 😀 \x7f\ndata: x\n\nid: 9\nevent: end\n');
    expect(events.filter((e) => e.event === 'end')).toHaveLength(1);
  });

  test('invalid UTF-8 output arrives as replacement characters, not a crash', async () => {
    const events = await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: String.raw`printf 'x\377\376y\n'` } }));
    expect(outputOf(events)).toBe('x\ufffd\ufffdy\n');
    expect(events.at(-1)!.data.exitCode).toBe(0);
  });

  test('the end event carries exit status, duration, cwd and flags', async () => {
    const events = await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: 'cd /; (exit 9)' } }));
    const end = events.at(-1)!;
    expect(end.event).toBe('end');
    expect(end.data).toMatchObject({ exitCode: 9, cwd: '/', interrupted: false, sessionRestarted: false });
    expect(typeof end.data.durationMs).toBe('number');
    await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: `cd ${server.dir}` } }));
  });
});
