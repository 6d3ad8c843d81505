import { request } from 'node:http';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { api, startTestServer } from '../helpers/server.js';
import { outputOf, readEvents } from '../helpers/sse.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer('echo hello\n');
});
afterAll(async () => {
  await server.close();
});

/** A raw HTTP request, so the Host header can be anything (fetch does not let us set it). */
function raw(path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('health and auth', () => {
  test('health needs no token', async () => {
    const res = await fetch(`${server.origin}/api/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', version: 'test' });
  });

  test.each(['/api/file', '/api/session', '/api/runs'])('%s needs the bearer token', async (path) => {
    expect((await fetch(server.origin + path)).status).toBe(401);
    expect((await api(server, path, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await api(server, path)).status).toBe(200);
  });

  test('the token in a query string or cookie is not accepted', async () => {
    expect((await fetch(`${server.origin}/api/session?token=${server.token}`)).status).toBe(401);
    expect((await fetch(`${server.origin}/api/session`, { headers: { cookie: `token=${server.token}` } })).status).toBe(401);
  });
});

describe('Host and Origin checks', () => {
  test('a foreign Host header (DNS rebinding) gets 403 on the page and the API', async () => {
    expect((await raw('/', { host: `evil.example:${server.port}` })).status).toBe(403);
    expect((await raw('/api/health', { host: 'evil.example' })).status).toBe(403);
    expect((await raw('/api/session', { host: `127.0.0.1:${server.port + 1}`, authorization: `Bearer ${server.token}` })).status).toBe(403);
  });

  test.each(['127.0.0.1', 'localhost', '[::1]'])('Host %s:PORT is accepted', async (host) => {
    expect((await raw('/api/health', { host: `${host}:${server.port}` })).status).toBe(200);
  });

  test('a cross-site Origin gets 403 even with the token; the same origin passes', async () => {
    const host = `127.0.0.1:${server.port}`;
    const headers = { host, authorization: `Bearer ${server.token}` };
    expect((await raw('/api/session', { ...headers, origin: 'http://evil.example' })).status).toBe(403);
    expect((await raw('/api/session', { ...headers, origin: `http://localhost:${server.port}` })).status).toBe(403);
    expect((await raw('/api/session', { ...headers, origin: `http://${host}` })).status).toBe(200);
  });

  test('no response carries CORS headers, preflights included', async () => {
    const res = await raw('/api/runs', { host: `127.0.0.1:${server.port}`, origin: 'http://evil.example', 'access-control-request-method': 'POST' }, 'OPTIONS');
    expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const ok = await api(server, '/api/session');
    expect([...ok.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([]);
    expect(ok.headers.get('cache-control')).toBe('no-store');
  });

  test('the page carries a CSP and anti-framing headers', async () => {
    const res = await fetch(`${server.origin}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  test('encoded traversal out of the page folder is 404', async () => {
    for (const path of ['/%2e%2e/package.json', '/..%2fpackage.json', '/%2e%2e%2f%2e%2e%2fetc/passwd']) {
      expect((await raw(path, { host: `127.0.0.1:${server.port}` })).status).toBe(404);
    }
  });
});

describe('bad requests are 4xx with a message and never hurt the server', () => {
  test('a drive-by text/plain POST cannot start a run', async () => {
    const before = (await (await api(server, '/api/runs')).json()) as unknown[];
    const res = await api(server, '/api/runs', { method: 'POST', body: '{"code":"touch pwned"}', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(415);
    const noToken = await fetch(`${server.origin}/api/runs`, { method: 'POST', body: '{"code":"touch pwned"}', headers: { 'content-type': 'text/plain' } });
    expect(noToken.status).toBe(401);
    expect(((await (await api(server, '/api/runs')).json()) as unknown[]).length).toBe(before.length);
  });

  test('invalid JSON and wrong fields are 400 naming the field', async () => {
    const malformed = await api(server, '/api/runs', { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    const wrongType = await api(server, '/api/runs', { method: 'POST', json: { code: 42 } });
    expect(wrongType.status).toBe(400);
    expect(((await wrongType.json()) as { error: string }).error).toMatch(/code/);
    const extra = await api(server, '/api/runs', { method: 'POST', json: { code: 'true', path: '/etc/passwd' } });
    expect(extra.status).toBe(400);
    const badId = await api(server, '/api/runs', { method: 'POST', json: { code: 'true', runId: '../x' } });
    expect(((await badId.json()) as { error: string }).error).toMatch(/runId/);
    const badLine = await api(server, '/api/runs', { method: 'POST', json: { code: 'true', lineStart: 0 } });
    expect(badLine.status).toBe(400);
  });

  test('an oversized body is 413', async () => {
    const res = await api(server, '/api/runs', { method: 'POST', json: { code: `echo ${'x'.repeat(1024 * 1024 + 10)}` } });
    expect(res.status).toBe(413);
  });

  test('unknown routes and runs are 404; the server still serves after all of the above', async () => {
    expect((await api(server, '/api/nope')).status).toBe(404);
    expect((await api(server, '/api/runs/unknown/events')).status).toBe(404);
    expect((await api(server, '/api/runs/unknown/interrupt', { method: 'POST', json: {} })).status).toBe(404);
    expect((await fetch(`${server.origin}/api/health`)).status).toBe(200);
  });
});

describe('file', () => {
  test('GET returns the opened file only; PUT saves atomically, keeps the mode, and refuses stale saves with 409', async () => {
    chmodSync(server.file, 0o750);
    const got = (await (await api(server, '/api/file')).json()) as { path: string; content: string; mtimeMs: number };
    expect(got.path).toBe(server.file);
    expect(got.content).toBe('echo hello\n');

    const saved = await api(server, '/api/file', { method: 'PUT', json: { content: 'echo saved\n', baseMtimeMs: got.mtimeMs } });
    expect(saved.status).toBe(200);
    const { mtimeMs } = (await saved.json()) as { mtimeMs: number };
    expect(readFileSync(server.file, 'utf8')).toBe('echo saved\n');
    expect(statSync(server.file).mode & 0o777).toBe(0o750);
    expect(readdirSync(server.dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    // Another editor changes the file: a save based on the old version is refused and changes nothing.
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(server.file, 'echo theirs\n');
    const stale = await api(server, '/api/file', { method: 'PUT', json: { content: 'echo mine\n', baseMtimeMs: mtimeMs } });
    expect(stale.status).toBe(409);
    const conflict = (await stale.json()) as { mtimeMs: number };
    expect(readFileSync(server.file, 'utf8')).toBe('echo theirs\n');
    // Overwriting on purpose: base the save on the current mtime.
    const forced = await api(server, '/api/file', { method: 'PUT', json: { content: 'echo mine\n', baseMtimeMs: conflict.mtimeMs } });
    expect(forced.status).toBe(200);
    expect(readFileSync(server.file, 'utf8')).toBe('echo mine\n');
  });

  test('a file that does not exist yet reads as empty and is created on first save', async () => {
    const fresh = await startTestServer();
    try {
      const { rmSync, existsSync } = await import('node:fs');
      rmSync(fresh.file);
      const got = (await (await api(fresh, '/api/file')).json()) as { content: string; mtimeMs: number | null };
      expect(got).toMatchObject({ content: '', mtimeMs: null });
      const res = await api(fresh, '/api/file', { method: 'PUT', json: { content: 'echo new\n', baseMtimeMs: null } });
      expect(res.status).toBe(200);
      expect(existsSync(fresh.file)).toBe(true);
      expect(readFileSync(fresh.file, 'utf8')).toBe('echo new\n');
    } finally {
      await fresh.close();
    }
  });
});

describe('runs', () => {
  test('runs posted at once execute one at a time in the order posted, in one session', async () => {
    const codes = ['sleep 0.3; n=1; echo first', 'n=$((n+1)); echo "second $n"', 'echo "third $((n+1))"'];
    const responses = [];
    for (const code of codes) {
      responses.push(api(server, '/api/runs', { method: 'POST', json: { code } }));
      await new Promise((r) => setTimeout(r, 30));
    }
    const all = await Promise.all((await Promise.all(responses)).map((r) => readEvents(r)));
    expect(all.map(outputOf)).toEqual(['first\n', 'second 2\n', 'third 3\n']);
    expect(all[1][0]).toMatchObject({ event: 'queued', data: { position: 1 } });
    expect(all[2][0]).toMatchObject({ event: 'queued', data: { position: 2 } });
    const starts = all.map((events) => events.find((e) => e.event === 'start')!.data.startedAt as number);
    const ends = all.map((events) => events.at(-1)!);
    expect(starts[1]).toBeGreaterThanOrEqual(starts[0] + (ends[0].data.durationMs as number));
  });

  test('posting an existing runId attaches to that run and never runs it twice', async () => {
    const body = { code: 'count=$((count+1)); echo "ran $count"', runId: 'attach-test-1' };
    const first = await readEvents(await api(server, '/api/runs', { method: 'POST', json: body }));
    const again = await readEvents(await api(server, '/api/runs', { method: 'POST', json: body }));
    expect(outputOf(first)).toBe('ran 1\n');
    expect(again).toEqual(first);
  });

  test('GET /api/runs lists runs; events can be replayed after Last-Event-ID', async () => {
    const events = await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: 'echo a; sleep 0.1; echo b', runId: 'replay-1' } }));
    const list = (await (await api(server, '/api/runs')).json()) as Array<{ runId: string; status: string; exitCode: number }>;
    expect(list.find((r) => r.runId === 'replay-1')).toMatchObject({ status: 'done', exitCode: 0 });
    const replay = await readEvents(await api(server, '/api/runs/replay-1/events', { headers: { 'last-event-id': '1' } }));
    expect(replay).toEqual(events.slice(1));
    const byQuery = await readEvents(await api(server, '/api/runs/replay-1/events?lastEventId=2'));
    expect(byQuery).toEqual(events.slice(2));
  });

  test('interrupt stops a running block; interrupting a queued run cancels it', async () => {
    const running = api(server, '/api/runs', { method: 'POST', json: { code: 'sleep 30', runId: 'int-run' } });
    await new Promise((r) => setTimeout(r, 100));
    const queued = api(server, '/api/runs', { method: 'POST', json: { code: 'echo should-not-run', runId: 'int-queued' } });
    await new Promise((r) => setTimeout(r, 100));
    expect((await api(server, '/api/runs/int-queued/interrupt', { method: 'POST', json: {} })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect((await api(server, '/api/runs/int-run/interrupt', { method: 'POST', json: {} })).status).toBe(200);
    const [runEvents, queuedEvents] = await Promise.all([readEvents(await running), readEvents(await queued)]);
    expect(runEvents.at(-1)!.data).toMatchObject({ exitCode: 130, interrupted: true });
    expect(queuedEvents.at(-1)!.data).toMatchObject({ interrupted: true, cancelled: true });
    expect(outputOf(queuedEvents)).toBe('');
  });

  test('input reaches a running block', async () => {
    const pending = api(server, '/api/runs', { method: 'POST', json: { code: 'read -r answer; echo "got $answer"', runId: 'input-1' } });
    await new Promise((r) => setTimeout(r, 200));
    const sent = await api(server, '/api/runs/input-1/input', { method: 'POST', json: { data: 'yes\r' } });
    expect(sent.status).toBe(200);
    expect(outputOf(await readEvents(await pending))).toBe('got yes\n');
    expect((await api(server, '/api/runs/input-1/input', { method: 'POST', json: { data: 'late' } })).status).toBe(409);
  });

  test('session info and restart', async () => {
    await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: 'marker=set' } }));
    const before = (await (await api(server, '/api/session')).json()) as { pid: number; status: string; shell: string };
    expect(before).toMatchObject({ shell: 'bash', status: 'idle' });
    const after = (await (await api(server, '/api/session/restart', { method: 'POST', json: {} })).json()) as { pid: number; status: string };
    expect(after.pid).not.toBe(before.pid);
    expect(after.status).toBe('idle');
    const events = await readEvents(await api(server, '/api/runs', { method: 'POST', json: { code: 'echo "${marker-unset}"' } }));
    expect(outputOf(events)).toBe('unset\n');
  });
});
