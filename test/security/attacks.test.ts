// Each attack of shared/notes/security.md against a real listening server.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { api, raw, startTestServer } from '../helpers/server.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
let host: string;
let pwned: string;
beforeAll(async () => {
  server = await startTestServer('echo hello\n');
  host = `127.0.0.1:${server.port}`;
  pwned = join(server.dir, 'pwned');
});
afterAll(async () => {
  await server.close();
});

const runCount = async () => ((await (await api(server, '/api/runs')).json()) as unknown[]).length;
const attack = JSON.stringify({ code: `touch ${'PWNED'}` });

describe('token', () => {
  test('health needs no token', async () => {
    const res = await fetch(`${server.origin}/api/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', version: 'test' });
  });

  test.each(['/api/file', '/api/session', '/api/runs', '/api/runs/x/events'])('GET %s needs the bearer token', async (path) => {
    expect((await fetch(server.origin + path)).status).toBe(401);
    expect((await api(server, path, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await api(server, path, { headers: { authorization: `Basic ${server.token}` } })).status).toBe(401);
    expect((await api(server, path, { headers: { authorization: `Bearer ${server.token}x` } })).status).toBe(401);
  });

  test.each(['/api/runs', '/api/session/restart', '/api/runs/x/interrupt', '/api/runs/x/input'])('POST %s needs the bearer token', async (path) => {
    const res = await fetch(server.origin + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: attack });
    expect(res.status).toBe(401);
  });

  test('the token in a query string or a cookie is not accepted', async () => {
    expect((await fetch(`${server.origin}/api/session?token=${server.token}`)).status).toBe(401);
    expect((await fetch(`${server.origin}/api/session`, { headers: { cookie: `token=${server.token}` } })).status).toBe(401);
  });

  test('no response sets a cookie', async () => {
    for (const path of ['/', '/api/health', '/api/session']) {
      expect((await api(server, path)).headers.get('set-cookie')).toBeNull();
    }
  });
});

describe('DNS rebinding and cross-origin requests', () => {
  test('a foreign Host header gets 403 on the page, static files and the API, even with the token', async () => {
    const auth = { authorization: `Bearer ${server.token}` };
    expect((await raw(server.port, '/', { host: `evil.example:${server.port}` })).status).toBe(403);
    expect((await raw(server.port, '/app.js', { host: `evil.example:${server.port}` })).status).toBe(403);
    expect((await raw(server.port, '/api/health', { host: 'evil.example' })).status).toBe(403);
    expect((await raw(server.port, '/api/session', { host: `127.0.0.1:${server.port + 1}`, ...auth })).status).toBe(403);
    expect((await raw(server.port, '/api/session', { host: `127.0.0.1.evil.example:${server.port}`, ...auth })).status).toBe(403);
    const run = await raw(server.port, '/api/runs', { host: `evil.example:${server.port}`, ...auth, 'content-type': 'application/json' }, 'POST', attack);
    expect(run.status).toBe(403);
    expect(existsSync(pwned)).toBe(false);
  });

  test.each(['127.0.0.1', 'localhost', '[::1]', 'LOCALHOST'])('Host %s:PORT is accepted', async (name) => {
    expect((await raw(server.port, '/api/health', { host: `${name}:${server.port}` })).status).toBe(200);
  });

  test('a foreign Origin gets 403 even with the token; the same origin passes', async () => {
    const headers = { host, authorization: `Bearer ${server.token}` };
    expect((await raw(server.port, '/api/session', { ...headers, origin: 'http://evil.example' })).status).toBe(403);
    expect((await raw(server.port, '/api/session', { ...headers, origin: 'null' })).status).toBe(403);
    expect((await raw(server.port, '/api/session', { ...headers, origin: `http://localhost:${server.port}` })).status).toBe(403);
    expect((await raw(server.port, '/api/session', { ...headers, origin: `https://${host}` })).status).toBe(403);
    expect((await raw(server.port, '/api/session', { ...headers, origin: `http://${host}` })).status).toBe(200);
  });

  test('a preflight gets no CORS headers, and neither does any other response', async () => {
    const preflight = await raw(
      server.port,
      '/api/runs',
      { host, origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      'OPTIONS',
    );
    expect(preflight.status).toBeGreaterThanOrEqual(400);
    const sameOriginPreflight = await raw(server.port, '/api/runs', { host, 'access-control-request-method': 'POST' }, 'OPTIONS');
    for (const res of [preflight, sameOriginPreflight, await raw(server.port, '/api/health', { host }), await raw(server.port, '/', { host })]) {
      expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
  });

  test('a drive-by text/plain POST (no-cors fetch) never starts a run', async () => {
    const before = await runCount();
    const noToken = await raw(server.port, '/api/runs', { host, origin: 'http://evil.example', 'content-type': 'text/plain' }, 'POST', attack);
    expect(noToken.status).toBe(403);
    const sameOriginNoToken = await raw(server.port, '/api/runs', { host, 'content-type': 'text/plain' }, 'POST', attack);
    expect(sameOriginNoToken.status).toBe(401);
    // Even with the token, a text/plain body is refused.
    const withToken = await api(server, '/api/runs', { method: 'POST', body: attack, headers: { 'content-type': 'text/plain' } });
    expect(withToken.status).toBe(415);
    expect(await runCount()).toBe(before);
    expect(existsSync(pwned)).toBe(false);
  });

  test('a form-encoded POST (an HTML form) never starts a run', async () => {
    const before = await runCount();
    const form = await raw(server.port, '/api/runs', { host, 'content-type': 'application/x-www-form-urlencoded' }, 'POST', 'code=touch+PWNED');
    expect(form.status).toBe(401);
    const withToken = await api(server, '/api/runs', { method: 'POST', body: 'code=touch+PWNED', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(withToken.status).toBe(415);
    const multipart = new FormData();
    multipart.set('code', 'touch PWNED');
    expect((await api(server, '/api/runs', { method: 'POST', body: multipart })).status).toBe(415);
    expect(await runCount()).toBe(before);
    expect(existsSync(pwned)).toBe(false);
  });
});

describe('input limits', () => {
  test('malformed JSON and wrong field types are 400 naming the field', async () => {
    const malformed = await api(server, '/api/runs', { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    const cases: Array<[unknown, RegExp]> = [
      [{ code: 42 }, /code/],
      [{}, /code/],
      [[], /body|expected object/],
      [{ code: 'true', runId: '../x' }, /runId/],
      [{ code: 'true', lineStart: 0 }, /lineStart/],
      [{ code: 'true', lineEnd: 1.5 }, /lineEnd/],
    ];
    for (const [body, field] of cases) {
      const res = await api(server, '/api/runs', { method: 'POST', json: body });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(field);
    }
    const badSave = await api(server, '/api/file', { method: 'PUT', json: { content: 1, baseMtimeMs: 'x' } });
    expect(((await badSave.json()) as { error: string }).error).toMatch(/content.*baseMtimeMs/);
    const badInput = await api(server, '/api/runs/x/input', { method: 'POST', json: { data: ['a'] } });
    expect(badInput.status).toBe(400);
  });

  test('an oversized run body is 413; a file save may be larger but not past 10 MB', async () => {
    const big = await api(server, '/api/runs', { method: 'POST', json: { code: `echo ${'x'.repeat(1024 * 1024 + 10)}` } });
    expect(big.status).toBe(413);
    const current = (await (await api(server, '/api/file')).json()) as { mtimeMs: number };
    const hugeSave = await api(server, '/api/file', { method: 'PUT', json: { content: 'x'.repeat(10 * 1024 * 1024 + 10), baseMtimeMs: current.mtimeMs } });
    expect(hugeSave.status).toBe(413);
  });

  test('the server keeps serving after every bad request above', async () => {
    expect((await fetch(`${server.origin}/api/health`)).status).toBe(200);
    expect((await api(server, '/api/session')).status).toBe(200);
  });
});

describe('files', () => {
  test('a path smuggled into /api/file is ignored or refused: only the opened file is read or written', async () => {
    for (const query of ['?path=/etc/passwd', '?file=/etc/passwd', '/../../etc/passwd']) {
      const res = await api(server, `/api/file${query}`);
      if (res.status === 200) expect(((await res.json()) as { path: string }).path).toBe(server.file);
      else expect(res.status).toBe(404);
    }
    const current = (await (await api(server, '/api/file')).json()) as { mtimeMs: number };
    const smuggled = await api(server, '/api/file', { method: 'PUT', json: { content: 'x', baseMtimeMs: current.mtimeMs, path: join(server.dir, 'other.sh') } });
    expect(smuggled.status).toBe(400);
    expect(existsSync(join(server.dir, 'other.sh'))).toBe(false);
    const viaQuery = await api(server, `/api/file?path=${join(server.dir, 'other.sh')}`, { method: 'PUT', json: { content: 'echo hi\n', baseMtimeMs: current.mtimeMs } });
    expect(viaQuery.status).toBe(200);
    expect(existsSync(join(server.dir, 'other.sh'))).toBe(false);
  });

  test('encoded traversal out of the page folder is 404', async () => {
    for (const path of ['/%2e%2e/package.json', '/..%2fpackage.json', '/%2e%2e%2f%2e%2e%2fetc/passwd', '/..%5c..%5cpackage.json', '/.%2e/.%2e/etc/passwd']) {
      expect((await raw(server.port, path, { host })).status).toBe(404);
    }
  });
});

describe('headers', () => {
  test('the page carries the CSP and the anti-sniffing, referrer and framing headers', async () => {
    const res = await fetch(`${server.origin}/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    for (const directive of ["default-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  test('API responses are not cached', async () => {
    for (const path of ['/api/health', '/api/file', '/api/session', '/api/runs']) {
      expect((await api(server, path)).headers.get('cache-control')).toBe('no-store');
    }
  });
});
